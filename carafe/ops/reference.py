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

__all__ = [
    "carafe_for_export",
    "carafe_reference",
    "carafe_reference_backward",
    "check_carafe_args",
    "check_grad_output",
]

_FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def _expect_value(ok, message: str) -> None:
    """``ValueError(message)`` unless ``ok``; via ``torch._check_value`` so that under fake
    tensors (torch.compile, torch.export) a symbolic size becomes a guard, not a crash."""
    torch._check_value(ok, lambda: message)


def _expect_type(ok, message: str) -> None:
    """``TypeError(message)`` unless ``ok`` (``torch._check_type``)."""
    torch._check_type(ok, lambda: message)


def _expect_tensors(**named) -> None:
    """``TypeError`` naming the first argument that is not a tensor."""
    for name, value in named.items():
        _expect_type(
            isinstance(value, torch.Tensor),
            f"{name} must be a torch.Tensor, got {type(value).__name__}",
        )


def _expect_ints(**named) -> None:
    """``TypeError`` naming the first argument that is not an int (bools are not)."""
    for name, value in named.items():
        _expect_type(
            isinstance(value, int) and not isinstance(value, bool),
            f"{name} must be an int, got {type(value).__name__} ({value!r})",
        )


def check_carafe_args(
    features: torch.Tensor,
    masks: torch.Tensor,
    kernel_size: int,
    group_size: int,
    scale_factor: int,
) -> None:
    """Raise a clear ``ValueError``/``TypeError`` if the CARAFE arguments do not fit together.

    Every check names the offending argument and says what was expected, so a user can
    fix the call without reading the kernel. The same checks (and words) run in eager mode,
    in the reference, and in the op's fake implementation, so ``torch.compile`` and
    ``torch.export`` reject what eager rejects; the C++ op says the same in C++.
    """
    _expect_tensors(features=features, masks=masks)
    _expect_ints(kernel_size=kernel_size, group_size=group_size, scale_factor=scale_factor)
    _expect_value(
        kernel_size >= 1 and kernel_size % 2 == 1,
        f"kernel_size must be a positive odd integer, got {kernel_size}",
    )
    _expect_value(group_size >= 1, f"group_size must be >= 1, got {group_size}")
    _expect_value(scale_factor >= 1, f"scale_factor must be >= 1, got {scale_factor}")
    _expect_value(
        features.dim() == 4,
        f"features must be 4-D (N, C, H, W), got {features.dim()}-D shape {tuple(features.shape)}",
    )
    _expect_value(
        masks.dim() == 4,
        f"masks must be 4-D (N, G*k*k, H*s, W*s), got {masks.dim()}-D shape {tuple(masks.shape)}",
    )
    _expect_type(
        features.dtype in _FLOAT_DTYPES,
        f"features must be a floating-point tensor, got dtype {features.dtype}",
    )
    _expect_type(
        masks.dtype == features.dtype,
        f"masks dtype {masks.dtype} does not match features dtype {features.dtype}",
    )
    _expect_value(
        masks.device == features.device,
        f"masks are on {masks.device} but features are on {features.device}; "
        "move both to the same device",
    )
    n, c, h, w = features.shape
    _expect_value(
        c % group_size == 0,
        f"features channels ({c}) must be divisible by group_size ({group_size})",
    )
    expected_mask_channels = group_size * kernel_size * kernel_size
    _expect_value(
        masks.shape[1] == expected_mask_channels,
        f"masks must have group_size*kernel_size**2 = {expected_mask_channels} channels "
        f"(group_size={group_size}, kernel_size={kernel_size}), got {masks.shape[1]}",
    )
    _expect_value(
        masks.shape[0] == n, f"masks batch size ({masks.shape[0]}) != features batch size ({n})"
    )
    expected_hw = (h * scale_factor, w * scale_factor)
    for axis in (2, 3):
        _expect_value(
            masks.shape[axis] == expected_hw[axis - 2],
            f"masks spatial size must be scale_factor x features' = {scale_factor} x {(h, w)} = "
            f"{expected_hw}, got {tuple(masks.shape[2:])}",
        )


def check_grad_output(grad_output: torch.Tensor, features: torch.Tensor, scale_factor: int) -> None:
    """The backward's extra check: grad_output has the output's shape, dtype and device."""
    n, c, h, w = features.shape
    expected = (n, c, h * scale_factor, w * scale_factor)
    _expect_value(
        grad_output.dim() == 4
        and all(size == want for size, want in zip(grad_output.shape, expected, strict=True)),
        f"grad_output must have the output's shape {expected}, got {tuple(grad_output.shape)}",
    )
    _expect_type(
        grad_output.dtype == features.dtype,
        f"grad_output dtype {grad_output.dtype} does not match features dtype {features.dtype}",
    )
    _expect_value(
        grad_output.device == features.device,
        "grad_output is on another device than features",
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


def carafe_reference_backward(
    grad_output: torch.Tensor,
    features: torch.Tensor,
    masks: torch.Tensor,
    kernel_size: int,
    group_size: int,
    scale_factor: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The two gradients of :func:`carafe_reference`, written out (no autograd), so the fallback
    op can compute them where autograd is off (below the dispatcher's autograd layer):

        dL/dW[n, (g*k + dy)*k + dx, y, x] = sum_{c in g} dL/dout[n, c, y, x] * X[n, c, iy, ix]
        dL/dX[n, c, iy, ix] = sum over the (y, x, dy, dx) that read (iy, ix) of W * dL/dout
    """
    check_carafe_args(features, masks, kernel_size, group_size, scale_factor)
    check_grad_output(grad_output, features, scale_factor)
    n, c, h, w = features.shape
    k, g, s = kernel_size, group_size, scale_factor
    if n == 0 or c == 0:
        return torch.zeros_like(features), torch.zeros_like(masks)
    r = (k - 1) // 2
    out_h, out_w = h * s, w * s
    go = grad_output.reshape(n, g, c // g, 1, out_h, out_w)
    windows = F.unfold(features, kernel_size=k, padding=r).view(n, g, c // g, k * k, h, w)
    windows = windows.repeat_interleave(s, dim=4).repeat_interleave(s, dim=5)
    grad_masks = (windows * go).sum(dim=2).reshape(masks.shape)
    # Each tap's contribution, summed over the s x s output pixels of its source pixel, then
    # folded back onto the input pixel that the tap reads.
    per_tap = masks.view(n, g, 1, k * k, out_h, out_w) * go
    per_tap = per_tap.view(n, c * k * k, h, s, w, s).sum(dim=(3, 5))
    grad_features = F.fold(per_tap.view(n, c * k * k, h * w), (h, w), kernel_size=k, padding=r)
    return grad_features, grad_masks


def carafe_for_export(
    features: torch.Tensor,
    masks: torch.Tensor,
    kernel_size: int,
    group_size: int,
    scale_factor: int,
) -> torch.Tensor:
    """The same sum as :func:`carafe_reference` in operators every exporter knows: the form that
    ONNX export traces (``carafe.ops.carafe`` switches to it while exporting), so the graph
    holds standard ONNX operators (Pad, Transpose, Reshape, Slice, Concat, MatMul, Add) and no
    custom op.

    Output pixel (i*s + a, j*s + b) is phase (a, b) of source pixel (i, j), and all s*s phases
    of a source pixel read the same k*k window. One window row dy at a time: the k shifted
    slices of the zero-padded, channels-last features (k copies at input resolution, never
    k*k) make a (k, C/G) matrix per source pixel, and one batched MatMul with that row's
    (s*s, k) mask weights sums its k taps for all phases and channels at once; the k row
    results are added. MatMul does the multiply-adds that a Mul and an Add per tap would
    otherwise stream through memory k*k times, which is what makes onnxruntime fast here.
    """
    check_carafe_args(features, masks, kernel_size, group_size, scale_factor)
    n, c, h, w = features.shape
    k, g, s = kernel_size, group_size, scale_factor
    r = (k - 1) // 2
    # (n, g, h + 2r, w + 2r, C/G): channels last, so a window row is a matrix per pixel
    padded = F.pad(features, (r, r, r, r)).reshape(n, g, c // g, h + 2 * r, w + 2 * r)
    padded = padded.permute(0, 1, 3, 4, 2)
    # masks[n, (g*k + dy)*k + dx, i*s + a, j*s + b] -> weights[n, g, dy, i, j, a*s + b, dx]
    weights = masks.reshape(n, g, k, k, h, s, w, s).permute(0, 1, 2, 4, 6, 5, 7, 3)
    weights = weights.reshape(n, g, k, h, w, s * s, k)
    out = None
    for dy in range(k):
        rows = padded[:, :, dy : dy + h]
        window_row = torch.stack([rows[:, :, :, dx : dx + w] for dx in range(k)], dim=4)
        term = weights[:, :, dy] @ window_row  # (n, g, h, w, s*s, C/G)
        out = term if out is None else out + term
    # (n, g, h, w, a, b, C/G) -> (n, g, C/G, h, a, w, b): each phase beside its source pixel
    out = out.reshape(n, g, h, w, s, s, c // g).permute(0, 1, 6, 2, 4, 3, 5)
    return out.reshape(n, c, h * s, w * s)
