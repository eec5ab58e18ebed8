"""CARAFEPack (mmcv layout and maths), the baseline upsamplers and their cost model."""

import pytest
import torch
import torch.nn.functional as F

from carafe.nn import (
    UPSAMPLER_KINDS,
    UPSAMPLERS,
    CARAFEIntermediates,
    CARAFEPack,
    UpsamplerKind,
    build_baseline,
    build_upsampler,
    kinds_where,
    register_upsampler,
    run_upsampler,
    upsampler_cost,
)


def _carafe_from_scratch(x, state, k_up, groups, k_enc, dilation, s):
    """CARAFEPack written out with explicit loops and the paper's channel formula."""
    comp = F.conv2d(x, state["channel_compressor.weight"], state["channel_compressor.bias"])
    enc = F.conv2d(
        comp,
        state["content_encoder.weight"],
        state["content_encoder.bias"],
        padding=(k_enc - 1) * dilation // 2,
        dilation=dilation,
    )
    n, c, h, w = x.shape
    out = torch.zeros(n, c, h * s, w * s, dtype=x.dtype)
    r = (k_up - 1) // 2
    for g in range(groups):
        for y in range(h * s):
            for xx in range(w * s):
                sy, sx = y % s, xx % s
                chans = [(g * k_up * k_up + t) * s * s + sy * s + sx for t in range(k_up * k_up)]
                weights = enc[:, chans, y // s, xx // s].softmax(dim=1)
                for t in range(k_up * k_up):
                    iy, ix = y // s + t // k_up - r, xx // s + t % k_up - r
                    if 0 <= iy < h and 0 <= ix < w:
                        cs = slice(g * c // groups, (g + 1) * c // groups)
                        out[:, cs, y, xx] += weights[:, t, None] * x[:, cs, iy, ix]
    return out


@pytest.mark.parametrize("k_up,groups,k_enc,dilation,s", [(5, 1, 3, 1, 2), (3, 2, 3, 2, 3)])
def test_mmcv_state_dict_strict_load_matches_scratch(k_up, groups, k_enc, dilation, s):
    torch.manual_seed(0)
    c, c_m = 8, 6
    out_ch = k_up * k_up * groups * s * s
    state = {  # mmcv's CARAFEPack keys and shapes
        "channel_compressor.weight": torch.randn(c_m, c, 1, 1, dtype=torch.float64),
        "channel_compressor.bias": torch.randn(c_m, dtype=torch.float64),
        "content_encoder.weight": torch.randn(out_ch, c_m, k_enc, k_enc, dtype=torch.float64),
        "content_encoder.bias": torch.randn(out_ch, dtype=torch.float64),
    }
    module = CARAFEPack(
        c,
        s,
        up_kernel=k_up,
        up_group=groups,
        encoder_kernel=k_enc,
        encoder_dilation=dilation,
        compressed_channels=c_m,
    ).double()
    module.load_state_dict(state, strict=True)
    x = torch.randn(2, c, 4, 5, dtype=torch.float64)
    expected = _carafe_from_scratch(x, state, k_up, groups, k_enc, dilation, s)
    torch.testing.assert_close(module(x), expected)


def test_init_matches_mmcv():
    torch.manual_seed(0)
    m = CARAFEPack(64, 2)
    assert m.content_encoder.weight.shape == (100, 64, 3, 3)
    assert m.content_encoder.weight.std().item() == pytest.approx(0.001, rel=0.05)
    bound = (6 / (64 + 64)) ** 0.5  # xavier-uniform of a 1x1 conv 64 -> 64
    assert m.channel_compressor.weight.abs().max() <= bound
    assert m.channel_compressor.weight.abs().max() > 0.9 * bound
    assert not m.channel_compressor.bias.any() and not m.content_encoder.bias.any()
    kernels = m.forward_with_intermediates(torch.randn(1, 64, 6, 6)).kernels
    torch.testing.assert_close(kernels, torch.full_like(kernels, 1 / 25), atol=0.006, rtol=0)


def test_intermediates_shapes_and_same_path():
    torch.manual_seed(1)
    m = CARAFEPack(16, 2, up_kernel=3, up_group=2, compressed_channels=8)
    torch.nn.init.normal_(m.content_encoder.weight, std=0.5)
    x = torch.randn(2, 16, 5, 7)
    parts = m.forward_with_intermediates(x)
    assert isinstance(parts, CARAFEIntermediates)
    assert parts.compressed.shape == (2, 8, 5, 7)
    assert parts.encoder_logits.shape == (2, 2 * 9 * 4, 5, 7)
    assert parts.kernel_logits.shape == (2, 18, 10, 14)
    assert parts.kernels.shape == (2, 18, 10, 14)
    assert parts.output.shape == (2, 16, 10, 14)
    torch.testing.assert_close(parts.kernel_logits, F.pixel_shuffle(parts.encoder_logits, 2))
    sums = parts.kernels.view(2, 2, 9, 10, 14).sum(2)
    torch.testing.assert_close(sums, torch.ones_like(sums))
    torch.testing.assert_close(m(x), parts.output)


@pytest.mark.parametrize("kind", UPSAMPLER_KINDS)
def test_every_upsampler_shape_and_grad(kind):
    torch.manual_seed(2)
    module = build_upsampler(kind, 16, 2)
    x = torch.randn(2, 16, 5, 6, requires_grad=True)
    guide = torch.randn(2, 16, 10, 12, requires_grad=True)
    y, details = run_upsampler(kind, module, x, guide)
    assert y.shape == (2, 16, 10, 12)
    y.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    entry = UPSAMPLERS[kind]
    assert (guide.grad is not None) == entry.needs_guide
    if entry.family == "kernels":  # the same pass exposes normalised k×k kernels
        taps = details.kernels.shape[1]
        assert details.kernels.shape[-2:] == (10, 12) and round(taps**0.5) ** 2 == taps
        sums = details.kernels.view(2, -1, taps, 10, 12).sum(2)
        torch.testing.assert_close(sums, torch.ones_like(sums))
    elif entry.family == "points":
        assert details.positions.shape[-1] == 2
    else:
        assert details is None


def test_interpolating_upsamplers_match_functional():
    x = torch.randn(1, 4, 3, 5)
    torch.testing.assert_close(
        build_upsampler("nearest", 4)(x), x.repeat_interleave(2, 2).repeat_interleave(2, 3)
    )
    torch.testing.assert_close(
        build_upsampler("bilinear", 4)(x), F.interpolate(x, scale_factor=2, mode="bilinear")
    )


def test_build_upsampler_errors():
    with pytest.raises(ValueError, match="unknown upsampler kind 'lanczos'"):
        build_upsampler("lanczos", 8)
    with pytest.raises(TypeError, match="takes no options"):
        build_upsampler("bilinear", 8, up_kernel=5)
    with pytest.raises(ValueError, match="divisible by up_group"):
        build_upsampler("carafe", 10, up_group=4)


def test_cost_reproduces_paper_and_counts_params():
    assert upsampler_cost("carafe", 256, 2) == {"params": 74148, "flops_per_input_pixel": 199496}
    for kind in UPSAMPLER_KINDS:
        cost = upsampler_cost(kind, 32, 2)
        module = build_upsampler(kind, 32, 2)
        assert cost["params"] == sum(p.numel() for p in module.parameters())
    assert upsampler_cost("nearest", 32)["flops_per_input_pixel"] == 0
    assert upsampler_cost("bilinear", 32)["flops_per_input_pixel"] == 7 * 32 * 4


def test_registry_is_the_one_list_of_kinds():
    assert UPSAMPLER_KINDS == tuple(UPSAMPLERS)
    assert set(UPSAMPLER_KINDS) == {
        "carafe",
        "dysample",
        "fade",
        "sapa",
        "nearest",
        "bilinear",
        "deconv",
        "pixel_shuffle",
    }
    names = [UPSAMPLERS[k].display_name for k in UPSAMPLER_KINDS]
    assert len(set(names)) == len(names) and all(names)
    assert all(UPSAMPLERS[k].baseline_note for k in UPSAMPLER_KINDS)
    colours = [UPSAMPLERS[k].colour for k in UPSAMPLER_KINDS]
    assert len(set(colours)) == len(colours), "every kind has its own colour"
    assert kinds_where(family="kernels") == ("carafe", "fade", "sapa")
    assert kinds_where(guided=True) == ("fade", "sapa")
    assert kinds_where(family="points") == ("dysample",)


def test_registry_rejects_bad_entries_and_duplicates():
    with pytest.raises(ValueError, match="family must be one of"):
        UpsamplerKind("x", "X", lambda c, s=2: None, lambda m, c, s: 0, family="blobs")
    with pytest.raises(ValueError, match="unknown measures"):
        UpsamplerKind("x", "X", lambda c, s=2: None, lambda m, c, s: 0, measures={"speed"})
    with pytest.raises(ValueError, match="already registered"):
        register_upsampler(UPSAMPLERS["carafe"])
    with pytest.raises(ValueError, match="needs the fine guide map"):
        run_upsampler("fade", build_upsampler("fade", 8), torch.randn(1, 8, 3, 3))


@pytest.mark.parametrize("kind", ["nearest", "bilinear", "deconv", "pixel_shuffle"])
def test_untrained_baselines_are_fixed_and_smooth(kind):
    torch.manual_seed(0)
    x = torch.randn(1, 6, 7, 9)
    a, b = build_baseline(kind, 6, 2), build_baseline(kind, 6, 2)
    ya = a(x)
    torch.testing.assert_close(ya, b(x))  # no random initialisation left
    assert ya.shape == (1, 6, 14, 18)
    # Every baseline keeps a constant map constant away from the border (it interpolates).
    flat = a(torch.full((1, 6, 7, 9), 2.0))[..., 3:-3, 3:-3]
    torch.testing.assert_close(flat, torch.full_like(flat, 2.0))


@pytest.mark.parametrize("kind", ["carafe", "dysample", "fade", "sapa"])
def test_learned_upsamplers_have_no_untrained_baseline(kind):
    with pytest.raises(ValueError, match="needs trained weights"):
        build_baseline(kind, 8, 2)
