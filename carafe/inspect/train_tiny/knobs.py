"""The knobs of "Train a tiny CARAFE" and what they cost: the values each knob offers, the
training config of a knob set, and the parameter and FLOP counts of the registry
(``upsampler_cost``) for a knob set, without training. No Streamlit and no plotting here.
"""

from __future__ import annotations

from dataclasses import dataclass

from carafe.inspect.catalog import display_name
from carafe.nn.registry import upsampler_cost
from carafe.training.train_tiny import KINDS, TinyConfig

__all__ = ["CHOICES", "KINDS", "Cost", "Knobs", "costs", "step_flops"]

#: The values each knob offers on the page (C = 8 maps reach the upsampler: G divides 8).
CHOICES = {
    "up_kernel": (1, 3, 5, 7),
    "encoder_kernel": (1, 3, 5),
    "compressed_channels": (4, 8, 16, 32),
    "scale": (2, 3, 4),
    "groups": (1, 2, 4),
}


@dataclass(frozen=True)
class Knobs:
    """The CARAFE knobs of the page; everything else of the run is fixed (TinyConfig)."""

    up_kernel: int = 5
    encoder_kernel: int = 3
    compressed_channels: int = 16
    scale: int = 2
    groups: int = 1

    def config(self, **overrides) -> TinyConfig:
        """The training config of these knobs (``overrides`` change the fixed settings, for
        tests: e.g. fewer steps)."""
        return TinyConfig(
            up_kernel=self.up_kernel,
            encoder_kernel=self.encoder_kernel,
            compressed_channels=self.compressed_channels,
            scale=self.scale,
            groups=self.groups,
            **overrides,
        )


@dataclass(frozen=True)
class Cost:
    """One upsampler's size under the knobs, from the registry's ``upsampler_cost``."""

    kind: str
    name: str
    params: int  # the upsampler's parameters
    flops_per_input_pixel: int
    net_params: int  # the whole tiny network: convs + upsampler


def costs(knobs: Knobs) -> list[Cost]:
    """Parameters and FLOPs per input pixel of each upsampler for these knobs (no training)."""
    cfg = knobs.config()
    c = cfg.channels
    colours = 3
    convs = (colours * 9 + 1) * (c - colours) + (c + 1) * colours  # stem 3×3 + head 1×1
    out = []
    for kind in KINDS:
        cost = upsampler_cost(kind, c, cfg.scale, **cfg.upsampler_options(kind))
        out.append(
            Cost(
                kind,
                display_name(kind),
                cost["params"],
                cost["flops_per_input_pixel"],
                cost["params"] + convs,
            )
        )
    return out


def step_flops(knobs: Knobs) -> int:
    """FLOPs of one forward pass of the three networks on one picture under ``knobs``: each
    upsampler's FLOPs per input pixel (upsampler_cost) times the input pixels, plus the convs
    (counted the same way). Training time grows with it."""
    cfg = knobs.config()
    c, low, high = cfg.channels, cfg.low_size**2, cfg.size**2
    convs = low * (2 * 3 * 9 - 1) * (c - 3) + high * (2 * c - 1) * 3
    return sum(cost.flops_per_input_pixel * low + convs for cost in costs(knobs))
