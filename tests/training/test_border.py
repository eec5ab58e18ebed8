"""carafe.training.border and the geometry under it: padding taps, the renormalised what-if,
ring statistics and band scores, each against an independent count."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from carafe.nn import CARAFEPack
from carafe.ops.geometry import kernel_lean, taps_inside_map
from carafe.training.border import (
    band_scores,
    border_band,
    renormalised_inside,
    ring_statistics,
)


@pytest.mark.parametrize("k, s, h, w", [(1, 2, 3, 4), (3, 2, 4, 5), (5, 3, 3, 6), (7, 2, 5, 5)])
def test_taps_inside_map_matches_a_loop(k, s, h, w):
    r = (k - 1) // 2
    expected = np.zeros((k * k, h * s, w * s), bool)
    for y in range(h * s):
        for x in range(w * s):
            for dy in range(k):
                for dx in range(k):
                    iy, ix = y // s + dy - r, x // s + dx - r
                    expected[dy * k + dx, y, x] = 0 <= iy < h and 0 <= ix < w
    assert np.array_equal(taps_inside_map(k, s, h, w), expected)


def test_kernel_lean_is_the_centre_of_mass():
    kernel = np.zeros((5, 5))
    kernel[0, 4] = 0.75  # two rows up, two columns right
    kernel[2, 2] = 0.25
    assert kernel_lean(kernel).tolist() == [-1.5, 1.5]


def test_renormalised_kernels_keep_their_inside_shape():
    torch.manual_seed(0)
    module = CARAFEPack(8, 2, up_kernel=5, up_group=2, compressed_channels=4).eval()
    torch.nn.init.normal_(module.content_encoder.weight, std=0.5)
    x = torch.randn(1, 8, 6, 8)
    plain = module.forward_with_intermediates(x).kernels.view(1, 2, 25, 12, 16)
    module.renormalise_inside = True
    fixed = module.forward_with_intermediates(x).kernels.view(1, 2, 25, 12, 16)
    inside = torch.from_numpy(taps_inside_map(5, 2, 6, 8))
    assert torch.all(fixed[:, :, ~inside] == 0)
    assert torch.allclose(fixed.sum(2), torch.ones(1, 2, 12, 16))
    # inside the map the taps keep their ratios: the fixed kernel is the plain one rescaled
    share = (plain * inside).sum(2, keepdim=True)
    assert torch.allclose(fixed, plain * inside / share, atol=1e-6)
    centre = fixed[..., 6, 8]  # output pixel (6, 8): source (3, 4), its whole window inside
    assert torch.allclose(centre, plain[..., 6, 8])


def test_renormalised_inside_is_undone_after_the_block(tiny_model):
    module = tiny_model.neck.upsample_modules[0]
    with renormalised_inside(tiny_model):
        assert module.renormalise_inside
    assert not module.renormalise_inside


def test_ring_statistics_match_a_pixel_loop(tiny_model):
    images = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (2, 3, 64, 48), np.uint8))
    (stats,) = ring_statistics(tiny_model, images)
    with torch.no_grad():
        step = tiny_model.forward_with_intermediates(images.float() / 255).steps[0]
    kernels = step.details.kernels.double().numpy()  # (2, 25, oh, ow)
    h, w = step.input.shape[-2:]
    oh, ow = step.output.shape[-2:]
    padding, outward = [], []
    for n in range(2):
        for y in range(oh):
            for x in range(ow):
                if 0 < y < oh - 1 and 0 < x < ow - 1:
                    continue
                kernel = kernels[n, :, y, x].reshape(5, 5)
                sy, sx = y // 2, x // 2
                out = sum(
                    kernel[dy, dx]
                    for dy in range(5)
                    for dx in range(5)
                    if not (0 <= sy + dy - 2 < h and 0 <= sx + dx - 2 < w)
                )
                padding.append(out)
                com_y = sum(kernel[dy, dx] * (dy - 2) for dy in range(5) for dx in range(5))
                com_x = sum(kernel[dy, dx] * (dx - 2) for dy in range(5) for dx in range(5))
                normal_y = (y == oh - 1) - (y == 0)
                normal_x = (x == ow - 1) - (x == 0)
                outward.append(com_y * normal_y + com_x * normal_x > 0)
    assert stats["padding_weight_median"] == pytest.approx(float(torch.tensor(padding).median()))
    assert stats["outward_share"] == pytest.approx(np.mean(outward))
    magnitude = step.output.abs().mean(1)
    ring = torch.ones(oh, ow, dtype=torch.bool)
    ring[1:-1, 1:-1] = False
    ratio = magnitude[:, ring].mean() / magnitude[:, ~ring].mean()
    assert stats["ring_magnitude_ratio"] == pytest.approx(float(ratio), rel=1e-5)


def test_band_scores_match_a_direct_count(tiny_model):
    rng = np.random.default_rng(1)
    images = torch.from_numpy(rng.integers(0, 256, (3, 3, 32, 40), np.uint8))
    labels = torch.from_numpy(rng.integers(0, 3, (3, 32, 40)))
    scores = band_scores(tiny_model, images, labels, band=4)
    pred = tiny_model(images.float() / 255).argmax(1).numpy()
    near = np.zeros((32, 40), bool)
    near[:4], near[-4:], near[:, :4], near[:, -4:] = True, True, True, True
    for region, where in (("band", near), ("interior", ~near)):
        p, t = pred[:, where].ravel(), labels.numpy()[:, where].ravel()
        ious = []
        for c in range(3):
            union = np.sum((p == c) | (t == c))
            if union:
                ious.append(np.sum((p == c) & (t == c)) / union)
        assert scores[region]["miou"] == pytest.approx(100 * np.mean(ious))
        assert scores[region]["pixel_accuracy"] == pytest.approx(100 * np.mean(p == t))
    assert border_band(32, 40, 4).numpy().sum() == near.sum()
