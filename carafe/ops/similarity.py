"""Window similarity: ``carafe.ops.window_similarity`` and the registered
``torch.ops.carafe.window_similarity``, the kernel logits of SAPA-style upsamplers.

For fine queries Q (N, E, sH, sW) and coarse keys K (N, E, H, W) it returns, for every output
pixel (y, x) and tap (dy, dx) of a k x k window,

    sim[n, dy*k + dx, y, x] = sum_e Q[n, e, y, x] * K[n, e, y//s + dy - r, x//s + dx - r],

with r = (k - 1) // 2 and 0 where the tap falls outside K (so that tap's logit is 0, not minus
infinity: it still takes part in the softmax, as in SAPA's CUDA kernel).

No new kernel is needed. The CARAFE reassembly out = C(X, M) is linear in its masks M, and its
mask gradient Bm(gO, X)[tap, y, x] = sum_c gO[c, y, x] * X[c, y//s + dy - r, x//s + dx - r]
is exactly this sum with gO = Q and X = K. So the forward is the op's own (C++/CUDA)
``carafe_backward`` and the backward is two more of its calls:

    d/dQ = C(K, gS)        (reassemble the keys with the incoming gradient as masks)
    d/dK = Bx(Q, gS)       (the op's feature gradient, with gS as masks)
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import register_flop_formula

# carafe.ops.op defines torch.ops.carafe.carafe and carafe_backward, which this op calls
from carafe.ops.op import _in_onnx_export
from carafe.ops.reference import (
    _FLOAT_DTYPES,
    _expect_ints,
    _expect_tensors,
    _expect_type,
    _expect_value,
)

__all__ = ["check_similarity_args", "window_similarity", "window_similarity_reference"]


def check_similarity_args(
    queries: torch.Tensor, keys: torch.Tensor, kernel_size: int, scale_factor: int
) -> None:
    """Raise a clear ``ValueError``/``TypeError`` naming the argument that does not fit."""
    _expect_tensors(queries=queries, keys=keys)
    _expect_ints(kernel_size=kernel_size, scale_factor=scale_factor)
    _expect_value(
        kernel_size >= 1 and kernel_size % 2 == 1,
        f"kernel_size must be a positive odd integer, got {kernel_size}",
    )
    _expect_value(scale_factor >= 1, f"scale_factor must be >= 1, got {scale_factor}")
    _expect_value(
        queries.dim() == 4,
        f"queries must be 4-D (N, E, H*s, W*s), got shape {tuple(queries.shape)}",
    )
    _expect_value(keys.dim() == 4, f"keys must be 4-D (N, E, H, W), got shape {tuple(keys.shape)}")
    _expect_type(
        queries.dtype in _FLOAT_DTYPES,
        f"queries must be a floating-point tensor, got dtype {queries.dtype}",
    )
    _expect_type(
        keys.dtype == queries.dtype,
        f"keys dtype {keys.dtype} does not match queries dtype {queries.dtype}",
    )
    _expect_value(
        keys.device == queries.device,
        f"keys are on {keys.device} but queries are on {queries.device}",
    )
    n, e, h, w = keys.shape
    expected = (n, e, h * scale_factor, w * scale_factor)
    _expect_value(
        tuple(queries.shape) == expected,
        f"queries must be (N, E, H*s, W*s) = {expected} for keys {tuple(keys.shape)} and "
        f"scale_factor {scale_factor}, got {tuple(queries.shape)}",
    )


_LIBRARY = torch.library.Library("carafe", "FRAGMENT")
_LIBRARY.define(
    "window_similarity(Tensor queries, Tensor keys, int kernel_size, int scale_factor) -> Tensor"
)


def _similarity_impl(queries, keys, kernel_size, scale_factor):
    n, _, big_h, big_w = queries.shape
    taps = kernel_size * kernel_size
    unused_masks = queries.new_zeros((n, taps, big_h, big_w))
    # The mask gradient of carafe(keys, M) for grad_output = queries (see the module docstring).
    return torch.ops.carafe.carafe_backward(
        queries, keys, unused_masks, kernel_size, 1, scale_factor
    )[1]


# One implementation for every device: it only calls the CARAFE op, which has CPU and CUDA
# kernels (or the reference). Autograd is registered below, so this sits below autograd.
_LIBRARY.impl("window_similarity", _similarity_impl, "CompositeExplicitAutograd")


@torch.library.register_fake("carafe::window_similarity")
def _similarity_fake(queries, keys, kernel_size, scale_factor):
    check_similarity_args(queries, keys, kernel_size, scale_factor)
    n, _, big_h, big_w = queries.shape
    return queries.new_empty((n, kernel_size * kernel_size, big_h, big_w))


def _setup_context(ctx, inputs, output):
    queries, keys, kernel_size, scale_factor = inputs
    ctx.save_for_backward(queries, keys)
    ctx.geometry = (kernel_size, 1, scale_factor)


def _backward(ctx, grad_similarity):
    queries, keys = ctx.saved_tensors
    grad_queries = torch.ops.carafe.carafe(keys, grad_similarity, *ctx.geometry)
    grad_keys = torch.ops.carafe.carafe_backward(queries, keys, grad_similarity, *ctx.geometry)[0]
    return grad_queries, grad_keys, None, None


torch.library.register_autograd(
    "carafe::window_similarity", _backward, setup_context=_setup_context
)


@register_flop_formula(torch.ops.carafe.window_similarity)
def _similarity_flop(queries_shape, keys_shape, kernel_size, *args, out_shape, **kwargs) -> int:
    """Each of the k*k logits of an output pixel is an E-long dot product: 2*E FLOPs in
    FlopCounterMode's convention (a multiply-add is 2), so 2*k*k*N*E*(H*s)*(W*s) in all."""
    return 2 * kernel_size * kernel_size * math.prod(queries_shape)


def window_similarity_reference(
    queries: torch.Tensor, keys: torch.Tensor, kernel_size: int, scale_factor: int
) -> torch.Tensor:
    """The same sum in standard operators: the readable definition, and the form ONNX export
    traces (Pad, Slice, Reshape, Expand, Mul, ReduceSum, Concat: no custom op). One tap at a
    time: the zero-padded keys shifted by (dy, dx), repeated s×s, dotted with the queries."""
    check_similarity_args(queries, keys, kernel_size, scale_factor)
    n, e, h, w = keys.shape
    k, s, r = kernel_size, scale_factor, (kernel_size - 1) // 2
    padded = F.pad(keys, (r, r, r, r))
    fine = queries.reshape(n, e, h, s, w, s)
    taps = []
    for dy in range(k):
        for dx in range(k):
            shifted = padded[:, :, dy : dy + h, dx : dx + w].reshape(n, e, h, 1, w, 1)
            taps.append((fine * shifted).sum(dim=1).reshape(n, 1, h * s, w * s))
    return torch.cat(taps, dim=1)


def window_similarity(
    queries: torch.Tensor, keys: torch.Tensor, kernel_size: int, scale_factor: int
) -> torch.Tensor:
    """Dot products of each fine query with the k x k coarse keys around its source pixel.

    Args:
        queries: (N, E, H*s, W*s), one E-vector per output pixel.
        keys: (N, E, H, W), one E-vector per coarse pixel.
        kernel_size: k, the odd window size.
        scale_factor: s.

    Returns:
        (N, k*k, H*s, W*s) logits in the CARAFE mask layout (channel dy*k + dx), 0 for taps
        outside the key map. Differentiable in both inputs.
    """
    check_similarity_args(queries, keys, kernel_size, scale_factor)
    if _in_onnx_export():
        return window_similarity_reference(queries, keys, kernel_size, scale_factor)
    return torch.ops.carafe.window_similarity(queries, keys, kernel_size, scale_factor)
