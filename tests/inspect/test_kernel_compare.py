"""CARAFE's kernel beside bilinear's and nearest's for one output pixel (issue: Fig. 5 live)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from carafe.inspect.analysis import analyze
from carafe.inspect.kernel_compare import bilinear_kernel, compare_pixel, nearest_kernel
from carafe.models import load_pretrained
from carafe.ops.geometry import Geometry


def _window(plane: np.ndarray, geo: Geometry, y: int, x: int) -> np.ndarray:
    padded = np.pad(plane, geo.radius)
    sy, sx = geo.source_pixel(y, x)
    return padded[sy : sy + geo.k, sx : sx + geo.k]


@pytest.mark.parametrize("s,k", [(2, 5), (2, 3), (3, 5), (4, 5)])
def test_bilinear_kernel_reproduces_interpolate_everywhere(s, k):
    torch.manual_seed(s + k)
    x = torch.randn(1, 1, 6, 7)
    up = F.interpolate(x, scale_factor=s, mode="bilinear", align_corners=False)[0, 0].numpy()
    geo = Geometry(k=k, G=1, s=s, C=1, H=6, W=7)
    plane = x[0, 0].numpy().astype(np.float64)
    for oy in range(6 * s):  # every pixel, the borders included (bilinear clamps there)
        for ox in range(7 * s):
            kernel = bilinear_kernel(geo, oy, ox)
            assert kernel.sum() == pytest.approx(1.0) and (kernel > 0).sum() <= 4
            value = (kernel * _window(plane, geo, oy, ox)).sum()
            assert value == pytest.approx(up[oy, ox], abs=1e-5)
    with pytest.raises(ValueError, match="at least 3×3"):
        bilinear_kernel(Geometry(k=1, G=1, s=2, C=1, H=6, W=7), 0, 0)


def test_nearest_kernel_is_the_centre_tap():
    geo = Geometry(k=5, G=1, s=2, C=1, H=4, W=4)
    kernel = nearest_kernel(geo, 3, 6)
    assert kernel[2, 2] == 1.0 and kernel.sum() == 1.0


@pytest.fixture(scope="module")
def analysis():
    model = load_pretrained("carafe")
    rng = np.random.default_rng(0)
    image = np.zeros((90, 130, 3), np.uint8)
    image[:, :60] = (40, 60, 90)
    image[:, 60:] = (230, 190, 120)
    image = np.clip(image + rng.normal(0, 6, image.shape), 0, 255).astype(np.uint8)
    return analyze(model, image)


def test_values_are_the_models_and_the_interpolations(analysis):
    step = analysis.steps[-1]
    channel = int(step.channel_order[0])
    for y, x in [(10, 15), (0, 0), (step.output_shape[0] - 1, step.output_shape[1] - 1)]:
        cmp = compare_pixel(step, y, x, channel, analysis.segmentation)
        by = {m.method: m for m in cmp.methods}
        assert list(by) == ["carafe", "bilinear", "nearest"]
        assert by["carafe"].value == pytest.approx(float(step.output[channel, y, x]))
        # CARAFE's value is its kernel applied to the window (zero padding outside the map).
        geo = step.geometry
        window = _window(step.input[channel].astype(np.float64), geo, y, x)
        assert (by["carafe"].kernel * window).sum() == pytest.approx(by["carafe"].value, abs=1e-4)
        assert by["bilinear"].value == pytest.approx(
            float(step.outputs["bilinear"][channel, y, x]), abs=1e-4
        )
        assert by["nearest"].value == pytest.approx(
            float(step.outputs["nearest"][channel, y, x]), abs=1e-5
        )
        if (y, x) != (step.output_shape[0] - 1, step.output_shape[1] - 1):
            # Bilinear clamps at the map border, so away from the area the model padded it
            # never reads padding (the last pixel of the map lies in that padded area).
            assert by["bilinear"].padding_weight == 0.0
        for m in cmp.methods:
            assert 0.0 <= m.own_share <= 1.0 + 1e-6  # float32 kernels sum to 1 within 1e-7
            assert m.kernel.sum() == pytest.approx(1.0, abs=1e-5)
    corner = compare_pixel(step, 0, 0, channel, analysis.segmentation)
    by = {m.method: m for m in corner.methods}
    assert (corner.window_labels == -1).sum() == 16  # two rows and two columns of padding
    assert by["carafe"].padding_weight > 0 and by["nearest"].padding_weight == 0.0


def test_only_carafe_steps_and_pixels_inside(analysis):
    step = analysis.steps[-1]
    with pytest.raises(ValueError, match="outside the"):
        compare_pixel(step, -1, 0, 0)
    assert compare_pixel(step, 4, 4, 0).window_labels is None  # no segmentation given
