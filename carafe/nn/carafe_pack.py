"""CARAFEPack: CARAFE's kernel prediction (compressor, encoder, pixel shuffle, softmax) and the
reassembly op, as one module.

It follows mmcv's module of the same name: same arguments, same initialisation and the same
state-dict keys (``channel_compressor.*``, ``content_encoder.*``), so weights saved from
mmcv/mmdetection load with ``strict=True`` and give the same output.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from carafe.ops import carafe
from carafe.ops.geometry import taps_inside_map

__all__ = ["CARAFEIntermediates", "CARAFEPack"]


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
        # A what-if, off in the paper, mmcv and every shipped model: give the kernel weight that
        # falls on the op's zero padding back to the taps inside the map (renormalised).
        self.renormalise_inside = False
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
        if self.renormalise_inside:
            k, s = self.up_kernel, self.scale_factor
            inside = torch.from_numpy(taps_inside_map(k, s, x.shape[-2], x.shape[-1]))
            kernels = kernels * inside.to(kernels.device, kernels.dtype)
            kernels = kernels / kernels.sum(dim=2, keepdim=True)
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
