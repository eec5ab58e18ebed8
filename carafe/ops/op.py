"""The CARAFE operator: ``carafe.ops.carafe`` and the registered ``torch.ops.carafe.carafe``.

This module defines the op (its schema, written only here), its fake (meta) implementation,
its autograd and its FLOP formulas. Its kernels come from :mod:`carafe.ops._build`: on import
the C++ (and, with a CUDA build of torch and a GPU, the CUDA) kernels of ``csrc/`` are built
into a cache or loaded from it, and where that is impossible the plain-PyTorch reference serves
the same op, with one warning that says why; ``backend()`` tells which path is live.
"""

from __future__ import annotations

import math
import sys

import torch
from torch.utils.flop_counter import register_flop_formula

from carafe.ops import _build
from carafe.ops._build import CSRC_DIR  # where the kernels' sources are (tests/test_wheel.py)
from carafe.ops.reference import carafe_for_export, check_carafe_args, check_grad_output

__all__ = ["carafe", "backend", "CSRC_DIR"]

# The schema, in one place. It is defined here, before the compiled library is loaded, which
# only implements it (TORCH_LIBRARY_IMPL in csrc/); the reference fallback implements the
# same definition. The module keeps the Library alive: dropping it would drop the ops.
_LIBRARY = torch.library.Library("carafe", "DEF")
_LIBRARY.define(
    "carafe(Tensor features, Tensor masks, int kernel_size, int group_size, "
    "int scale_factor) -> Tensor"
)
_LIBRARY.define(
    "carafe_backward(Tensor grad_output, Tensor features, Tensor masks, "
    "int kernel_size, int group_size, int scale_factor) -> (Tensor, Tensor)"
)
_BACKEND = _build.load_kernels(_LIBRARY, stacklevel=2)  # the warning points at the importer


@torch.library.register_fake("carafe::carafe")
def _carafe_fake(features, masks, kernel_size, group_size, scale_factor):
    check_carafe_args(features, masks, kernel_size, group_size, scale_factor)
    n, c, h, w = features.shape
    return features.new_empty((n, c, h * scale_factor, w * scale_factor))


@torch.library.register_fake("carafe::carafe_backward")
def _carafe_backward_fake(grad_output, features, masks, kernel_size, group_size, scale_factor):
    check_carafe_args(features, masks, kernel_size, group_size, scale_factor)
    check_grad_output(grad_output, features, scale_factor)
    return (features.new_empty(features.shape), masks.new_empty(masks.shape))


# Autograd. CARAFE is bilinear: out = C(X, M), linear in the features X and in the masks M.
# Its backward returns gX = Bx(gO, M) and gM = Bm(gO, X), again bilinear, so every derivative
# of any order is another call of carafe or carafe_backward (C++ speed, any depth):
#   <Bx(gO, M), ggX> = <gO, C(ggX, M)>   and   <Bm(gO, X), ggM> = <gO, C(X, ggM)>,
# so for incoming gradients (ggX, ggM) of (gX, gM):
#   d/dgO = C(ggX, M) + C(X, ggM),   d/dX = Bx(gO, ggM),   d/dM = Bm(gO, ggX),
# and the last two are exactly carafe_backward(gO, ggX, ggM).


def _setup_context(ctx, inputs, output):
    features, masks, kernel_size, group_size, scale_factor = inputs
    ctx.save_for_backward(features, masks)
    ctx.geometry = (kernel_size, group_size, scale_factor)


def _backward(ctx, grad_output):
    features, masks = ctx.saved_tensors
    grad_features, grad_masks = torch.ops.carafe.carafe_backward(
        grad_output, features, masks, *ctx.geometry
    )
    return grad_features, grad_masks, None, None, None


def _setup_backward_context(ctx, inputs, output):
    grad_output, features, masks, kernel_size, group_size, scale_factor = inputs
    ctx.save_for_backward(grad_output, features, masks)
    ctx.geometry = (kernel_size, group_size, scale_factor)


def _double_backward(ctx, grad_grad_features, grad_grad_masks):
    grad_output, features, masks = ctx.saved_tensors
    geometry = ctx.geometry
    if grad_grad_features is None:
        grad_grad_features = torch.zeros_like(features)
    if grad_grad_masks is None:
        grad_grad_masks = torch.zeros_like(masks)
    carafe_op = torch.ops.carafe.carafe
    d_grad_output = carafe_op(grad_grad_features, masks, *geometry) + carafe_op(
        features, grad_grad_masks, *geometry
    )
    d_features, d_masks = torch.ops.carafe.carafe_backward(
        grad_output, grad_grad_features, grad_grad_masks, *geometry
    )
    return d_grad_output, d_features, d_masks, None, None, None


torch.library.register_autograd("carafe::carafe", _backward, setup_context=_setup_context)
torch.library.register_autograd(
    "carafe::carafe_backward", _double_backward, setup_context=_setup_backward_context
)


# FLOP formulas for torch.utils.flop_counter.FlopCounterMode (and the tools built on it), in
# its convention for convolutions: a multiply-add is 2 FLOPs. They are registered on the op
# itself, whichever implementation serves it: under the C++/CUDA kernels and under the
# reference fallback alike, FlopCounterMode sees one carafe call and counts it with these
# formulas (it does not look inside the op, so the fallback's unfold and products are not
# counted on top).


@register_flop_formula(torch.ops.carafe.carafe)
def _carafe_flop(features_shape, masks_shape, kernel_size, *args, out_shape, **kwargs) -> int:
    """Forward: each output value is a k*k-tap weighted sum, 2*k*k FLOPs, so
    2*k*k*N*C*(H*s)*(W*s) in all (the FLOP counter hands in shapes, not tensors)."""
    return 2 * kernel_size * kernel_size * math.prod(out_shape)


@register_flop_formula(torch.ops.carafe.carafe_backward)
def _carafe_backward_flop(
    grad_output_shape, features_shape, masks_shape, kernel_size, *args, out_shape, **kwargs
) -> int:
    """Backward: the gradient wrt the features and the one wrt the masks, each 2*k*k FLOPs per
    output value. The op always computes both (its schema has no output mask, unlike
    aten.convolution_backward), so both are always counted: 4*k*k*N*C*(H*s)*(W*s)."""
    return 2 * (2 * kernel_size * kernel_size * math.prod(grad_output_shape))


def carafe(
    features: torch.Tensor,
    masks: torch.Tensor,
    kernel_size: int,
    group_size: int,
    scale_factor: int,
) -> torch.Tensor:
    """Content-aware reassembly of features (CARAFE), differentiable in both inputs.

    Args:
        features: (N, C, H, W) input map (float32/float64 on CPU; also float16/bfloat16 on
            CUDA, where they accumulate in float32; CPU half types are computed in float32).
        masks: (N, G*k*k, H*s, W*s) reassembly kernels, normally softmax-normalised over the
            k*k taps; channel (g*k + dy)*k + dx weighs the tap (dy, dx) for group g.
        kernel_size: k, the odd reassembly window size (k_up in the paper).
        group_size: G, channel groups sharing one kernel (C must be divisible by G).
        scale_factor: s, the integer upsampling factor.

    Returns:
        (N, C, H*s, W*s) tensor. Same argument order, meaning and tensor convention as mmcv's
        ``carafe`` and the paper's official code.

    Raises:
        ValueError / TypeError naming the argument when shapes, dtypes or devices do not fit.
    """
    check_carafe_args(features, masks, kernel_size, group_size, scale_factor)
    if _in_onnx_export():  # standard ONNX operators, no custom op (see carafe_for_export)
        return carafe_for_export(features, masks, kernel_size, group_size, scale_factor)
    return torch.ops.carafe.carafe(features, masks, kernel_size, group_size, scale_factor)


def _in_onnx_export() -> bool:
    onnx = sys.modules.get("torch.onnx")  # never imported here just to ask
    return onnx is not None and onnx.is_in_onnx_export()


def backend() -> str:
    """Which implementation is live: "cpp", "cuda+cpp" or "reference (<why>)"."""
    return _BACKEND
