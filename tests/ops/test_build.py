"""How the extension is built and what happens when it cannot be."""

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

import carafe.ops as ops
from carafe.ops import _build

REPO = Path(__file__).resolve().parents[2]
needs_cpp = pytest.mark.skipif(
    not ops.backend().startswith(("cpp", "cuda")), reason="needs the C++ build"
)

SCRIPT = textwrap.dedent("""
    import warnings, torch
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import carafe.ops as ops
        from carafe.ops.reference import carafe_reference
        x = torch.randn(1, 4, 3, 5, dtype=torch.float64, requires_grad=True)
        m = torch.randn(1, 9, 6, 10, dtype=torch.float64).softmax(1).requires_grad_()
        out = ops.carafe(x, m, 3, 1, 2)
        out.sum().backward()
        assert torch.allclose(out, carafe_reference(x, m, 3, 1, 2))
        assert torch.autograd.gradcheck(lambda a, b: ops.carafe(a, b, 3, 1, 2), (x, m))
    messages = [str(w.message) for w in caught if "CARAFE" in str(w.message)]
    print(ops.backend())
    print(len(messages))
    print(messages[0] if messages else "")
""")


def run_isolated(tmp_path, **env):
    full_env = {**os.environ, "CARAFE_BUILD_DIR": str(tmp_path / "build"), **env}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=full_env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()


def test_missing_compiler_falls_back_to_reference_with_one_warning(tmp_path):
    backend, count, message = run_isolated(tmp_path, CXX="/nonexistent/c++")
    assert backend.startswith("reference (the C++ extension could not be built: no C++ compiler")
    assert count == "1"
    assert "slow plain-PyTorch reference" in message and "Install a C++ compiler" in message


def test_forced_reference_mode(tmp_path):
    backend, count, message = run_isolated(tmp_path, CARAFE_FORCE_REFERENCE="1")
    assert backend == "reference (CARAFE_FORCE_REFERENCE=1 is set)"
    assert count == "1" and "Unset it" in message


@needs_cpp
def test_warm_load_is_cached_and_fast():
    # The library this process loaded was cached; loading it again skips ninja entirely.
    library = _build.production_library(_build._cuda_wanted())
    assert (library.parent / "BUILD_OK").exists() and library.exists()
    start = time.perf_counter()
    _build._build_and_load(_build._cuda_wanted())
    assert time.perf_counter() - start < 0.5


def test_the_op_schema_is_written_once():
    # Python (op.py) defines the ops; the C++ sources only implement them.
    sources = [p for p in _build.CSRC_DIR.rglob("*") if p.suffix in {".h", ".cpp", ".cu"}]
    assert not [p.name for p in sources if "TORCH_LIBRARY(carafe," in p.read_text()]
    schema = "carafe(Tensor features, Tensor masks, int kernel_size"
    python = [p.name for p in (REPO / "carafe").rglob("*.py") if schema in p.read_text()]
    assert python == ["op.py"]
    assert str(torch.ops.carafe.carafe.default._schema).startswith("carafe::" + schema)


@needs_cpp
def test_testing_ops_live_only_in_their_own_library(index_ops):
    # The production library holds no trace of carafe_testing; the testing library (which the
    # index_ops fixture has built) does.
    production = _build.production_library(_build._cuda_wanted()).read_bytes()
    testing = _build._library_path("carafe_testing", _build._TESTING_SOURCES)
    assert b"carafe_testing" not in production and b"carafe_testing" in testing.read_bytes()
    # A fresh process has the public ops but not the testing ones until it loads them.
    script = textwrap.dedent("""
        import torch
        import carafe.ops
        from carafe.ops import _build
        def has(name):
            try:
                return torch._C._dispatch_has_kernel_for_dispatch_key(name, "CPU")
            except RuntimeError:  # "operator ... does not exist"
                return False
        print(has("carafe::carafe"), has("carafe_testing::index_forward"))
        _build.load_testing_ops()
        print(has("carafe_testing::index_forward"), has("carafe_testing::index_backward"))
    """)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "False", "True", "True"]


def _entry_point(name: str) -> str:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"][name]


@pytest.mark.skipif(shutil.which(os.environ.get("CXX", "c++")) is None, reason="no C++ compiler")
def test_carafe_build_fills_the_cache_so_import_needs_no_compiler(tmp_path):
    module, function = _entry_point("carafe-build").split(":")
    command = f"import sys, {module} as m; sys.exit(m.{function}(['--testing']))"
    cache = tmp_path / "build"
    env = {**os.environ, "CARAFE_BUILD_DIR": str(cache), "CARAFE_FORCE_REFERENCE": "1"}
    # Forced reference: importing carafe.ops builds nothing, so the command does all the work: a
    # full compile (a minute or two on a quiet machine; the long timeout is for busy ones).
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", command],
        env=env, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    built = [Path(line) for line in result.stdout.split()]
    assert [p.stem.rsplit("_", 1)[0] for p in built] == ["carafe_ext", "carafe_testing"], built
    assert all(p.exists() and (p.parent / "BUILD_OK").exists() for p in built)
    before = {p: p.stat().st_mtime_ns for p in cache.rglob("*")}
    # No compiler from here on: the import must load what the command built (not fall back).
    backend, count = run_isolated(tmp_path, CXX="/nonexistent/c++")[:2]
    assert backend in {"cpp", "cuda+cpp"} and count == "0", backend
    assert {p: p.stat().st_mtime_ns for p in cache.rglob("*")} == before  # nothing rebuilt


def test_carafe_build_reports_a_failed_build(tmp_path):
    module, function = _entry_point("carafe-build").split(":")
    env = {**os.environ, "CARAFE_BUILD_DIR": str(tmp_path / "build"), "CXX": "/nonexistent/c++"}
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", f"import {module} as m; print(m.{function}([]))"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0 and result.stdout.strip() == "1", result.stderr
    assert "carafe-build: building carafe_ext failed: no C++ compiler" in result.stderr


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is not installed")
def test_cuda_kernels_compile_with_nvcc_for_sm80_and_sm90(tmp_path):
    # No GPU or CUDA torch is needed: the .cu file includes no torch header.
    result = subprocess.run(
        [
            "nvcc",
            "-std=c++17",
            "-O3",
            "-c",
            str(_build.CSRC_DIR / "cuda" / "carafe_kernel.cu"),
            "-gencode",
            "arch=compute_80,code=sm_80",
            "-gencode",
            "arch=compute_90,code=sm_90",
            "-o",
            str(tmp_path / "carafe_kernel.o"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "carafe_kernel.o").stat().st_size > 10_000
