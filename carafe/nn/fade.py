"""FADE: Fusing the Assets of Decoder and Encoder (Lu, Liu, Ye, Cao; ECCV 2022, IJCV 2024).

Like CARAFE, FADE predicts a k x k kernel per output pixel and reassembles the coarse decoder
map x with it (``carafe.ops.carafe``). Unlike CARAFE, the kernel also reads the fine encoder map
(the guide), and a gate mixes the guide itself back in:

    logits = conv3(conv1_en(guide))  +  nearest_s(conv3(conv1_de(x)))       (same 3x3 weights)
    kernels = softmax over the k*k taps of logits
    gate    = sigmoid(nearest_s(gate_conv(x)))                               (one channel)
    out     = gate * guide + (1 - gate) * carafe(x, kernels)

The authors call the first line the semi-shift convolution: one 3x3 conv, shared by the two
resolutions, so each output pixel's logit sums the 3x3 encoder window centred on that pixel and
the 3x3 decoder window centred on its source pixel. Their code builds the encoder half from four
shifted, zero-padded copies and a stride-2 conv, which is the same as a padding-1 conv evaluated
at every fine pixel (what is written here, for any H and W; theirs needs square maps). The
conv's bias is added in both halves, so it counts twice, as in their code.

Parameter names follow the authors' mmcv version (FADE_H2L.py), so their state dicts load
strictly: ``gate_generator.conv.*``, ``kernel_generator.conv1_en.*``,
``kernel_generator.conv1_de.weight``, ``kernel_generator.conv2_kernels``,
``kernel_generator.conv2_bias``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from carafe.nn.guided import GuidedKernelUpsampler, check_guide
from carafe.ops import carafe

__all__ = ["FADE", "FADEIntermediates"]


@dataclass
class FADEIntermediates:
    """What FADE computes for one input.

    kernel_logits: (N, k*k, sH, sW) semi-shift logits, before the softmax.
    kernels:       (N, k*k, sH, sW) reassembly kernels (CARAFE's mask layout).
    gate:          (N, 1, sH, sW) the weight of the guide in the output, in (0, 1).
    reassembled:   (N, C, sH, sW) carafe(x, kernels), the decoder's share before the gate.
    output:        (N, C, sH, sW) gate * guide + (1 - gate) * reassembled.
    """

    kernel_logits: torch.Tensor
    kernels: torch.Tensor
    gate: torch.Tensor
    reassembled: torch.Tensor
    output: torch.Tensor


class _GateGenerator(nn.Module):
    """A 1x1 conv of the decoder map to one channel, repeated s x s, through a sigmoid."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, 1, 1)
        nn.init.xavier_uniform_(self.conv.weight)
        nn.init.zeros_(self.conv.bias)

    def forward(self, x: torch.Tensor, scale: int) -> torch.Tensor:
        return torch.sigmoid(F.interpolate(self.conv(x), scale_factor=scale, mode="nearest"))


class _SemiShift(nn.Module):
    """The kernel generator: 1x1 embeddings of both maps, then the shared 3x3 logit conv."""

    def __init__(self, guide_channels: int, channels: int, embedding_dim: int, up_kernel: int):
        super().__init__()
        self.conv1_en = nn.Conv2d(guide_channels, embedding_dim, 1)
        self.conv1_de = nn.Conv2d(channels, embedding_dim, 1, bias=False)
        self.conv2_kernels = nn.Parameter(torch.empty(up_kernel * up_kernel, embedding_dim, 3, 3))
        self.conv2_bias = nn.Parameter(torch.zeros(up_kernel * up_kernel))
        # The authors' initialisation: xavier-uniform 1x1 convs, xavier-normal logit conv.
        nn.init.xavier_uniform_(self.conv1_en.weight)
        nn.init.zeros_(self.conv1_en.bias)
        nn.init.xavier_uniform_(self.conv1_de.weight)
        nn.init.xavier_normal_(self.conv2_kernels)

    def forward(self, guide: torch.Tensor, x: torch.Tensor, scale: int) -> torch.Tensor:
        fine = F.conv2d(self.conv1_en(guide), self.conv2_kernels, self.conv2_bias, padding=1)
        coarse = F.conv2d(self.conv1_de(x), self.conv2_kernels, self.conv2_bias, padding=1)
        return fine + F.interpolate(coarse, scale_factor=scale, mode="nearest")


class FADE(GuidedKernelUpsampler):
    """Guided kernel upsampler: (x (N, C, H, W), guide (N, C, sH, sW)) -> (N, C, sH, sW).

    Args:
        channels: C of the coarse decoder map x.
        scale_factor: s (the authors use 2).
        up_kernel: k, the odd reassembly window (default 5).
        embedding_dim: channels of the 1x1 embeddings (default 64).

    The gate adds the guide itself to the output, so the guide has C channels too.
    """

    def __init__(
        self,
        channels: int,
        scale_factor: int = 2,
        up_kernel: int = 5,
        embedding_dim: int = 64,
    ) -> None:
        super().__init__(channels, scale_factor, up_kernel, embedding_dim)
        self.gate_generator = _GateGenerator(channels)
        self.kernel_generator = _SemiShift(channels, channels, embedding_dim, up_kernel)

    def forward_with_intermediates(self, x: torch.Tensor, guide: torch.Tensor) -> FADEIntermediates:
        """Upsample ``x`` guided by ``guide``; every intermediate (see :class:`FADEIntermediates`)."""
        check_guide(x, guide, self.channels, self.guide_channels, self.scale_factor)
        s, k = self.scale_factor, self.up_kernel
        logits = self.kernel_generator(guide, x, s)
        kernels = logits.softmax(dim=1)
        gate = self.gate_generator(x, s)
        reassembled = carafe(x, kernels, k, 1, s)
        output = gate * guide + (1 - gate) * reassembled
        return FADEIntermediates(logits, kernels, gate, reassembled, output)
