"""DySample: upsampling by learned point sampling (Liu, Lu, Fu, Cao, ICCV 2023).

Where CARAFE predicts a k x k kernel per output pixel and reassembles a window, DySample
predicts one *point* per output sub-pixel and channel group and samples the input there with
bilinear interpolation (``grid_sample``): a sparse kernel of at most four taps, whose position
is learned instead of its weights.

Behaviour, initialisation and state-dict names follow the authors' published module, so their
weights load with ``strict=True``: ``offset.{weight,bias}`` (a 1x1 conv predicting 2·G·s² offsets
per input pixel, x offsets first, then y), ``scope.{weight,bias}`` with the dynamic scope, and
the buffer ``init_pos`` (the sub-pixel centres, -0.25 / +0.25 input pixels for s = 2).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["DySample", "DySampleIntermediates"]

_STATIC_SCOPE = 0.25  # offsets stay within a quarter pixel unless the dynamic scope learns more
_DYNAMIC_SCOPE = 0.5


@dataclass
class DySampleIntermediates:
    """What DySample computes for one input.

    offsets:   (N, 2·G·s², H, W) offsets per input pixel in input pixels, initial positions
               included; channel ((xy·G + g)·s + a)·s + b, x (xy = 0) before y (xy = 1).
    positions: (N, G, sH, sW, 2) where each output pixel samples each group, as (x, y) in input
               pixel coordinates (pixel j's centre is j); clamped to the map by the sampler.
    output:    (N, C, sH, sW).
    """

    offsets: torch.Tensor
    positions: torch.Tensor
    output: torch.Tensor


class DySample(nn.Module):
    """Point-sampling upsampler.

    Args:
        channels: C, divisible by ``groups`` (and by s² for style "pl").
        scale_factor: s.
        style: "lp" (offsets from the low-resolution input, the default) or "pl" (pixel-shuffle
            the input to the output resolution first, predict there, then unshuffle).
        groups: G channel groups, each with its own sampling points.
        dyscope: if True, a second 1x1 conv scales the offsets by 0.5·sigmoid(scope(x))
            ("dynamic scope"); otherwise they are scaled by a fixed 0.25 ("static scope").
    """

    def __init__(
        self,
        channels: int,
        scale_factor: int = 2,
        style: str = "lp",
        groups: int = 4,
        dyscope: bool = False,
    ) -> None:
        super().__init__()
        s = scale_factor
        if style not in ("lp", "pl"):
            raise ValueError(f"style must be 'lp' or 'pl', got {style!r}")
        if s < 1:
            raise ValueError(f"scale_factor must be a positive integer, got {s}")
        if groups < 1 or channels % groups:
            raise ValueError(f"channels ({channels}) must be divisible by groups ({groups})")
        if style == "pl" and channels % (s * s):
            raise ValueError(f"style 'pl' needs channels ({channels}) divisible by s² ({s * s})")
        self.channels = channels
        self.scale_factor = s
        self.style = style
        self.groups = groups
        self.dyscope = dyscope
        conv_in = channels // (s * s) if style == "pl" else channels
        conv_out = 2 * groups if style == "pl" else 2 * groups * s * s
        self.offset = nn.Conv2d(conv_in, conv_out, 1)
        nn.init.normal_(self.offset.weight, std=0.001)
        nn.init.zeros_(self.offset.bias)
        if dyscope:
            self.scope = nn.Conv2d(conv_in, conv_out, 1)
            nn.init.zeros_(self.scope.weight)
            nn.init.zeros_(self.scope.bias)
        self.register_buffer("init_pos", self._initial_positions())

    def _initial_positions(self) -> torch.Tensor:
        """(1, 2·G·s², 1, 1): the centre of sub-pixel (a, b) relative to its source pixel."""
        s, g = self.scale_factor, self.groups
        centres = (torch.arange(s, dtype=torch.float32) - (s - 1) / 2) / s
        x = centres.view(1, s).expand(s, s)  # depends on the column b
        y = centres.view(s, 1).expand(s, s)  # depends on the row a
        return torch.stack([x, y])[:, None].expand(2, g, s, s).reshape(1, -1, 1, 1).clone()

    def predict_offsets(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 2·G·s², H, W) sampling offsets in input pixels, initial positions included."""
        s = self.scale_factor
        if self.style == "lp":
            source, unshuffle = x, (lambda t: t)
        else:
            source, unshuffle = F.pixel_shuffle(x, s), (lambda t: F.pixel_unshuffle(t, s))
        if self.dyscope:
            scaled = unshuffle(self.offset(source) * self.scope(source).sigmoid()) * _DYNAMIC_SCOPE
        else:
            scaled = unshuffle(self.offset(source)) * _STATIC_SCOPE
        return scaled + self.init_pos

    def sample_positions(self, offsets: torch.Tensor) -> torch.Tensor:
        """(N, G, sH, sW, 2): each output pixel's sampling point per group, (x, y) in input pixels."""
        n, _, h, w = offsets.shape
        s, g = self.scale_factor, self.groups
        base_x = torch.arange(w, dtype=offsets.dtype, device=offsets.device).view(1, 1, 1, w)
        base_y = torch.arange(h, dtype=offsets.dtype, device=offsets.device).view(1, 1, h, 1)
        xy = offsets.view(n, 2, g * s * s, h, w)
        absolute = torch.stack([xy[:, 0] + base_x, xy[:, 1] + base_y], dim=1)
        shuffled = F.pixel_shuffle(absolute.reshape(n, 2 * g * s * s, h, w), s)
        return shuffled.view(n, 2, g, s * h, s * w).permute(0, 2, 3, 4, 1)

    def forward_with_intermediates(self, x: torch.Tensor) -> DySampleIntermediates:
        """Upsample ``x`` and keep the offsets and sampling positions."""
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(
                f"DySample expects (N, {self.channels}, H, W) input, got {tuple(x.shape)}"
            )
        n, c, h, w = x.shape
        s, g = self.scale_factor, self.groups
        offsets = self.predict_offsets(x)
        positions = self.sample_positions(offsets)
        # grid_sample's normalised coordinates (align_corners=False): pixel j spans [j, j+1).
        size = torch.tensor([w, h], dtype=x.dtype, device=x.device)
        grid = 2 * (positions + 0.5) / size - 1
        sampled = F.grid_sample(
            x.reshape(n * g, c // g, h, w),
            grid.reshape(n * g, s * h, s * w, 2),
            mode="bilinear",
            padding_mode="border",
            align_corners=False,
        )
        return DySampleIntermediates(offsets, positions, sampled.view(n, c, s * h, s * w))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Upsample (N, C, H, W) to (N, C, sH, sW)."""
        return self.forward_with_intermediates(x).output

    def extra_repr(self) -> str:
        return (
            f"channels={self.channels}, scale_factor={self.scale_factor}, style={self.style!r}, "
            f"groups={self.groups}, dyscope={self.dyscope}"
        )
