"""The CARAFE operator: ``carafe.ops.carafe`` and the registered ``torch.ops.carafe.carafe``.

On import, the C++ (and, with a CUDA build of torch and a GPU, the CUDA) kernels in ``csrc/``
(``carafe/_csrc/`` in an installed wheel) are compiled with ninja into a cache folder keyed by
a hash of the sources, the compiler flags, the torch/Python versions and the CPU's
instruction-set features; later imports load the cached library in milliseconds.
If no compiler is available or the build fails, the same op is registered on top of the
plain-PyTorch reference and one warning says why and how to fix it; ``backend()`` tells
which path is live.

Environment variables:
    CARAFE_BUILD_DIR        cache folder (default ~/.cache/carafe-explorer)
    CARAFE_FORCE_REFERENCE  set to 1 to skip the build and use the reference
    CARAFE_VERBOSE_BUILD    set to 1 to print the compiler's output
"""

from __future__ import annotations

import hashlib
import math
import os
import platform
import shutil
import sys
import warnings
from pathlib import Path

import torch
from torch.utils.flop_counter import register_flop_formula

from carafe.ops.reference import (
    carafe_for_export,
    carafe_reference,
    carafe_reference_backward,
    check_carafe_args,
    check_grad_output,
)

__all__ = ["carafe", "backend", "CSRC_DIR"]


def _find_sources() -> Path:
    """The C++/CUDA sources: carafe/_csrc/ in an installed wheel, csrc/ in a checkout."""
    package = Path(__file__).resolve().parents[1]  # carafe/
    for candidate in (package / "_csrc", package.parent / "csrc"):
        if (candidate / "carafe.cpp").is_file():
            return candidate
    return package / "_csrc"  # missing: the build fails and says so, the reference takes over


CSRC_DIR = _find_sources()
_CPU_SOURCES = ("carafe.cpp", "cpu/carafe_kernel.cpp", "cpu/carafe_backward.cpp")
_CUDA_SOURCES = ("cuda/carafe_cuda.cpp", "cuda/carafe_kernel.cu")
# -march=native is safe: the library is built on, and cached for, the machine that runs it.
_CFLAGS = ("-O3", "-march=native", "-fopenmp")
_CUDA_CFLAGS = ("-O3",)
_FIX_HINT = (
    "Install a C++ compiler (e.g. `apt-get install g++` or Xcode's command line tools) and "
    "ninja (`pip install ninja`), then restart Python. Set CARAFE_VERBOSE_BUILD=1 to see the "
    "compiler output."
)

_OP_SCHEMA = (
    "carafe(Tensor features, Tensor masks, int kernel_size, int group_size, "
    "int scale_factor) -> Tensor"
)
_BACKWARD_SCHEMA = (
    "carafe_backward(Tensor grad_output, Tensor features, Tensor masks, "
    "int kernel_size, int group_size, int scale_factor) -> (Tensor, Tensor)"
)


def _cuda_wanted() -> bool:
    from torch.utils import cpp_extension

    return (
        bool(torch.version.cuda)
        and torch.cuda.is_available()
        and cpp_extension.CUDA_HOME is not None
    )


def _cpu_features() -> tuple:
    """What -march=native compiles for: torch's detected vector capability and, on Linux, the
    CPU's instruction-set flags, so a shared cache never hands an AVX-512 build to a CPU
    without it (platform.processor() is empty on Linux)."""
    flags: tuple[str, ...] = ()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith(("flags", "Features")):  # x86, ARM
                    flags = tuple(sorted(set(line.split(":", 1)[1].split())))
                    break
    except OSError:  # not Linux
        flags = (platform.processor(),)
    return (torch.backends.cpu.get_cpu_capability(), flags)


def _build_key(with_cuda: bool) -> str:
    """Hash of everything that changes the built library."""
    digest = hashlib.sha256()
    for path in sorted(CSRC_DIR.rglob("*")):
        if path.is_file() and path.suffix in {".h", ".cpp", ".cu"}:
            digest.update(path.relative_to(CSRC_DIR).as_posix().encode())
            digest.update(path.read_bytes())
    digest.update(
        repr(
            (
                torch.__version__,
                sys.version_info[:2],
                platform.machine(),
                _cpu_features(),
                _CFLAGS,
                _CUDA_CFLAGS,
                with_cuda,
            )
        ).encode()
    )
    return digest.hexdigest()[:16]


def _build_and_load(with_cuda: bool) -> None:
    """Compile (or reuse the cached build of) csrc/ and load it into torch.ops."""
    from torch.utils import cpp_extension

    name = f"carafe_ext_{_build_key(with_cuda)}"
    root = Path(os.environ.get("CARAFE_BUILD_DIR", Path.home() / ".cache" / "carafe-explorer"))
    build_dir = root / name
    library = build_dir / f"{name}.so"
    done_marker = build_dir / "BUILD_OK"
    if done_marker.exists() and library.exists():
        torch.ops.load_library(str(library))  # warm start: no ninja run at all
        return
    compiler = os.environ.get("CXX", "c++")
    if shutil.which(compiler) is None:
        raise RuntimeError(f"no C++ compiler found (looked for {compiler!r} on PATH)")
    cpp_extension.verify_ninja_availability()
    build_dir.mkdir(parents=True, exist_ok=True)
    sources = _CPU_SOURCES + (_CUDA_SOURCES if with_cuda else ())
    cpp_extension.load(
        name=name,
        sources=[str(CSRC_DIR / s) for s in sources],
        extra_cflags=list(_CFLAGS),
        extra_cuda_cflags=list(_CUDA_CFLAGS),
        build_directory=str(build_dir),
        extra_ldflags=["-fopenmp"],  # libgomp: the process already has torch's, which is reused
        is_python_module=False,
        verbose=os.environ.get("CARAFE_VERBOSE_BUILD") == "1",
    )
    done_marker.write_text("ok\n")


def _short_reason(error: BaseException) -> str:
    """First meaningful line of a build error (ninja's full log is long)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    return (errors or lines or [type(error).__name__])[0][:300]


def _load_backend() -> str:
    """Build/load the extension; returns the backend description."""
    if os.environ.get("CARAFE_FORCE_REFERENCE") == "1":
        return "reference (CARAFE_FORCE_REFERENCE=1 is set)"
    with_cuda = _cuda_wanted()
    try:
        _build_and_load(with_cuda)
        return "cuda+cpp" if with_cuda else "cpp"
    except Exception as error:  # any build/load failure falls back below
        reason = _short_reason(error)
    if with_cuda:  # the CUDA part may be what failed: keep the fast CPU kernel at least
        try:
            _build_and_load(False)
            return f"cpp (CUDA kernels unavailable: {reason}; CUDA tensors use the reference)"
        except Exception as error:
            reason = _short_reason(error)
    return f"reference (the C++ extension could not be built: {reason})"


def _reference_backward(grad_output, features, masks, kernel_size, group_size, scale_factor):
    return carafe_reference_backward(
        grad_output, features, masks, kernel_size, group_size, scale_factor
    )


def _reference_forward(features, masks, kernel_size, group_size, scale_factor):
    with torch.no_grad():
        return carafe_reference(features, masks, kernel_size, group_size, scale_factor)


_BACKEND = _load_backend()
_python_library = None  # keeps Python-side registrations alive
if _BACKEND.startswith("reference"):
    _hint = "Unset it to use the C++ kernels." if "FORCE" in _BACKEND else _FIX_HINT
    warnings.warn(
        f"CARAFE is using the slow plain-PyTorch reference: {_BACKEND[11:-1]}. " + _hint,
        RuntimeWarning,
        stacklevel=2,
    )
    _python_library = torch.library.Library("carafe", "DEF")
    _python_library.define(_OP_SCHEMA)
    _python_library.define(_BACKWARD_SCHEMA)
    _python_library.impl("carafe", _reference_forward, "CompositeExplicitAutograd")
    _python_library.impl("carafe_backward", _reference_backward, "CompositeExplicitAutograd")
elif "CUDA tensors use the reference" in _BACKEND:
    _python_library = torch.library.Library("carafe", "IMPL")
    _python_library.impl("carafe", _reference_forward, "CUDA")
    _python_library.impl("carafe_backward", _reference_backward, "CUDA")


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
