"""How the extension is built and what happens when it cannot be."""

import os
import shutil
import subprocess
import sys
import textwrap
import time

import pytest

import carafe.ops.op as ops

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


@pytest.mark.skipif(not ops.backend().startswith(("cpp", "cuda")), reason="needs the C++ build")
def test_warm_load_is_cached_and_fast():
    # The library this process loaded was cached; loading it again skips ninja entirely.
    key = ops._build_key(ops._cuda_wanted())
    root = os.environ.get("CARAFE_BUILD_DIR", os.path.expanduser("~/.cache/carafe-explorer"))
    assert os.path.exists(os.path.join(root, f"carafe_ext_{key}", "BUILD_OK"))
    start = time.perf_counter()
    ops._build_and_load(ops._cuda_wanted())
    assert time.perf_counter() - start < 0.5


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is not installed")
def test_cuda_kernels_compile_with_nvcc_for_sm80_and_sm90(tmp_path):
    # No GPU or CUDA torch is needed: the .cu file includes no torch header.
    result = subprocess.run(
        [
            "nvcc",
            "-std=c++17",
            "-O3",
            "-c",
            str(ops.CSRC_DIR / "cuda" / "carafe_kernel.cu"),
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
