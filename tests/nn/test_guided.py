"""FADE and SAPA against loop implementations of their equations (float64, random weights,
non-square maps, batch 2), the authors' state-dict layouts, gradients and bad input."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from carafe.nn import FADE, SAPA, build_upsampler, upsampler_cost
from carafe.ops import window_similarity
from carafe.ops.similarity import window_similarity_reference


def _randomise(module: torch.nn.Module, seed: int) -> None:
    """Random weights everywhere (the initialisation leaves biases and norms trivial)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.5)


def _at(m: torch.Tensor, c: int, y: int, x: int) -> float:
    """m[c, y, x], or 0 outside the map (the zero padding of both papers)."""
    if 0 <= y < m.shape[1] and 0 <= x < m.shape[2]:
        return float(m[c, y, x])
    return 0.0


def _fade_loop(module: FADE, x: torch.Tensor, guide: torch.Tensor) -> torch.Tensor:
    """FADE by its equations, one output value at a time."""
    k, s, r = module.up_kernel, module.scale_factor, (module.up_kernel - 1) // 2
    gen, gate_conv = module.kernel_generator, module.gate_generator.conv
    w3, b3 = gen.conv2_kernels, gen.conv2_bias
    n, c, h, w = x.shape
    out = torch.zeros(n, c, h * s, w * s, dtype=x.dtype)
    for b in range(n):
        en = torch.einsum("oc,chw->ohw", gen.conv1_en.weight[:, :, 0, 0], guide[b])
        en = en + gen.conv1_en.bias[:, None, None]
        de = torch.einsum("oc,chw->ohw", gen.conv1_de.weight[:, :, 0, 0], x[b])
        for yy in range(h * s):
            for xx in range(w * s):
                i, j = yy // s, xx // s
                logits = []
                for t in range(k * k):
                    total = 2 * float(b3[t])  # the shared conv's bias, once per half
                    for e in range(w3.shape[1]):
                        for u in range(3):
                            for v in range(3):
                                weight = float(w3[t, e, u, v])
                                total += weight * _at(en, e, yy + u - 1, xx + v - 1)
                                total += weight * _at(de, e, i + u - 1, j + v - 1)
                    logits.append(total)
                peak = max(logits)
                weights = [math.exp(z - peak) for z in logits]
                weights = [q / sum(weights) for q in weights]
                gate_logit = float(gate_conv.bias[0]) + sum(
                    float(gate_conv.weight[0, ci, 0, 0]) * float(x[b, ci, i, j]) for ci in range(c)
                )
                gate = 1 / (1 + math.exp(-gate_logit))
                for ci in range(c):
                    re = sum(
                        weights[dy * k + dx] * _at(x[b], ci, i + dy - r, j + dx - r)
                        for dy in range(k)
                        for dx in range(k)
                    )
                    out[b, ci, yy, xx] = gate * float(guide[b, ci, yy, xx]) + (1 - gate) * re
    return out


def _layer_norm(v: torch.Tensor, norm: torch.nn.LayerNorm) -> torch.Tensor:
    mean = v.mean()
    var = ((v - mean) ** 2).mean()
    return (v - mean) / torch.sqrt(var + norm.eps) * norm.weight + norm.bias


def _sapa_loop(module: SAPA, x: torch.Tensor, guide: torch.Tensor) -> torch.Tensor:
    """SAPA by its equations: LayerNorm, linear query/key, window dot products (0 outside),
    softmax, reassembly of the unnormalised x (0 outside)."""
    k, s, r = module.up_kernel, module.scale_factor, (module.up_kernel - 1) // 2
    n, c, h, w = x.shape
    out = torch.zeros(n, c, h * s, w * s, dtype=x.dtype)
    for b in range(n):
        keys = {
            (i, j): module.k.weight @ _layer_norm(x[b, :, i, j], module.norm_x) + module.k.bias
            for i in range(h)
            for j in range(w)
        }
        for yy in range(h * s):
            for xx in range(w * s):
                q = module.q.weight @ _layer_norm(guide[b, :, yy, xx], module.norm_y)
                q = q + module.q.bias
                i, j = yy // s, xx // s
                logits = []
                for dy in range(k):
                    for dx in range(k):
                        key = keys.get((i + dy - r, j + dx - r))
                        logits.append(0.0 if key is None else float(q @ key))
                peak = max(logits)
                weights = [math.exp(z - peak) for z in logits]
                weights = [p / sum(weights) for p in weights]
                for ci in range(c):
                    out[b, ci, yy, xx] = sum(
                        weights[dy * k + dx] * _at(x[b], ci, i + dy - r, j + dx - r)
                        for dy in range(k)
                        for dx in range(k)
                    )
    return out


def _inputs(c: int, h: int, w: int, s: int, seed: int, guide_channels: int | None = None):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, c, h, w, generator=g, dtype=torch.float64)
    guide = torch.randn(2, guide_channels or c, h * s, w * s, generator=g, dtype=torch.float64)
    return x, guide


@pytest.mark.parametrize("k", [3, 5])
def test_fade_matches_its_equations(k):
    module = FADE(3, 2, up_kernel=k, embedding_dim=4).double()
    _randomise(module, 1)
    x, guide = _inputs(3, 3, 4, 2, seed=2)  # non-square, batch 2
    with torch.no_grad():
        torch.testing.assert_close(module(x, guide), _fade_loop(module, x, guide))


def test_fade_semi_shift_equals_the_authors_four_shift_construction():
    """The authors build the encoder half from four zero-padded shifts and a stride-2 conv (on
    square maps); that equals the padding-1 conv at every fine pixel used here."""
    module = FADE(4, 2, up_kernel=3, embedding_dim=5).double()
    _randomise(module, 3)
    x, guide = _inputs(4, 5, 5, 2, seed=4)
    gen = module.kernel_generator
    with torch.no_grad():
        en = gen.conv1_en(guide)
        pads = [(1, 0, 1, 0), (0, 1, 1, 0), (1, 0, 0, 1), (0, 1, 0, 1)]  # TL, TR, BL, BR
        shifted = torch.stack([F.pad(en, p) for p in pads], dim=1)  # (N, 4, E, 2H+1, 2W+1)
        n, _, e, hh, ww = shifted.shape
        halves = F.conv2d(shifted.reshape(n * 4, e, hh, ww), gen.conv2_kernels, stride=2)
        halves = halves.view(n, 2, 2, -1, 5, 5)  # (N, a, b, taps, H, W) for sub-pixel (a, b)
        theirs = halves.permute(0, 3, 4, 1, 5, 2).reshape(n, -1, 10, 10)
        ours = F.conv2d(en, gen.conv2_kernels, padding=1)
        torch.testing.assert_close(ours, theirs)


@pytest.mark.parametrize("k", [3, 5])
def test_sapa_matches_its_equations(k):
    module = SAPA(3, 2, up_kernel=k, embedding_dim=4, guide_channels=5).double()
    _randomise(module, 5)
    x, guide = _inputs(3, 3, 4, 2, seed=6, guide_channels=5)
    with torch.no_grad():
        torch.testing.assert_close(module(x, guide), _sapa_loop(module, x, guide))


def test_sapa_out_of_window_taps_have_logit_zero():
    module = SAPA(2, 2, up_kernel=5, embedding_dim=3).double()
    _randomise(module, 7)
    x, guide = _inputs(2, 3, 3, 2, seed=8)  # 3×3: taps dy, dx >= 2 of pixel (0, 0) are inside
    with torch.no_grad():
        parts = module.forward_with_intermediates(x, guide)
    # Output pixel (0, 0) reads source (0, 0): its taps with dy < 2 or dx < 2 fall outside.
    logits = parts.kernel_logits[0, :, 0, 0].view(5, 5)
    assert torch.all(logits[:2] == 0) and torch.all(logits[:, :2] == 0)
    assert torch.all(logits[2:, 2:] != 0)
    # ... and still take softmax weight (exp(0)), which lands on the zero padding.
    assert float(parts.kernels[0, :, 0, 0].view(5, 5)[:2].sum()) > 0


def test_window_similarity_is_the_unfold_sum_and_differentiable():
    g = torch.Generator().manual_seed(9)
    q = torch.randn(2, 4, 6, 10, generator=g, dtype=torch.float64, requires_grad=True)
    k = torch.randn(2, 4, 3, 5, generator=g, dtype=torch.float64, requires_grad=True)
    torch.testing.assert_close(
        window_similarity(q, k, 5, 2), window_similarity_reference(q, k, 5, 2)
    )
    assert torch.autograd.gradcheck(lambda a, b: window_similarity(a, b, 3, 2), (q, k))
    with pytest.raises(ValueError, match=r"queries must be \(N, E, H\*s, W\*s\)"):
        window_similarity(q[..., :-1], k, 3, 2)
    with pytest.raises(ValueError, match="kernel_size must be a positive odd integer"):
        window_similarity(q, k, 4, 2)
    with pytest.raises(TypeError, match="keys dtype"):
        window_similarity(q, k.float(), 3, 2)


@pytest.mark.parametrize("kind", ["fade", "sapa"])
def test_gradcheck_in_float64(kind):
    module = build_upsampler(kind, 2, 2, up_kernel=3, embedding_dim=3).double()
    _randomise(module, 10)
    x, guide = _inputs(2, 2, 3, 2, seed=11)
    x.requires_grad_(True)
    guide.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a, b: module(a, b), (x, guide))
    params = [p for p in module.parameters()]
    loss = module(x, guide).square().sum()
    grads = torch.autograd.grad(loss, params)
    assert all(gr.abs().sum() > 0 for gr in grads), "every parameter gets a gradient"


def test_official_state_dict_layouts_load_strictly():
    fade = FADE(16, 2)
    assert set(fade.state_dict()) == {
        "gate_generator.conv.weight",
        "gate_generator.conv.bias",
        "kernel_generator.conv1_en.weight",
        "kernel_generator.conv1_en.bias",
        "kernel_generator.conv1_de.weight",
        "kernel_generator.conv2_kernels",
        "kernel_generator.conv2_bias",
    }
    assert fade.kernel_generator.conv2_kernels.shape == (25, 64, 3, 3)
    sapa = SAPA(16, 2)
    assert set(sapa.state_dict()) == {
        "norm_y.weight", "norm_y.bias", "norm_x.weight", "norm_x.bias",
        "q.weight", "q.bias", "k.weight", "k.bias",
    }  # fmt: skip
    assert sapa.q.weight.shape == (64, 16)
    # A state dict in the authors' layout (their names and shapes) loads strictly.
    for module in (fade, sapa):
        other = type(module)(16, 2)
        _randomise(other, 12)
        module.load_state_dict(other.state_dict(), strict=True)
        x, guide = torch.randn(1, 16, 3, 4), torch.randn(1, 16, 6, 8)
        torch.testing.assert_close(module(x, guide), other(x, guide))


def test_defaults_and_cost():
    for kind, cls in (("fade", FADE), ("sapa", SAPA)):
        module = build_upsampler(kind, 32)
        assert isinstance(module, cls)
        assert (module.up_kernel, module.embedding_dim, module.scale_factor) == (5, 64, 2)
        cost = upsampler_cost(kind, 32)
        assert cost["params"] == sum(p.numel() for p in module.parameters())
        assert (
            cost["flops_per_input_pixel"] > upsampler_cost("bilinear", 32)["flops_per_input_pixel"]
        )


@pytest.mark.parametrize("kind", ["fade", "sapa"])
def test_bad_guides_get_clear_errors(kind):
    module = build_upsampler(kind, 4, 2, up_kernel=3, embedding_dim=3)
    x = torch.randn(1, 4, 3, 5)
    with pytest.raises(ValueError, match=r"guide must be the fine map .* \(1, 4, 6, 10\)"):
        module(x, torch.randn(1, 4, 6, 9))
    with pytest.raises(TypeError, match="guide must be the fine map as a torch.Tensor"):
        module(x, None)
    with pytest.raises(ValueError, match=r"x must be \(N, 4, H, W\)"):
        module(torch.randn(1, 3, 3, 5), torch.randn(1, 4, 6, 10))
    with pytest.raises(ValueError, match="must match x"):
        module(x, torch.randn(1, 4, 6, 10, dtype=torch.float64))
    with pytest.raises(ValueError, match="up_kernel must be a positive odd integer"):
        build_upsampler(kind, 4, up_kernel=4)


def test_flop_counter_counts_the_guided_kinds_ops():
    """FlopCounterMode sees SAPA's similarity and both kinds' reassembly through the op's
    registered formulas (2·k²·E and 2·k²·C per output pixel), beside their convolutions."""
    from torch.utils.flop_counter import FlopCounterMode

    x, guide = torch.randn(1, 8, 6, 5), torch.randn(1, 8, 12, 10)
    out_pixels = 12 * 10
    for kind in ("fade", "sapa"):
        module = build_upsampler(kind, 8, 2, up_kernel=5, embedding_dim=4).eval()
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            module(x, guide)
        counts = {str(op): n for op, n in counter.get_flop_counts()["Global"].items()}
        assert counts["carafe.carafe"] == 2 * 25 * 8 * out_pixels
        if kind == "sapa":
            assert counts["carafe.window_similarity"] == 2 * 25 * 4 * out_pixels
        else:
            assert counts["aten.convolution"] > 0


def test_whole_upsampler_benchmark_times_every_learned_kind_beside_bilinear():
    from carafe.tools.bench_upsamplers import upsampler_rows

    rows = upsampler_rows(channels=8, hw=(6, 5), repeats=1, threads=1)
    names = {r["upsampler"] for r in rows}
    assert {"Bilinear", "CARAFE", "DySample", "FADE", "SAPA"} <= names
    bilinear = [r for r in rows if r["upsampler"] == "Bilinear"]
    assert all(r["vs_bilinear"] == 1.0 for r in bilinear)
    assert all(r["ms"] > 0 and r["direction"] in ("forward", "forward+backward") for r in rows)
