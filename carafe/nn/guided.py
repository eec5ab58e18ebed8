"""What the guided kernel upsamplers (FADE, SAPA) share: their base class (arguments, checks,
forward, repr) and the check that the fine guide map fits the coarse input, with a message that
says what was expected."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["GuidedKernelUpsampler", "check_guide"]


def check_guide(
    x: torch.Tensor, guide: torch.Tensor, channels: int, guide_channels: int, scale: int
) -> None:
    """Raise ``ValueError`` unless x is (N, channels, H, W) and guide is
    (N, guide_channels, s*H, s*W) on x's device and dtype."""
    if not isinstance(guide, torch.Tensor):
        raise TypeError(f"guide must be the fine map as a torch.Tensor, got {type(guide).__name__}")
    if x.dim() != 4 or x.shape[1] != channels:
        raise ValueError(f"x must be (N, {channels}, H, W), got shape {tuple(x.shape)}")
    n, _, h, w = x.shape
    expected = (n, guide_channels, h * scale, w * scale)
    if tuple(guide.shape) != expected:
        raise ValueError(
            f"guide must be the fine map (N, C_guide, s*H, s*W) = {expected} for x of shape "
            f"{tuple(x.shape)} and scale_factor {scale}, got {tuple(guide.shape)}"
        )
    if guide.dtype != x.dtype or guide.device != x.device:
        raise ValueError(
            f"guide ({guide.dtype}, {guide.device}) must match x ({x.dtype}, {x.device})"
        )


class GuidedKernelUpsampler(nn.Module):
    """A k x k kernel upsampler that also reads a fine guide map: (x (N, C, H, W), guide
    (N, C_g, sH, sW)) -> (N, C, sH, sW). Subclasses build their layers after this constructor
    and define ``forward_with_intermediates(x, guide)``, whose result has ``output``."""

    def __init__(
        self,
        channels: int,
        scale_factor: int,
        up_kernel: int,
        embedding_dim: int,
        guide_channels: int | None = None,
    ) -> None:
        super().__init__()
        if up_kernel < 1 or up_kernel % 2 == 0:
            raise ValueError(f"up_kernel must be a positive odd integer, got {up_kernel}")
        if scale_factor < 1:
            raise ValueError(f"scale_factor must be >= 1, got {scale_factor}")
        self.channels = channels
        self.guide_channels = channels if guide_channels is None else guide_channels
        self.scale_factor = scale_factor
        self.up_kernel = up_kernel
        self.up_group = 1  # one kernel for all channels (the registry's kernels family)
        self.embedding_dim = embedding_dim

    def forward(self, x: torch.Tensor, guide: torch.Tensor) -> torch.Tensor:
        return self.forward_with_intermediates(x, guide).output

    def extra_repr(self) -> str:
        return (
            f"channels={self.channels}, guide_channels={self.guide_channels}, "
            f"scale_factor={self.scale_factor}, up_kernel={self.up_kernel}, "
            f"embedding_dim={self.embedding_dim}"
        )
