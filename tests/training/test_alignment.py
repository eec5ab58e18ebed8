"""Kernel alignment at object boundaries: the measures and their content-blind controls."""

import pytest
import torch
import torch.nn.functional as F

from carafe.models import build_model, default_config
from carafe.nn.interpolation import bilinear_kernel_1d
from carafe.training.alignment import ALIGNMENT_WINDOW, kernel_alignment
from carafe.training.data import load_split


@pytest.fixture(scope="module")
def scenes():
    return load_split("heldout", 6, 64)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_bilinear_kernel_reproduces_interpolate(scale):
    torch.manual_seed(scale)
    k = ALIGNMENT_WINDOW
    r = (k - 1) // 2
    x = torch.randn(1, 3, 9, 10)
    up = F.interpolate(x, scale_factor=scale, mode="bilinear", align_corners=False)
    for oy, ox in [(3 * scale, 4 * scale + scale - 1), (5 * scale + 1, 3 * scale + scale // 2)]:
        i, j = oy // scale, ox // scale
        kernel = torch.outer(
            bilinear_kernel_1d(k, scale, oy % scale), bilinear_kernel_1d(k, scale, ox % scale)
        )
        window = x[0, :, i - r : i + r + 1, j - r : j + r + 1].double()
        value = (window * kernel).sum((1, 2))
        torch.testing.assert_close(value.float(), up[0, :, oy, ox], atol=1e-5, rtol=1e-5)
        assert kernel.sum().item() == pytest.approx(1.0) and (kernel > 0).sum() <= 4


def test_untrained_carafe_is_uniform_and_its_control_too(scenes):
    torch.manual_seed(0)
    model = build_model(default_config("carafe", fpn_channels=8))
    stats = kernel_alignment(model, scenes.images, scenes.labels)
    own = stats["own_object_share"]
    assert stats["boundary_pixels"] > 100 and stats["window"] == 5
    assert set(own) == {"carafe", "carafe_moved", "bilinear", "nearest", "uniform"}
    assert 0.3 < own["uniform"] < 0.9
    assert own["carafe"] == pytest.approx(own["uniform"], abs=0.01)
    assert own["carafe_moved"] == pytest.approx(own["uniform"], abs=0.01)
    assert stats["off_centre_own_share"]["nearest"] is None
    # The centre tap is the pixel's own source pixel: nearest scores higher than uniform.
    assert own["nearest"] > own["uniform"]


def test_centre_spike_wins_own_share_but_not_off_centre_share(scenes):
    model = build_model(default_config("carafe", fpn_channels=8))
    enc = model.neck.upsample_modules[-1].content_encoder
    k, s = 5, 2
    with torch.no_grad():  # almost all weight on the centre tap, the rest spread evenly
        enc.weight.zero_()
        enc.bias.zero_()
        centre = (k * k // 2) * s * s
        enc.bias[centre : centre + s * s] = 8.0
    for module in model.neck.upsample_modules[:-1]:
        module.load_state_dict(model.neck.upsample_modules[-1].state_dict())
    stats = kernel_alignment(model, scenes.images, scenes.labels)
    own, off = stats["own_object_share"], stats["off_centre_own_share"]
    assert own["carafe"] == pytest.approx(own["nearest"], abs=0.01)
    assert own["carafe"] > own["bilinear"]
    assert off["carafe"] == pytest.approx(off["uniform"], abs=1e-6)  # off-centre: no gain


def test_untrained_dysample_samples_like_bilinear(scenes):
    torch.manual_seed(0)
    model = build_model(default_config("dysample", fpn_channels=8))
    stats = kernel_alignment(model, scenes.images, scenes.labels)
    own, off = stats["own_object_share"], stats["off_centre_own_share"]
    assert "carafe" not in own and set(own) >= {"dysample", "bilinear"}
    assert own["dysample"] == pytest.approx(own["bilinear"], abs=0.01)
    assert off["dysample"] == pytest.approx(off["bilinear"], abs=0.02)


def test_not_measured_for_kernel_free_upsamplers(scenes):
    model = build_model(default_config("bilinear", fpn_channels=8))
    assert kernel_alignment(model, scenes.images, scenes.labels) is None


def test_own_share_maps_agree_with_the_image_wide_alignment():
    """Averaged over the straddling pixels, the per-pixel maps give kernel_alignment's means."""
    from carafe.training.alignment import own_share_maps
    from carafe.training.data import load_split

    torch.manual_seed(0)
    data = load_split("heldout", 2, 96)
    model = build_model(default_config("carafe", fpn_channels=8)).eval()
    with torch.no_grad():
        step = model.forward_with_intermediates(data.images.float() / 255.0).steps[-1]
    maps = own_share_maps(
        step.details.kernels, data.labels, step.stride_in, step.stride_out, step.scale
    )
    straddling = maps["straddling"]
    assert straddling.any() and not straddling.all()
    assert torch.isnan(maps["kernels"][~straddling]).all()
    expected = kernel_alignment(model, data.images, data.labels)
    assert int(straddling.sum()) == expected["boundary_pixels"]
    for name, method in (("kernels", "carafe"), ("bilinear", "bilinear"), ("nearest", "nearest")):
        mean = float(maps[name][straddling].mean())
        assert mean == pytest.approx(expected["own_object_share"][method], abs=1e-6)
    # nearest's share is the centre tap's label: 0 or 1 at every straddling pixel
    assert set(maps["nearest"][straddling].unique().tolist()) <= {0.0, 1.0}


@pytest.mark.parametrize("kind", ["fade", "sapa"])
def test_guided_kernel_kinds_are_measured_with_their_own_control(kind, scenes):
    """Any kind of the kernels family is measured from its own pass, with its moved control."""
    torch.manual_seed(0)
    model = build_model(default_config(kind, fpn_channels=8))
    result = kernel_alignment(model, scenes.images, scenes.labels)
    own = result["own_object_share"]
    assert list(own) == [kind, f"{kind}_moved", "bilinear", "nearest", "uniform"]
    assert 0.0 < own[kind] < 1.0 and result["boundary_pixels"] > 0
