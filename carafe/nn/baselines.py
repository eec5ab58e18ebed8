"""The fixed upsamplers CARAFE is compared with: nearest, bilinear, deconv and pixel shuffle,
with mmdetection's settings, and the untrained, documented initialisations the app shows them
with (bilinear-kernel deconv, ICNR pixel shuffle)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "Interpolate",
    "PixelShufflePack",
    "bilinear_deconv",
    "deconv",
    "icnr_pixel_shuffle",
    "interpolation",
    "pixel_shuffle",
]


class Interpolate(nn.Module):
    """Parameter-free nearest or bilinear upsampling (mmdetection's settings: align_corners=False)."""

    def __init__(self, scale_factor: int, mode: str) -> None:
        super().__init__()
        if mode not in ("nearest", "bilinear"):
            raise ValueError(f"mode must be 'nearest' or 'bilinear', got {mode!r}")
        self.scale_factor = scale_factor
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Upsample (N, C, H, W) to (N, C, sH, sW)."""
        align = None if self.mode == "nearest" else False
        return F.interpolate(x, scale_factor=self.scale_factor, mode=self.mode, align_corners=align)

    def extra_repr(self) -> str:
        return f"scale_factor={self.scale_factor}, mode={self.mode!r}"


class PixelShufflePack(nn.Module):
    """mmcv's PixelShufflePack: a k x k conv to C*s*s channels, then pixel shuffle by s."""

    def __init__(
        self, in_channels: int, out_channels: int, scale_factor: int, upsample_kernel: int = 3
    ) -> None:
        super().__init__()
        self.scale_factor = scale_factor
        self.upsample_conv = nn.Conv2d(
            in_channels,
            out_channels * scale_factor * scale_factor,
            upsample_kernel,
            padding=(upsample_kernel - 1) // 2,
        )
        nn.init.xavier_uniform_(self.upsample_conv.weight)
        nn.init.zeros_(self.upsample_conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Upsample (N, C, H, W) to (N, C_out, sH, sW)."""
        return F.pixel_shuffle(self.upsample_conv(x), self.scale_factor)


def deconv(channels: int, scale_factor: int, upsample_kernel: int = 3) -> nn.ConvTranspose2d:
    """mmdetection's FPN_CARAFE deconv: k x k, stride 2, Xavier-initialised (s = 2 only)."""
    if scale_factor != 2:
        raise ValueError(f"deconv upsampler supports scale_factor=2 only, got {scale_factor}")
    pad = (upsample_kernel - 1) // 2
    layer = nn.ConvTranspose2d(
        channels, channels, upsample_kernel, stride=2, padding=pad, output_padding=pad
    )
    nn.init.xavier_uniform_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


def interpolation(mode: str) -> Callable[..., nn.Module]:
    """A builder of parameter-free ``mode`` upsamplers that refuses options."""

    def build(channels: int, scale_factor: int = 2, **cfg) -> nn.Module:
        if cfg:
            raise TypeError(f"{mode} upsampler takes no options, got {sorted(cfg)}")
        return Interpolate(scale_factor, mode)

    return build


def pixel_shuffle(channels: int, scale_factor: int = 2, **cfg) -> nn.Module:
    """mmdetection's pixel-shuffle upsampler: C in, C out (``cfg``: ``upsample_kernel``)."""
    return PixelShufflePack(channels, channels, scale_factor, **cfg)


@torch.no_grad()
def bilinear_deconv(channels: int, scale_factor: int) -> nn.Module:
    """Deconv whose every channel starts as the bilinear kernel [1/2, 1, 1/2] (x) [1/2, 1, 1/2]."""
    layer = deconv(channels, scale_factor)
    layer.weight.zero_()
    tap = torch.tensor([0.5, 1.0, 0.5])
    idx = torch.arange(channels)
    layer.weight[idx, idx] = torch.outer(tap, tap)
    layer.bias.zero_()
    return layer


@torch.no_grad()
def icnr_pixel_shuffle(channels: int, scale_factor: int) -> nn.Module:
    """ICNR pixel shuffle: every sub-pixel of a channel gets the same 3x3 binomial blur."""
    s = scale_factor
    module = pixel_shuffle(channels, s)
    conv = module.upsample_conv
    conv.weight.zero_()
    blur = torch.tensor([1.0, 2.0, 1.0])
    blur = torch.outer(blur, blur) / 16
    pad = (conv.weight.shape[-1] - 3) // 2
    for c in range(channels):
        conv.weight[c * s * s : (c + 1) * s * s, c, pad : pad + 3, pad : pad + 3] = blur
    conv.bias.zero_()
    return module
