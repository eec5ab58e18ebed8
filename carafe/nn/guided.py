"""What the guided upsamplers (FADE, SAPA) share: the check that the fine guide map fits the
coarse input, with a message that says what was expected."""

from __future__ import annotations

import torch

__all__ = ["check_guide"]


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
