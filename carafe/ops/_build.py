"""Building the C++/CUDA kernels of ``csrc/`` and falling back to the reference without them.

The sources are ``carafe/_csrc/`` in an installed wheel and ``csrc/`` in a checkout. They are
compiled with ninja into a cache folder named by a hash of the library's sources, every header,
the compiler flags, the torch/Python versions and the CPU's instruction-set features, so a
later process loads the cached library in milliseconds and never needs a compiler.

Two ways to fill the cache:
- first import (the default): ``import carafe.ops`` builds what is missing;
- ahead of time: the ``carafe-build`` command (:func:`main`) builds it once, e.g. while making
  a deployment image on the machine type that will run it, so run time needs no compiler.

If no compiler is available or the build fails, the op runs on the plain-PyTorch reference and
one RuntimeWarning says why and how to fix it.

Environment variables:
    CARAFE_BUILD_DIR        cache folder (default ~/.cache/carafe-explorer)
    CARAFE_FORCE_REFERENCE  set to 1 to skip the build and use the reference
    CARAFE_VERBOSE_BUILD    set to 1 to print the compiler's output
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import sys
import warnings
from pathlib import Path

import torch

from carafe.ops.reference import carafe_reference, carafe_reference_backward

__all__ = ["CSRC_DIR", "load_kernels", "load_testing_ops", "main"]


def _find_sources() -> Path:
    """The C++/CUDA sources: carafe/_csrc/ in an installed wheel, csrc/ in a checkout."""
    package = Path(__file__).resolve().parents[1]  # carafe/
    for candidate in (package / "_csrc", package.parent / "csrc"):
        if (candidate / "carafe.cpp").is_file():
            return candidate
    return package / "_csrc"  # missing: the build fails and says so, the reference takes over


CSRC_DIR = _find_sources()
# The production library: what torch.ops.carafe runs on.
_CPU_SOURCES = ("carafe.cpp", "cpu/carafe_kernel.cpp", "cpu/carafe_backward.cpp")
_CUDA_SOURCES = ("cuda/carafe_cuda.cpp", "cuda/carafe_kernel.cu")
# A library of its own for the test-only torch.ops.carafe_testing, built only when tests ask.
_TESTING_SOURCES = ("carafe_testing.cpp",)
# -march=native is safe: the library is built on, and cached for, the machine that runs it.
_CFLAGS = ("-O3", "-march=native", "-fopenmp")
_CUDA_CFLAGS = ("-O3",)
_FIX_HINT = (
    "Install a C++ compiler (e.g. `apt-get install g++` or Xcode's command line tools) and "
    "ninja (`pip install ninja`), then restart Python, or run `carafe-build` to see why the "
    "build fails. Set CARAFE_VERBOSE_BUILD=1 to see the compiler output."
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


def _build_key(sources: tuple[str, ...]) -> str:
    """Hash of everything that changes a library built from ``sources``: those files, every
    header (any of them may be included), the flags and the machine."""
    digest = hashlib.sha256()
    for path in sorted(CSRC_DIR.rglob("*")):
        relative = path.relative_to(CSRC_DIR).as_posix()
        if path.is_file() and (path.suffix == ".h" or relative in sources):
            digest.update(relative.encode())
            digest.update(path.read_bytes())
    machine = (torch.__version__, sys.version_info[:2], platform.machine(), _cpu_features())
    digest.update(repr((machine, _CFLAGS, _CUDA_CFLAGS, sources)).encode())
    return digest.hexdigest()[:16]


def _cache_root() -> Path:
    return Path(os.environ.get("CARAFE_BUILD_DIR", Path.home() / ".cache" / "carafe-explorer"))


def _library_path(prefix: str, sources: tuple[str, ...]) -> Path:
    """Where the library built from ``sources`` lives in the cache (it may not exist yet)."""
    name = f"{prefix}_{_build_key(sources)}"
    return _cache_root() / name / f"{name}.so"


def _production_sources(with_cuda: bool) -> tuple[str, ...]:
    return _CPU_SOURCES + (_CUDA_SOURCES if with_cuda else ())


def production_library(with_cuda: bool) -> Path:
    """Path of the cached production library (built or not)."""
    return _library_path("carafe_ext", _production_sources(with_cuda))


def _build(prefix: str, sources: tuple[str, ...], verbose: bool = False) -> Path:
    """Compile ``sources`` into the cache unless a finished build is there; returns the .so."""
    from torch.utils import cpp_extension

    library = _library_path(prefix, sources)
    build_dir = library.parent
    done_marker = build_dir / "BUILD_OK"  # written last: a killed build is never half-loaded
    if done_marker.exists() and library.exists():
        return library  # warm start: no compiler, no ninja run at all
    compiler = os.environ.get("CXX", "c++")
    if shutil.which(compiler) is None:
        raise RuntimeError(f"no C++ compiler found (looked for {compiler!r} on PATH)")
    cpp_extension.verify_ninja_availability()
    build_dir.mkdir(parents=True, exist_ok=True)
    cpp_extension.load(
        name=library.stem,
        sources=[str(CSRC_DIR / s) for s in sources],
        extra_cflags=list(_CFLAGS),
        extra_cuda_cflags=list(_CUDA_CFLAGS),
        build_directory=str(build_dir),
        extra_ldflags=["-fopenmp"],  # libgomp: the process already has torch's, which is reused
        is_python_module=False,
        verbose=verbose or os.environ.get("CARAFE_VERBOSE_BUILD") == "1",
    )  # this also loads the library into the process (no harm: it is loaded next anyway)
    done_marker.write_text("ok\n")
    return library


def _build_and_load(with_cuda: bool) -> None:
    """Build (or reuse the cached build of) the production library and load its kernels."""
    torch.ops.load_library(str(_build("carafe_ext", _production_sources(with_cuda))))


def _short_reason(error: BaseException) -> str:
    """First meaningful line of a build error (ninja's full log is long)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    return (errors or lines or [type(error).__name__])[0][:300]


def _try_kernels() -> str:
    """Build/load the kernels; returns the backend description (see carafe.ops.backend)."""
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


def _reference_forward(features, masks, kernel_size, group_size, scale_factor):
    with torch.no_grad():  # autograd is registered on the op itself, above this kernel
        return carafe_reference(features, masks, kernel_size, group_size, scale_factor)


def load_kernels(library: torch.library.Library, stacklevel: int = 1) -> str:
    """Give the ops defined on ``library`` their kernels: the compiled ones, or the reference
    for whatever could not be built (with one RuntimeWarning). Returns the backend."""
    backend = _try_kernels()
    if backend.startswith("reference"):
        hint = "Unset it to use the C++ kernels." if "FORCE" in backend else _FIX_HINT
        warnings.warn(
            f"CARAFE is using the slow plain-PyTorch reference: {backend[11:-1]}. " + hint,
            RuntimeWarning,
            stacklevel=stacklevel + 1,
        )
        dispatch_key = "CompositeExplicitAutograd"  # every device
    elif "CUDA tensors use the reference" in backend:
        dispatch_key = "CUDA"
    else:
        return backend
    library.impl("carafe", _reference_forward, dispatch_key)
    library.impl("carafe_backward", carafe_reference_backward, dispatch_key)
    return backend


def load_testing_ops() -> None:
    """Build (once, into the cache) and load the test-only ``torch.ops.carafe_testing`` ops."""
    torch.ops.load_library(str(_build("carafe_testing", _TESTING_SOURCES)))


def main(argv: list[str] | None = None) -> int:
    """``carafe-build``: compile the kernels into the cache now, not at first import."""
    parser = argparse.ArgumentParser(
        prog="carafe-build",
        description="Compile the CARAFE C++ (and, with a CUDA torch and a GPU, CUDA) kernels into "
        "the cache (CARAFE_BUILD_DIR, default ~/.cache/carafe-explorer), so that later imports "
        "load them without a compiler. Run it on the machine type that will use the cache: the "
        "build is tuned for, and keyed by, this CPU.",
    )
    parser.add_argument("--verbose", action="store_true", help="print the compiler's output")
    parser.add_argument(
        "--testing", action="store_true", help="also build the test-only carafe_testing ops"
    )
    args = parser.parse_args(argv)
    targets = [("carafe_ext", _production_sources(_cuda_wanted()))]
    if args.testing:
        targets.append(("carafe_testing", _TESTING_SOURCES))
    for prefix, sources in targets:
        try:  # importing this module already built what it could: this is then a cache hit
            print(_build(prefix, sources, verbose=args.verbose))
        except Exception as error:
            print(f"carafe-build: building {prefix} failed: {error}", file=sys.stderr)
            return 1
    return 0
