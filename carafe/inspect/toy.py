"""The 6×6 toy of the How it works page: a CARAFE step small enough to show every number.

Input: 2 channels on a 6×6 map (channel 0: a vertical edge 0 | 1, channel 1: a diagonal ramp),
upsampled ×2 by ``CARAFEPack(2, 2, up_kernel=3, encoder_kernel=3, compressed_channels=3)``.

Weights, two choices:

* ``trained_like=True`` (default): **hand-set** weights that behave as a trained CARAFE does
  at this edge. The "compressor" widens 2 → 3 channels here (C_m = 3 > C = 2): it keeps
  channel 0 (c₀ = x₀), channel 1 (c₁ = x₁) and adds a constant map (c₂ = 1, its bias).
  The encoder gives tap (dy, dx) the logit
  ``−β·dx·(c₀(tap) − c₀(centre)) + γ·c₂(tap)``: a tap across this rising edge from the
  centre gets −β, and a tap in the zero padding loses the +γ that every tap inside the map
  gets (the encoder sees the padding as c₂ = 0). So the kernels keep the edge sharp and avoid
  the padding. A single linear encoder cannot do this for edges of every direction and sign
  at once; a trained CARAFE uses many feature channels for that.
* ``trained_like=False``: random, untrained weights (seeded N(0, 0.5²), rounded to 0.1): the
  kernels vary from pixel to pixel but know nothing about edges.
"""

from __future__ import annotations

import torch

from carafe.inspect.analysis import baseline_outputs, carafe_details, energy_order, to_numpy
from carafe.inspect.records import StepAnalysis
from carafe.nn import CARAFEPack
from carafe.ops.geometry import Geometry

__all__ = ["BETA", "GAMMA", "make_toy_step", "toy_input", "toy_module"]

BETA = 5.0  # logit penalty of a tap across the edge
GAMMA = 10.0  # logit bonus of a tap inside the map (> BETA: taps in the zero padding lose)


def toy_input() -> torch.Tensor:
    """(1, 2, 6, 6): channel 0 a vertical edge 0 | 1 between columns 2 and 3, channel 1 a ramp."""
    x = torch.zeros(1, 2, 6, 6)
    x[0, 0, :, 3:] = 1.0
    x[0, 1] = (torch.arange(6)[:, None] + torch.arange(6)[None, :]).float() / 10
    return x


@torch.no_grad()
def toy_module(trained_like: bool = True, seed: int = 0) -> CARAFEPack:
    """The toy's CARAFEPack with hand-set edge-aware weights or random untrained ones."""
    module = CARAFEPack(2, 2, up_kernel=3, encoder_kernel=3, compressed_channels=3)
    if not trained_like:
        gen = torch.Generator().manual_seed(seed)
        for p in module.parameters():
            p.copy_((torch.randn(p.shape, generator=gen) * 0.5).round(decimals=1))
        return module
    comp, enc = module.channel_compressor, module.content_encoder
    comp.weight.zero_()
    comp.bias.zero_()
    comp.weight[0, 0, 0, 0] = comp.weight[1, 1, 0, 0] = 1.0
    comp.bias[2] = 1.0
    enc.weight.zero_()
    enc.bias.zero_()
    geo = Geometry(k=3, G=1, s=2, C=2, H=6, W=6)
    for dy in range(3):
        for dx in range(3):
            tap, step = dy * 3 + dx, dx - 1
            for a in range(2):
                for b in range(2):
                    o = geo.encoder_channel(0, tap, a, b)
                    # the encoder's 3×3 window is the kernel's 3×3 window (k_enc = k_up)
                    enc.weight[o, 0, dy, dx] -= BETA * step
                    enc.weight[o, 0, 1, 1] += BETA * step
                    enc.weight[o, 2, dy, dx] += GAMMA
    return module


@torch.no_grad()
def make_toy_step(trained_like: bool = True, seed: int = 0):
    """The toy as a :class:`~carafe.inspect.records.StepAnalysis` (every baseline included)."""
    module = toy_module(trained_like, seed)
    x = toy_input()
    parts = module.forward_with_intermediates(x)
    inp = to_numpy(x[0])
    outputs = baseline_outputs(x, 2, None, parts.output)
    outputs["carafe"] = to_numpy(parts.output[0])
    return StepAnalysis(
        index=0,
        kind="carafe",
        scale=2,
        source_level=1,
        target_level=0,
        stride_in=2,
        stride_out=1,
        input=inp,
        output=outputs["carafe"],
        outputs=outputs,
        details=carafe_details(module, parts, (12, 12)),
        channel_order=energy_order(inp),
        image_hw=(12, 12),
    )
