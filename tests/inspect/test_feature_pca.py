"""Explore's upsampled maps in PCA colours: one basis and colour scaling for every panel, the
twins' reassembly applied to the model's coarse map (kernels as the op does, points as DySample
samples), and the sentence on where colours change most, worded from the numbers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from carafe.inspect.feature_pca import (
    SAME_RATIO,
    PcaMaps,
    PcaPanel,
    basis_sentence,
    change_sentence,
    colour_change,
    labels_on_grid,
    missing_sentence,
    pca_maps,
    reassembled_by,
)
from carafe.inspect.imageio import sample_scene
from carafe.inspect.records import KernelDetails, StepAnalysis
from carafe.inspect.regions import image_regions
from carafe.inspect.summaries import pca_basis, pca_colours, pca_project
from carafe.ops.reference import carafe_reference


def _step(inp, out_hw, details=None, points=None, kind="carafe", outputs=None) -> StepAnalysis:
    c, h, w = inp.shape
    output = np.zeros((c, *out_hw), np.float32)
    return StepAnalysis(
        index=0,
        kind=kind,
        scale=2,
        source_level=1,
        target_level=0,
        stride_in=8,
        stride_out=4,
        input=inp,
        output=output if outputs is None else outputs[kind],
        outputs=outputs or {kind: output},
        details=details,
        points=points,
        image_hw=(out_hw[0] * 4, out_hw[1] * 4),
    )


def _kernels(rng, groups, k, hw) -> np.ndarray:
    logits = torch.from_numpy(rng.normal(size=(groups, k * k, *hw)).astype(np.float32))
    return logits.softmax(dim=1).reshape(groups * k * k, *hw).numpy()


def _details(kernels, k, groups) -> KernelDetails:
    zeros = np.zeros((groups, *kernels.shape[1:]), np.float32)
    return KernelDetails("fade", k, groups, kernels, kernels, kernels, zeros, zeros, zeros, zeros)


def test_basis_shapes_and_one_colour_scale():
    rng = np.random.default_rng(0)
    coarse = rng.normal(size=(16, 7, 9)).astype(np.float32)
    basis = pca_basis(coarse)
    assert basis.components.shape == (3, 16) and basis.mean.shape == (16,)
    np.testing.assert_allclose(np.linalg.norm(basis.components, axis=1), 1.0, atol=1e-9)
    assert np.all(np.diff(basis.explained) <= 0) and 0 < basis.explained.sum() <= 1
    rgb = pca_project(coarse, basis)
    assert rgb.shape == (7, 9, 3) and rgb.min() >= 0 and rgb.max() <= 1
    # the coarse map's 1st..99th percentiles span the colours 0..1 per component
    raw = pca_colours(coarse, basis).reshape(-1, 3)
    np.testing.assert_allclose(np.percentile(raw, [1, 99], axis=0), [[0] * 3, [1] * 3], atol=1e-9)
    # shared scaling: the coarse map's nearest-upsampled copy gets the very same colours
    nearest = coarse.repeat(2, axis=1).repeat(2, axis=2)
    np.testing.assert_allclose(
        pca_project(nearest, basis), rgb.repeat(2, axis=0).repeat(2, axis=1), atol=1e-12
    )
    # and another map is not rescaled to its own range
    assert pca_project(3 * coarse, basis).mean() != pytest.approx(rgb.mean())


def test_basis_is_fitted_on_the_visible_part_only():
    rng = np.random.default_rng(1)
    coarse = rng.normal(size=(8, 6, 6)).astype(np.float32)
    padded = np.zeros((8, 8, 8), np.float32)
    padded[:, :6, :6] = coarse
    a, b = pca_basis(coarse), pca_basis(padded, visible_hw=(6, 6))
    np.testing.assert_allclose(a.components, b.components, atol=1e-9)
    np.testing.assert_allclose(a.low, b.low, atol=1e-9)


@pytest.mark.parametrize(("groups", "k", "crop"), [(1, 5, (13, 15)), (2, 3, (14, 16))])
def test_kernel_reassembly_equals_the_reference(groups, k, crop):
    rng = np.random.default_rng(2)
    coarse = rng.normal(size=(8, 7, 8)).astype(np.float32)
    kernels = _kernels(rng, groups, k, crop)  # the twin's kernels, cropped as the FPN crops
    twin = _step(
        rng.normal(size=coarse.shape).astype(np.float32), crop, _details(kernels, k, groups)
    )
    got = reassembled_by(twin, coarse, 2, crop)
    masks = np.zeros((groups * k * k, 14, 16), np.float32)
    masks[:, : crop[0], : crop[1]] = kernels
    want = carafe_reference(
        torch.from_numpy(coarse)[None], torch.from_numpy(masks)[None], k, groups, 2
    )[0, :, : crop[0], : crop[1]].numpy()
    assert got.shape == (8, *crop) and np.abs(want).max() > 0.1
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_kernel_groups_that_do_not_divide_the_channels_split_them():
    rng = np.random.default_rng(3)
    coarse = rng.normal(size=(5, 4, 4)).astype(np.float32)
    kernels = _kernels(rng, 2, 3, (8, 8))
    got = reassembled_by(_step(coarse, (8, 8), _details(kernels, 3, 2)), coarse, 2)
    x, m = torch.from_numpy(coarse)[None], torch.from_numpy(kernels)[None]
    want = torch.cat(
        [
            carafe_reference(x[:, :2], m[:, :9], 3, 1, 2),
            carafe_reference(x[:, 2:], m[:, 9:], 3, 1, 2),
        ],
        dim=1,
    )[0].numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)


def _bilinear_at(channel: np.ndarray, px: float, py: float) -> float:
    """One bilinear read of an (h, w) map at (x, y) in pixels (pixel j's centre is j), the
    point clamped to the map (DySample's border padding)."""
    h, w = channel.shape
    px, py = min(max(px, 0.0), w - 1.0), min(max(py, 0.0), h - 1.0)
    x0, y0 = int(np.floor(px)), int(np.floor(py))
    x1, y1 = min(x0 + 1, w - 1), min(y0 + 1, h - 1)
    fx, fy = px - x0, py - y0
    top = (1 - fx) * channel[y0, x0] + fx * channel[y0, x1]
    bottom = (1 - fx) * channel[y1, x0] + fx * channel[y1, x1]
    return float((1 - fy) * top + fy * bottom)


def test_point_reassembly_samples_as_dysample():
    rng = np.random.default_rng(4)
    coarse = rng.normal(size=(6, 5, 4)).astype(np.float32)
    groups, out_hw = 3, (9, 8)
    ys, xs = np.meshgrid(np.arange(out_hw[0]), np.arange(out_hw[1]), indexing="ij")
    start = np.stack([(xs + 0.5) / 2 - 0.5, (ys + 0.5) / 2 - 0.5], axis=-1)
    points = (start[None] + rng.uniform(-1.5, 1.5, size=(groups, *out_hw, 2))).astype(np.float32)
    got = reassembled_by(_step(coarse, out_hw, points=points, kind="dysample"), coarse, 2)
    want = np.empty_like(got)
    for c in range(6):
        g = c // 2
        for y in range(out_hw[0]):
            for x in range(out_hw[1]):
                want[c, y, x] = _bilinear_at(coarse[c], *points[g, y, x])
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_reassembly_of_a_step_without_kernels_or_points_is_none():
    coarse = np.ones((4, 3, 3), np.float32)
    assert reassembled_by(_step(coarse, (6, 6), kind="bilinear"), coarse, 2) is None
    other_grid = np.ones((4, 4, 4), np.float32)  # the twin saw another grid
    kernels = _kernels(np.random.default_rng(0), 1, 3, (8, 8))
    assert reassembled_by(_step(other_grid, (8, 8), _details(kernels, 3, 1)), coarse, 2) is None


def test_own_kernels_on_the_own_map_give_the_models_output(shapes):
    _, analysis = shapes
    step = next(s for s in reversed(analysis.steps) if s.details is not None)
    again = reassembled_by(step, step.input, step.scale, step.output_shape)
    np.testing.assert_allclose(again, step.output, atol=1e-4)


def test_labels_are_read_at_output_pixel_centres():
    labels = np.arange(10 * 10).reshape(10, 10)
    grid = labels_on_grid(labels, 4, (3, 4))
    assert grid[0, 0] == labels[2, 2] and grid[0, 1] == labels[2, 6]
    assert grid[1, 1] == labels[6, 6]
    assert (grid[2] == -1).all() and (grid[:, 3] == -1).all()  # centres 10 lie past the image


def _edge_scene(h=8, w=8):
    """Labels: left half region 0, right half region 1 (a vertical edge between columns 3, 4)."""
    labels = np.zeros((h, w), np.int64)
    labels[:, w // 2 :] = 1
    return labels


def test_colour_change_within_and_across():
    labels = _edge_scene()
    colours = np.zeros((8, 8, 3))
    colours[:, 4:, 0] = 1.0  # a step of 1 at the edge
    colours[::2, :4, 1] = 0.5  # stripes inside region 0
    within, across = colour_change(colours, labels)
    assert across == pytest.approx(np.mean([np.hypot(1, 0.5)] * 4 + [1.0] * 4))
    # within: pairs along a row never change; pairs down a column of region 0 change 0.5
    n_within = 8 * 6 + 7 * 8
    assert within == pytest.approx(0.5 * 7 * 4 / n_within)
    no_edge = colour_change(colours, np.zeros((8, 8), np.int64))
    assert np.isnan(no_edge[1])


def _maps(ratios: dict[str, tuple[float, float]], true_labels=False) -> PcaMaps:
    """PcaMaps whose panels change (within, across) as much as given; bilinear = (1, 1)."""
    empty = np.zeros((2, 2, 3))
    panels = [PcaPanel("Bilinear", "bilinear", empty, 0.1, 0.2)]
    panels += [PcaPanel(k, k, empty, 0.1 * w, 0.2 * a) for k, (w, a) in ratios.items()]
    return PcaMaps(empty, "Coarse", panels, np.zeros(3), 100, 10, true_labels)


def test_sentence_names_the_panel_sharper_than_bilinear_across_edges():
    text = change_sentence(_maps({"carafe": (1.0, 1.4), "fade": (1.2, 1.1), "sapa": (0.9, 0.8)}))
    assert text.startswith(
        "Across region edges CARAFE's colours change 1.40× as much as bilinear's"
    )
    assert "the most of the four" in text
    assert "within regions FADE's change most (1.20× bilinear's)" in text


def test_sentence_when_no_panel_is_sharper_than_bilinear():
    text = change_sentence(_maps({"carafe": (0.9, 0.7), "fade": (0.8, 0.6)}, true_labels=True))
    assert text.startswith("Across object edges bilinear's colours change the most of the three")
    assert "CARAFE's come next (0.70× bilinear's)" in text
    assert "within objects bilinear's change most; CARAFE's change next (0.90×" in text
    assert "more" not in text.split(";")[0]


def test_sentence_ties_and_about_as_much():
    near = 1 + SAME_RATIO / 2
    text = change_sentence(
        _maps({"carafe": (near, 1.5), "fade": (1.0, 1.5 * (1 - SAME_RATIO / 2))})
    )
    assert "CARAFE's and FADE's colours change most, 1.50× and 1.46× as much" in text
    assert "none changes clearly more than bilinear's" in text and "about as much" in text
    flat = change_sentence(_maps({"carafe": (1.0, near)}))
    assert "no upsampler's colours change clearly more than bilinear's" in flat


def test_sentence_without_an_edge():
    maps = _maps({"carafe": (1.0, 1.4)})
    maps = PcaMaps(maps.coarse, "Coarse", maps.panels, maps.explained, 100, 0)
    assert "no edge" in change_sentence(maps)


def test_pca_maps_panels_share_the_coarse_basis():
    rng = np.random.default_rng(5)
    coarse = rng.normal(size=(8, 6, 6)).astype(np.float32)
    nearest = coarse.repeat(2, axis=1).repeat(2, axis=2)
    outputs = {"bilinear": nearest, "carafe": nearest}
    step = _step(coarse, (12, 12), outputs=outputs)
    kernels = np.zeros((9, 12, 12), np.float32)
    kernels[4] = 1.0  # centre tap only: nearest upsampling
    twin = _step(coarse, (12, 12), _details(kernels, 3, 1), kind="fade")
    maps = pca_maps(step, [("fade", twin), ("dysample", None)], _edge_scene(48, 48))
    assert [p.kind for p in maps.panels] == ["bilinear", "carafe", "fade"]
    assert maps.panels[2].label == "FADE's kernels on this map" and maps.missing == ["dysample"]
    for panel in maps.panels:
        np.testing.assert_allclose(panel.rgb, maps.coarse.repeat(2, 0).repeat(2, 1), atol=1e-6)
    assert maps.across_pairs == 12 and maps.within_pairs == 2 * 12 * 11 - 12


def test_basis_and_missing_sentences_follow_the_numbers():
    maps = _maps({"carafe": (1.0, 1.4)})
    maps = PcaMaps(maps.coarse, "Coarse", maps.panels, np.array([0.5, 0.2, 0.1]), 100, 10)
    assert "50 %, 20 % and 10 %" in basis_sentence(maps) and "(80 % together)" in basis_sentence(
        maps
    )
    assert missing_sentence(maps) == ""
    gone = PcaMaps(maps.coarse, "Coarse", maps.panels, maps.explained, 100, 10, missing=["fade"])
    assert missing_sentence(gone) == "FADE has no kernels or points for this step, so no panel."


def test_regions_are_a_scenes_true_objects_or_a_photos_colour_regions():
    image, objects = sample_scene("shapes_1.png")
    labels, true_objects = image_regions(image, "shapes_1.png")
    assert true_objects and np.array_equal(labels, objects)
    labels, true_objects = image_regions(image)  # no sample name: an upload's colour regions
    assert not true_objects and labels.shape == image.shape[:2]


def test_sentence_names_the_panel_with_the_sharpest_edges_for_its_noise_both_ways():
    # bilinear: across 0.2 / within 0.1 = 2.00x; CARAFE 0.28 / 0.10 = 2.80x; FADE 0.30 / 0.15
    text = change_sentence(_maps({"carafe": (1.0, 1.4), "fade": (1.5, 1.5)}))
    assert "Against its own change within regions, CARAFE changes most across edges: 2.80×" in text
    assert "(bilinear 2.00×)" in text
    # a noisy panel that changes most everywhere is not the sharpest
    noisy = change_sentence(_maps({"dysample": (2.5, 1.6)}))
    assert "the most of the two" in noisy
    assert "none changes more across edges than bilinear (2.00×; best DySample 1.28×)" in noisy
