"""DySample: the sampling formula against plain loops, the published layout and initialisation."""

import math

import pytest
import torch
import torch.nn.functional as F

from carafe.nn import DySample, build_upsampler, upsampler_cost
from carafe.nn.interpolation import sampling_taps


def _bilinear_border(plane: torch.Tensor, y: float, x: float) -> float:
    """Bilinear sample of a (H, W) plane at pixel coordinates (y, x), clamped to the border."""
    h, w = plane.shape
    y = min(max(y, 0.0), h - 1.0)
    x = min(max(x, 0.0), w - 1.0)
    y0, x0 = math.floor(y), math.floor(x)
    y1, x1 = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
    fy, fx = y - y0, x - x0
    top = (1 - fx) * plane[y0, x0] + fx * plane[y0, x1]
    bottom = (1 - fx) * plane[y1, x0] + fx * plane[y1, x1]
    return float((1 - fy) * top + fy * bottom)


def _dysample_loops(x: torch.Tensor, offset_conv_out: torch.Tensor, s: int, groups: int, scope):
    """DySample's output written from its definition, one output value at a time.

    offset_conv_out: (N, 2·G·s², H, W) raw 1x1-conv output (x block first, then y), already
    multiplied by the dynamic scope when there is one; ``scope`` is 0.25 or 0.5.
    """
    n, c, h, w = x.shape
    out = torch.empty(n, c, s * h, s * w, dtype=torch.float64)
    per_group = c // groups
    for b in range(n):
        for oy in range(s * h):
            for ox in range(s * w):
                i, j, a, bb = oy // s, ox // s, oy % s, ox % s
                for g in range(groups):
                    channel = (g * s + a) * s + bb  # within the x (or y) block
                    dx = scope * float(offset_conv_out[b, channel, i, j]) + (bb + 0.5) / s - 0.5
                    dy = scope * float(offset_conv_out[b, groups * s * s + channel, i, j])
                    dy += (a + 0.5) / s - 0.5
                    for cc in range(g * per_group, (g + 1) * per_group):
                        out[b, cc, oy, ox] = _bilinear_border(x[b, cc].double(), i + dy, j + dx)
    return out


@pytest.mark.parametrize(
    "s,groups,dyscope", [(2, 4, False), (2, 2, True), (3, 1, False), (1, 2, False)]
)
def test_matches_loop_implementation(s, groups, dyscope):
    torch.manual_seed(s * 10 + groups)
    x = torch.randn(2, 8, 4, 5)
    module = DySample(8, s, groups=groups, dyscope=dyscope)
    with torch.no_grad():  # offsets of a few pixels, so that some points fall off the map
        module.offset.weight.normal_(std=2.0)
        module.offset.bias.normal_(std=2.0)
        if dyscope:
            module.scope.weight.normal_()
            module.scope.bias.normal_()
        raw = module.offset(x)
        if dyscope:
            raw = raw * module.scope(x).sigmoid()
        expected = _dysample_loops(x, raw, s, groups, 0.5 if dyscope else 0.25)
        got = module(x)
    assert got.shape == (2, 8, s * 4, s * 5)
    torch.testing.assert_close(got.double(), expected, atol=1e-5, rtol=1e-5)


def test_pl_style_predicts_at_output_resolution():
    torch.manual_seed(1)
    x = torch.randn(1, 16, 3, 4)
    module = DySample(16, 2, style="pl", groups=2)
    with torch.no_grad():
        module.offset.weight.normal_()
        raw = F.pixel_unshuffle(module.offset(F.pixel_shuffle(x, 2)), 2)
        expected = _dysample_loops(x, raw, 2, 2, 0.25)
        torch.testing.assert_close(module(x).double(), expected, atol=1e-5, rtol=1e-5)


def test_untrained_dysample_is_bilinear_interpolation():
    # Published init: offsets N(0, 0.001) -> the points sit at the sub-pixel centres.
    torch.manual_seed(0)
    x = torch.randn(2, 8, 6, 7)
    module = DySample(8, 2)
    bilinear = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    assert (module(x) - bilinear).abs().max() < 0.05
    with torch.no_grad():
        module.offset.weight.zero_()
    torch.testing.assert_close(module(x), bilinear, atol=1e-5, rtol=1e-5)


def _published_state_dict(channels, s, groups, dyscope, style="lp"):
    """A state dict laid out as the authors' module saves it (names, shapes, init_pos order)."""
    conv_in = channels // (s * s) if style == "pl" else channels
    conv_out = 2 * groups if style == "pl" else 2 * groups * s * s
    h = torch.arange((-s + 1) / 2, (s - 1) / 2 + 1) / s
    grid = torch.stack(torch.meshgrid([h, h], indexing="ij")).transpose(1, 2)
    state = {
        "offset.weight": torch.randn(conv_out, conv_in, 1, 1),
        "offset.bias": torch.randn(conv_out),
        "init_pos": grid.repeat(1, groups, 1).reshape(1, -1, 1, 1),
    }
    if dyscope:
        state["scope.weight"] = torch.randn(conv_out, conv_in, 1, 1)
        state["scope.bias"] = torch.randn(conv_out)
    return state


@pytest.mark.parametrize(
    "s,groups,dyscope,style", [(2, 4, False, "lp"), (2, 4, True, "lp"), (2, 4, True, "pl")]
)
def test_published_state_dict_loads_strict(s, groups, dyscope, style):
    state = _published_state_dict(64, s, groups, dyscope, style)
    module = DySample(64, s, style=style, groups=groups, dyscope=dyscope)
    torch.testing.assert_close(module.init_pos, state["init_pos"])
    module.load_state_dict(state, strict=True)
    assert set(module.state_dict()) == set(state)


def test_published_initialisation():
    torch.manual_seed(0)
    module = DySample(256, 2, dyscope=True)
    assert module.offset.weight.shape == (2 * 4 * 4, 256, 1, 1)
    assert abs(module.offset.weight.std().item() - 0.001) < 1e-4
    assert module.offset.bias.abs().max() == 0
    assert module.scope.weight.abs().max() == 0 and module.scope.bias.abs().max() == 0
    # x offsets first: the first G·s² entries of init_pos follow the column b, the rest the row a.
    pos = module.init_pos.view(2, 4, 2, 2)
    torch.testing.assert_close(pos[0, 0], torch.tensor([[-0.25, 0.25], [-0.25, 0.25]]))
    torch.testing.assert_close(pos[1, 0], torch.tensor([[-0.25, -0.25], [0.25, 0.25]]))


def test_positions_are_where_the_output_samples():
    torch.manual_seed(3)
    x = torch.randn(1, 4, 5, 6)
    module = DySample(4, 2, groups=2)
    with torch.no_grad():
        module.offset.weight.normal_()
        parts = module.forward_with_intermediates(x)
    assert parts.positions.shape == (1, 2, 10, 12, 2)
    oy, ox, g = 7, 3, 1
    px, py = parts.positions[0, g, oy, ox].tolist()
    expected = _bilinear_border(x[0, 2].double(), py, px)  # channel 2 is in group 1
    assert abs(parts.output[0, 2, oy, ox].item() - expected) < 1e-5


def test_bad_arguments():
    with pytest.raises(ValueError, match="divisible by groups"):
        DySample(10, 2, groups=4)
    with pytest.raises(ValueError, match="style must be"):
        DySample(8, 2, style="xx")
    with pytest.raises(ValueError, match="divisible by s²"):
        DySample(6, 2, style="pl", groups=2)
    with pytest.raises(ValueError, match=r"expects \(N, 8, H, W\)"):
        DySample(8, 2)(torch.randn(1, 4, 3, 3))


def test_cost_counts_its_parameters():
    # The DySample paper's static-scope "lp" module at C=256, s=2, G=4 has 8.2K parameters.
    cost = upsampler_cost("dysample", 256, 2)
    assert cost["params"] == 256 * 32 + 32 == 8224
    assert cost["params"] == sum(p.numel() for p in build_upsampler("dysample", 256).parameters())
    # Far cheaper than CARAFE, dearer than bilinear (it still blends four taps per value).
    assert upsampler_cost("bilinear", 256)["flops_per_input_pixel"] < cost["flops_per_input_pixel"]
    assert cost["flops_per_input_pixel"] < upsampler_cost("carafe", 256)["flops_per_input_pixel"]


def test_sampling_taps_reproduce_the_output():
    torch.manual_seed(5)
    x = torch.randn(1, 4, 5, 6)
    module = DySample(4, 2, groups=2)
    with torch.no_grad():
        module.offset.weight.normal_(std=3.0)  # some points land outside the map
        parts = module.forward_with_intermediates(x)
    outside = 0
    for oy in range(10):
        for ox in range(12):
            for g in range(2):
                px, py = parts.positions[0, g, oy, ox].tolist()
                outside += not (0 <= px <= 5 and 0 <= py <= 4)
                taps = sampling_taps(px, py, 5, 6)
                assert 1 <= len(taps) <= 4
                assert sum(t.weight for t in taps) == pytest.approx(1.0)
                for c in (2 * g, 2 * g + 1):
                    value = sum(t.weight * x[0, c, t.row, t.col].item() for t in taps)
                    assert value == pytest.approx(parts.output[0, c, oy, ox].item(), abs=1e-5)
    assert outside > 0
