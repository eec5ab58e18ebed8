"""FPN neck with a pluggable upsampler: mmdetection's FPN_CARAFE structure and key names.

Keys: ``lateral_convs.{i}.conv``, ``fpn_convs.{i}.conv`` and ``upsample_modules.{i}``; biases
on, no norm, no activation. With ``num_outs`` larger than the number of inputs, each extra
level is a stride-2 3x3 conv (on the last input, then on the previous extra level), and it
takes part in the top-down path with its own upsampler, exactly as in FPN_CARAFE.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from carafe.nn import UPSAMPLERS, build_upsampler, run_upsampler, upsampler_cost

__all__ = ["FPN", "UpsampleStep", "level_name"]


def level_name(level: int) -> str:
    """The usual name of pyramid level ``level`` (0 = finest, stride 4): P2, P3, ..."""
    return f"P{level + 2}"


@dataclass
class UpsampleStep:
    """One top-down x2 upsampling step of the FPN, as applied (tensors keep the batch dim).

    index:        position of ``module`` in ``FPN.upsample_modules``.
    kind:         the upsampler kind (a key of ``carafe.nn.UPSAMPLERS``).
    input:        (N, C, h, w) the coarser lateral map that was upsampled.
    output:       (N, C, h', w') the upsampler's output, cropped to the finer level (h' <= 2h).
    details:      the upsampler's intermediates from the same pass (its kernels or points, see
                  ``UpsamplerKind.has_intermediates``), None for kinds without any.
    guide:        (N, C, h', w') the finer lateral map a guided kind read (FADE, SAPA), else None.
    source_level, target_level: pyramid levels (0 = finest) of input and output.
    stride_in, stride_out: input pixels per map pixel of input and output.
    module:       the upsampler module that made the step (to recompute details later).
    """

    index: int
    kind: str
    input: torch.Tensor
    output: torch.Tensor
    details: object | None
    source_level: int
    target_level: int
    stride_in: int
    stride_out: int
    module: nn.Module
    guide: torch.Tensor | None = None

    @property
    def scale(self) -> int:
        """The upsampling factor s of this step."""
        return self.stride_in // self.stride_out


class _ConvModule(nn.Module):
    """A conv under the attribute name ``conv`` (mmcv ConvModule without norm/activation)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride, (kernel - 1) // 2)
        nn.init.xavier_uniform_(self.conv.weight)
        nn.init.zeros_(self.conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class FPN(nn.Module):
    """Top-down feature pyramid whose x2 upsampling steps use any :func:`build_upsampler` kind.

    Args:
        in_channels: channels of the backbone maps (finest first).
        in_strides: their strides in input pixels.
        out_channels: channels of every pyramid level.
        upsampler: dict with ``kind`` plus the upsampler's options.
        num_outs: number of output levels (>= len(in_channels)).
    """

    SCALE = 2  # every top-down step upsamples x2

    def __init__(
        self,
        in_channels: list[int],
        in_strides: list[int],
        out_channels: int,
        upsampler: dict,
        num_outs: int | None = None,
    ) -> None:
        super().__init__()
        num_ins = len(in_channels)
        num_outs = num_ins if num_outs is None else num_outs
        if num_outs < num_ins:
            raise ValueError(f"num_outs ({num_outs}) must be >= number of inputs ({num_ins})")
        if len(in_strides) != num_ins:
            raise ValueError(f"got {num_ins} in_channels but {len(in_strides)} in_strides")
        cfg = dict(upsampler)
        self.upsample_kind = cfg.pop("kind")
        self.upsample_cfg = cfg
        self.num_ins = num_ins
        self.out_channels = out_channels
        self.strides = list(in_strides) + [
            in_strides[-1] * 2 ** (i + 1) for i in range(num_outs - num_ins)
        ]
        self.lateral_convs = nn.ModuleList()
        self.fpn_convs = nn.ModuleList()
        self.upsample_modules = nn.ModuleList()
        for i in range(num_outs):
            if i < num_ins:
                lateral = _ConvModule(in_channels[i], out_channels, 1)
            else:  # extra level: stride-2 conv on the last input, then on the last extra level
                c_in = in_channels[-1] if i == num_ins else out_channels
                lateral = _ConvModule(c_in, out_channels, 3, stride=2)
            self.lateral_convs.append(lateral)
            self.fpn_convs.append(_ConvModule(out_channels, out_channels, 3))
            if i > 0:
                self.upsample_modules.append(
                    build_upsampler(self.upsample_kind, out_channels, self.SCALE, **cfg)
                )

    def upsampler_cost(self) -> dict:
        """Parameters and FLOPs per input pixel of ONE of this FPN's upsampling modules
        (:func:`carafe.nn.upsampler_cost`)."""
        return upsampler_cost(
            self.upsample_kind, self.out_channels, self.SCALE, **self.upsample_cfg
        )

    def step_names(self) -> list[str]:
        """The top-down steps, coarsest first, as "P5→P4 (stride 32→16)"."""
        s = self.strides
        return [
            f"{level_name(i)}→{level_name(i - 1)} (stride {s[i]}→{s[i - 1]})"
            for i in range(len(s) - 1, 0, -1)
        ]

    def forward_with_intermediates(
        self, inputs: list[torch.Tensor], outputs: int | None = None
    ) -> tuple[list[torch.Tensor], list[UpsampleStep]]:
        """Return the pyramid levels (finest first) and one :class:`UpsampleStep` per top-down
        upsampling step, in the order they are applied (coarsest first).

        ``outputs``: how many levels, finest first, get their output conv (default all); a
        segmentation head reads only the finest, so the others need not be computed.
        """
        if len(inputs) != self.num_ins:
            raise ValueError(f"FPN expects {self.num_ins} input maps, got {len(inputs)}")
        laterals = []
        for i, lateral_conv in enumerate(self.lateral_convs):
            if i < len(inputs):
                source = inputs[i]
            elif i == len(inputs):
                source = inputs[-1]
            else:
                source = laterals[-1]
            laterals.append(lateral_conv(source))
        steps = []
        for i in range(len(laterals) - 1, 0, -1):
            module = self.upsample_modules[i - 1]
            x = laterals[i]
            h, w = laterals[i - 1].shape[-2:]
            guide = None
            if UPSAMPLERS[self.upsample_kind].needs_guide:
                # The finer lateral, zero-padded to exactly s times x when the finer level is
                # smaller (odd sizes); the output is cropped back below.
                guide = laterals[i - 1]
                big_h, big_w = x.shape[-2] * self.SCALE, x.shape[-1] * self.SCALE
                guide = F.pad(guide, (0, big_w - w, 0, big_h - h))
            up, details = run_upsampler(self.upsample_kind, module, x, guide)
            up = up[..., :h, :w]
            steps.append(
                UpsampleStep(
                    index=i - 1,
                    kind=self.upsample_kind,
                    input=x,
                    output=up,
                    details=details,
                    source_level=i,
                    target_level=i - 1,
                    stride_in=self.strides[i],
                    stride_out=self.strides[i - 1],
                    module=module,
                    guide=None if guide is None else guide[..., :h, :w],
                )
            )
            laterals[i - 1] = laterals[i - 1] + up
        count = len(laterals) if outputs is None else outputs
        outs = [
            conv(lat) for conv, lat in zip(self.fpn_convs[:count], laterals[:count], strict=True)
        ]
        return outs, steps

    def forward(self, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
        """Return the pyramid levels, finest first."""
        return self.forward_with_intermediates(inputs)[0]
