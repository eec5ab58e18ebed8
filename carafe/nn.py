"""CARAFEPack and the baseline upsamplers behind one constructor.

``CARAFEPack`` follows mmcv's module of the same name: same arguments, same initialisation and
the same state-dict keys (``channel_compressor.*``, ``content_encoder.*``), so weights saved
from mmcv/mmdetection load with ``strict=True`` and give the same output.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from carafe.ops import carafe

__all__ = [
    "UPSAMPLER_KINDS",
    "CARAFEIntermediates",
    "CARAFEPack",
    "Interpolate",
    "PixelShufflePack",
    "build_upsampler",
    "upsampler_cost",
]

UPSAMPLER_KINDS = ("carafe", "nearest", "bilinear", "deconv", "pixel_shuffle")


@dataclass
class CARAFEIntermediates:
    """Every tensor CARAFEPack computes on the way from input to output.

    compressed:     (N, Cm, H, W) output of the 1x1 channel compressor.
    encoder_logits: (N, G*k*k*s*s, H, W) raw content-encoder output.
    kernel_logits:  (N, G*k*k, sH, sW) after pixel shuffle, before the softmax.
    kernels:        (N, G*k*k, sH, sW) reassembly kernels (softmax over the k*k taps).
    output:         (N, C, sH, sW) the upsampled features.
    """

    compressed: torch.Tensor
    encoder_logits: torch.Tensor
    kernel_logits: torch.Tensor
    kernels: torch.Tensor
    output: torch.Tensor


class CARAFEPack(nn.Module):
    """Content-aware upsampler: predict a k_up x k_up kernel per output pixel, then reassemble.

    Args mirror mmcv's ``CARAFEPack``: ``channels`` C, ``scale_factor`` s, ``up_kernel`` k_up,
    ``up_group`` G, ``encoder_kernel`` k_enc, ``encoder_dilation`` and ``compressed_channels``
    C_m.
    """

    def __init__(
        self,
        channels: int,
        scale_factor: int,
        up_kernel: int = 5,
        up_group: int = 1,
        encoder_kernel: int = 3,
        encoder_dilation: int = 1,
        compressed_channels: int = 64,
    ) -> None:
        super().__init__()
        if up_kernel < 1 or up_kernel % 2 == 0:
            raise ValueError(f"up_kernel must be a positive odd integer, got {up_kernel}")
        if encoder_kernel < 1 or encoder_kernel % 2 == 0:
            raise ValueError(f"encoder_kernel must be a positive odd integer, got {encoder_kernel}")
        if channels % up_group != 0:
            raise ValueError(f"channels ({channels}) must be divisible by up_group ({up_group})")
        self.channels = channels
        self.scale_factor = scale_factor
        self.up_kernel = up_kernel
        self.up_group = up_group
        self.encoder_kernel = encoder_kernel
        self.encoder_dilation = encoder_dilation
        self.compressed_channels = compressed_channels
        self.channel_compressor = nn.Conv2d(channels, compressed_channels, 1)
        self.content_encoder = nn.Conv2d(
            compressed_channels,
            up_kernel * up_kernel * up_group * scale_factor * scale_factor,
            encoder_kernel,
            padding=(encoder_kernel - 1) * encoder_dilation // 2,
            dilation=encoder_dilation,
        )
        self.init_weights()

    def init_weights(self) -> None:
        """mmcv's initialisation: xavier-uniform convs, encoder weights N(0, 0.001), zero biases."""
        for conv in (self.channel_compressor, self.content_encoder):
            nn.init.xavier_uniform_(conv.weight)
            nn.init.zeros_(conv.bias)
        nn.init.normal_(self.content_encoder.weight, std=0.001)

    def forward_with_intermediates(self, x: torch.Tensor) -> CARAFEIntermediates:
        """Upsample ``x`` and return every intermediate tensor (see :class:`CARAFEIntermediates`)."""
        compressed = self.channel_compressor(x)
        encoder_logits = self.content_encoder(compressed)
        kernel_logits = F.pixel_shuffle(encoder_logits, self.scale_factor)
        n, _, h, w = kernel_logits.shape
        taps = self.up_kernel * self.up_kernel
        kernels = kernel_logits.view(n, self.up_group, taps, h, w).softmax(dim=2)
        kernels = kernels.view(n, self.up_group * taps, h, w)
        output = carafe(x, kernels, self.up_kernel, self.up_group, self.scale_factor)
        return CARAFEIntermediates(compressed, encoder_logits, kernel_logits, kernels, output)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Upsample (N, C, H, W) to (N, C, sH, sW)."""
        return self.forward_with_intermediates(x).output

    def extra_repr(self) -> str:
        return (
            f"channels={self.channels}, scale_factor={self.scale_factor}, "
            f"up_kernel={self.up_kernel}, up_group={self.up_group}, "
            f"encoder_kernel={self.encoder_kernel}, encoder_dilation={self.encoder_dilation}, "
            f"compressed_channels={self.compressed_channels}"
        )


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


def _deconv(channels: int, scale_factor: int, upsample_kernel: int = 3) -> nn.ConvTranspose2d:
    if scale_factor != 2:
        raise ValueError(f"deconv upsampler supports scale_factor=2 only, got {scale_factor}")
    pad = (upsample_kernel - 1) // 2
    deconv = nn.ConvTranspose2d(
        channels, channels, upsample_kernel, stride=2, padding=pad, output_padding=pad
    )
    nn.init.xavier_uniform_(deconv.weight)
    nn.init.zeros_(deconv.bias)
    return deconv


def build_upsampler(kind: str, channels: int, scale_factor: int = 2, **cfg) -> nn.Module:
    """Build an upsampler mapping (N, C, H, W) to (N, C, sH, sW).

    kind: one of :data:`UPSAMPLER_KINDS`. ``cfg`` goes to the module: CARAFEPack's arguments for
    "carafe"; ``upsample_kernel`` (default 3, as in mmdetection's FPN_CARAFE) for "deconv" and
    "pixel_shuffle"; nothing for "nearest"/"bilinear".
    """
    if kind == "carafe":
        return CARAFEPack(channels, scale_factor, **cfg)
    if kind in ("nearest", "bilinear"):
        if cfg:
            raise TypeError(f"{kind} upsampler takes no options, got {sorted(cfg)}")
        return Interpolate(scale_factor, kind)
    if kind == "deconv":
        return _deconv(channels, scale_factor, **cfg)
    if kind == "pixel_shuffle":
        return PixelShufflePack(channels, channels, scale_factor, **cfg)
    raise ValueError(f"unknown upsampler kind {kind!r}; choose one of {UPSAMPLER_KINDS}")


def _conv_flops(c_in: int, c_out: int, kernel: int) -> int:
    """FLOPs of one output pixel of a conv: k*k*C_in multiplies and k*k*C_in-1 adds per channel."""
    return (2 * c_in * kernel * kernel - 1) * c_out


def upsampler_cost(kind: str, channels: int, scale_factor: int = 2, **cfg) -> dict:
    """Parameters and FLOPs per *input* pixel of an upsampler, counted as in the CARAFE paper.

    Counting rules (they reproduce the paper's 74,148 params / 199,496 FLOPs for C=256, s=2,
    k_up=5, k_enc=3, C_m=64):

    - a conv output value costs 2*k*k*C_in - 1 FLOPs (the multiplies and the adds between
      them; biases are not counted);
    - the kernel softmax over T = k_up^2 taps costs 5T - 2 per output pixel and group (max,
      subtract, exp, sum, divide);
    - CARAFE reassembly costs 2*k_up^2 per output value;
    - bilinear costs 7 per output value (4 multiplies, 3 adds); nearest costs nothing;
    - a stride-2 deconv costs 2*C_in*k*k per input pixel and output channel.
    """
    s = scale_factor
    module = build_upsampler(kind, channels, scale_factor, **cfg)
    params = sum(p.numel() for p in module.parameters())
    if kind == "carafe":
        k_up, k_enc = module.up_kernel, module.encoder_kernel
        groups, c_m = module.up_group, module.compressed_channels
        taps = k_up * k_up
        flops = (
            _conv_flops(channels, c_m, 1)
            + _conv_flops(c_m, taps * groups * s * s, k_enc)
            + s * s * groups * (5 * taps - 2)
            + s * s * channels * 2 * taps
        )
    elif kind == "nearest":
        flops = 0
    elif kind == "bilinear":
        flops = 7 * channels * s * s
    elif kind == "deconv":
        k = module.kernel_size[0]
        flops = 2 * channels * k * k * channels
    else:  # pixel_shuffle
        k = module.upsample_conv.kernel_size[0]
        flops = _conv_flops(channels, channels * s * s, k)
    return {"params": int(params), "flops_per_input_pixel": int(flops)}
