"""Plain-PyTorch CARAFE: the readable definition, the test oracle and the fallback.

Convention (the paper's official code and mmcv):
    features  X: (N, C, H, W)
    masks     W: (N, G*k*k, H*s, W*s), already normalised over the k*k taps
    output     : (N, C, H*s, W*s)

    out[n, c, y, x] = sum_{dy, dx in [0, k)} W[n, (g*k + dy)*k + dx, y, x]
                      * X[n, c, y//s + dy - r, x//s + dx - r]

with r = (k - 1) // 2, g = c // (C // G) and zeros outside X.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["carafe_reference", "check_carafe_args"]

_FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def check_carafe_args(
    features: torch.Tensor,
    masks: torch.Tensor,
    kernel_size: int,
    group_size: int,
    scale_factor: int,
) -> None:
    """Raise a clear ``ValueError``/``TypeError`` if the CARAFE arguments do not fit together.

    Every check names the offending argument and says what was expected, so a user can
    fix the call without reading the kernel.
    """
    if not isinstance(features, torch.Tensor):
        raise TypeError(f"features must be a torch.Tensor, got {type(features).__name__}")
    if not isinstance(masks, torch.Tensor):
        raise TypeError(f"masks must be a torch.Tensor, got {type(masks).__name__}")
    for name, value in (
        ("kernel_size", kernel_size),
        ("group_size", group_size),
        ("scale_factor", scale_factor),
    ):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be a positive odd integer, got {kernel_size}")
    if group_size < 1:
        raise ValueError(f"group_size must be >= 1, got {group_size}")
    if scale_factor < 1:
        raise ValueError(f"scale_factor must be >= 1, got {scale_factor}")
    if features.dim() != 4:
        raise ValueError(
            f"features must be 4-D (N, C, H, W), got {features.dim()}-D shape {tuple(features.shape)}"
        )
    if masks.dim() != 4:
        raise ValueError(
            f"masks must be 4-D (N, G*k*k, H*s, W*s), got {masks.dim()}-D shape {tuple(masks.shape)}"
        )
    if features.dtype not in _FLOAT_DTYPES:
        raise TypeError(f"features must be a floating-point tensor, got dtype {features.dtype}")
    if masks.dtype != features.dtype:
        raise TypeError(f"masks dtype {masks.dtype} does not match features dtype {features.dtype}")
    if masks.device != features.device:
        raise ValueError(
            f"masks are on {masks.device} but features are on {features.device}; "
            "move both to the same device"
        )
    n, c, h, w = features.shape
    if c % group_size != 0:
        raise ValueError(f"features channels ({c}) must be divisible by group_size ({group_size})")
    expected_mask_channels = group_size * kernel_size * kernel_size
    if masks.shape[1] != expected_mask_channels:
        raise ValueError(
            f"masks must have group_size*kernel_size**2 = {expected_mask_channels} channels "
            f"(group_size={group_size}, kernel_size={kernel_size}), got {masks.shape[1]}"
        )
    if masks.shape[0] != n:
        raise ValueError(f"masks batch size ({masks.shape[0]}) != features batch size ({n})")
    expected_hw = (h * scale_factor, w * scale_factor)
    if tuple(masks.shape[2:]) != expected_hw:
        raise ValueError(
            f"masks spatial size must be scale_factor x features' = {scale_factor} x {(h, w)} = "
            f"{expected_hw}, got {tuple(masks.shape[2:])}"
        )


def carafe_reference(
    features: torch.Tensor,
    masks: torch.Tensor,
    kernel_size: int,
    group_size: int,
    scale_factor: int,
) -> torch.Tensor:
    """CARAFE in plain PyTorch (unfold + broadcast), differentiable by autograd.

    Same signature and convention as :func:`carafe.ops.carafe` and mmcv's ``carafe``.
    It materialises every k*k window at output resolution (about k*k times the output's
    memory), so it is meant as the definition and the oracle, not for speed.
    """
    check_carafe_args(features, masks, kernel_size, group_size, scale_factor)
    n, c, h, w = features.shape
    k, g, s = kernel_size, group_size, scale_factor
    out_h, out_w = h * s, w * s
    if n == 0:
        return features.new_empty((0, c, out_h, out_w))
    r = (k - 1) // 2
    # windows[n, c, dy*k+dx, i, j] = X[n, c, i + dy - r, j + dx - r] (zero padded)
    windows = F.unfold(features, kernel_size=k, padding=r).view(n, g, c // g, k * k, h, w)
    # Each output pixel (y, x) reads the window of source pixel (y // s, x // s).
    windows = windows.repeat_interleave(s, dim=4).repeat_interleave(s, dim=5)
    weights = masks.view(n, g, 1, k * k, out_h, out_w)
    return (windows * weights).sum(dim=3).reshape(n, c, out_h, out_w)
