"""DySample's sampling points read as sparse kernels on CARAFE's window."""

import numpy as np
import pytest
import torch

from carafe.inspect.sampling import dysample_points, sampling_view
from carafe.models import build_model, default_config


def test_sparse_kernel_reproduces_the_model_output():
    torch.manual_seed(0)
    model = build_model(default_config("dysample", fpn_channels=8)).eval()
    for m in model.neck.upsample_modules:
        with torch.no_grad():
            m.offset.weight.normal_(std=0.5)  # learned-looking offsets of about a pixel
    image = (np.random.default_rng(0).random((70, 90, 3)) * 255).astype(np.uint8)
    positions = dysample_points(model, image)
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255.0
    with torch.no_grad():
        step = model.forward_with_intermediates(x).steps[-1]
    pos = positions[-1]
    assert pos.shape[0] == 4 and pos.shape[1:3] == tuple(step.output.shape[-2:])
    h, w = step.input.shape[-2:]
    feats = step.input[0].numpy()
    for oy, ox in [(0, 0), (7, 12), (pos.shape[1] - 1, pos.shape[2] - 1)]:
        view = sampling_view(pos, (h, w), oy, ox, k=5)
        for g, taps in enumerate(view.taps):
            channels = range(g * 2, g * 2 + 2)  # 8 channels, 4 groups
            for c in channels:
                value = sum(t.weight * feats[c, t.row, t.col] for t in taps)
                assert value == pytest.approx(float(step.output[0, c, oy, ox]), abs=1e-5)
        assert view.kernel.sum() + view.outside_window == pytest.approx(1.0)
        assert view.source == (oy // 2, ox // 2)


def test_untrained_points_start_at_the_sub_pixel_centres():
    positions = np.zeros((2, 4, 4, 2), np.float32)
    for y in range(4):
        for x in range(4):
            positions[:, y, x] = (
                x // 2 + (0.25 if x % 2 else -0.25),
                y // 2 + (0.25 if y % 2 else -0.25),
            )
    view = sampling_view(positions, (2, 2), 1, 2, k=3)
    assert view.start == (0.75, 0.25)  # column 1 - 1/4, row 0 + 1/4
    np.testing.assert_allclose(view.offsets, 0)
    # Bilinear's weights at (x, y) = (0.75, 0.25): columns 0/1 at 1/4, 3/4; rows 0/1 at 3/4, 1/4.
    np.testing.assert_allclose(view.kernel[1:, :2], [[0.1875, 0.5625], [0.0625, 0.1875]])
    assert view.kernel.sum() == pytest.approx(1.0)
    assert view.in_image.tolist() == [[False] * 3, [True, True, False], [True, True, False]]


def test_far_points_count_outside_the_window():
    positions = np.zeros((1, 4, 4, 2), np.float32)
    positions[0, 0, 0] = (3.0, 3.0)  # three pixels away from source pixel (0, 0)
    view = sampling_view(positions, (4, 4), 0, 0, k=3)
    assert view.outside_window == pytest.approx(1.0) and view.kernel.sum() == 0
    with pytest.raises(ValueError, match="outside the 4×4 output map"):
        sampling_view(positions, (4, 4), 4, 0)
