"""SAPA: Similarity-Aware Point Affiliation (Lu, Liu, Ye, Cao; NeurIPS 2022).

SAPA's kernel is a similarity, not a prediction: each output pixel's fine query (from the
guide, the encoder map) is compared with the coarse keys of the k x k window around its source
pixel, and the softmax of those dot products reassembles the coarse map x:

    q = Linear_q(LayerNorm_y(guide))                  (per fine pixel, E values)
    k = Linear_k(LayerNorm_x(x))                      (per coarse pixel, E values)
    logits[tap] = q . k[window tap]                   (0 for taps outside the map)
    out = carafe(x, softmax over the taps of logits)  (x itself, not normalised)

A tap outside the map gets the logit 0, as in the authors' CUDA kernel: it still draws softmax
weight, which then falls on the reassembly's zero padding. The logits come from
``carafe.ops.window_similarity`` (the CARAFE op's own mask gradient), the output from
``carafe.ops.carafe``.

Parameter names follow the authors' SAPA.py, so their state dicts load strictly: ``norm_y.*``,
``norm_x.*``, ``q.*``, ``k.*``; so does the initialisation (linear weights truncated-normal with
std 0.02, zero biases; LayerNorm weight 1, bias 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from carafe.nn.guided import GuidedKernelUpsampler, check_guide
from carafe.ops import carafe, window_similarity

__all__ = ["SAPA", "SAPAIntermediates"]


@dataclass
class SAPAIntermediates:
    """What SAPA computes for one input.

    queries:       (N, E, sH, sW) fine queries.
    keys:          (N, E, H, W) coarse keys.
    kernel_logits: (N, k*k, sH, sW) query-key similarities, before the softmax.
    kernels:       (N, k*k, sH, sW) reassembly kernels (CARAFE's mask layout).
    output:        (N, C, sH, sW).
    """

    queries: torch.Tensor
    keys: torch.Tensor
    kernel_logits: torch.Tensor
    kernels: torch.Tensor
    output: torch.Tensor


def _channels_last(layer, x: torch.Tensor) -> torch.Tensor:
    """Apply a per-pixel layer (LayerNorm, Linear) over the channels of an (N, C, H, W) map."""
    return layer(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class SAPA(GuidedKernelUpsampler):
    """Similarity-guided kernel upsampler: (x (N, C, H, W), guide (N, C_g, sH, sW)) -> (N, C, sH, sW).

    Args:
        channels: C of the coarse map x.
        scale_factor: s (the authors use 2).
        up_kernel: k, the odd window (default 5).
        embedding_dim: E, the query and key length (default 64).
        guide_channels: C_g of the fine guide; defaults to C.
        qkv_bias: whether the query and key projections have biases (default True).
    """

    def __init__(
        self,
        channels: int,
        scale_factor: int = 2,
        up_kernel: int = 5,
        embedding_dim: int = 64,
        guide_channels: int | None = None,
        qkv_bias: bool = True,
    ) -> None:
        super().__init__(channels, scale_factor, up_kernel, embedding_dim, guide_channels)
        self.norm_y = nn.LayerNorm(self.guide_channels)
        self.norm_x = nn.LayerNorm(channels)
        self.q = nn.Linear(self.guide_channels, embedding_dim, bias=qkv_bias)
        self.k = nn.Linear(channels, embedding_dim, bias=qkv_bias)
        for linear in (self.q, self.k):
            nn.init.trunc_normal_(linear.weight, std=0.02)
            if linear.bias is not None:
                nn.init.zeros_(linear.bias)

    def forward_with_intermediates(self, x: torch.Tensor, guide: torch.Tensor) -> SAPAIntermediates:
        """Upsample ``x`` guided by ``guide``; every intermediate (see :class:`SAPAIntermediates`)."""
        check_guide(x, guide, self.channels, self.guide_channels, self.scale_factor)
        k, s = self.up_kernel, self.scale_factor
        queries = _channels_last(lambda t: self.q(self.norm_y(t)), guide)
        keys = _channels_last(lambda t: self.k(self.norm_x(t)), x)
        logits = window_similarity(queries.contiguous(), keys.contiguous(), k, s)
        kernels = logits.softmax(dim=1)
        output = carafe(x, kernels, k, 1, s)
        return SAPAIntermediates(queries, keys, logits, kernels, output)
