"""The wheel: only carafe/ (C++/CUDA sources inside it as carafe/_csrc/), installable into a
fresh virtual environment, and the build-at-first-import path works from there in any folder."""

import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCE_SUFFIXES = {".h", ".cpp", ".cu"}

CHECK = textwrap.dedent("""
    import torch
    import carafe.ops as ops
    from carafe.ops.op import CSRC_DIR
    from carafe.ops.reference import carafe_reference
    x = torch.randn(1, 8, 5, 6, dtype=torch.float64)
    m = torch.randn(1, 9, 10, 12, dtype=torch.float64).softmax(1)
    assert torch.allclose(ops.carafe(x, m, 3, 1, 2), carafe_reference(x, m, 3, 1, 2))
    print(ops.backend())
    print(CSRC_DIR)
""")


SITE_PACKAGES = "import sysconfig; print(sysconfig.get_paths()['purelib'])"


def _run(args, **kwargs):
    result = subprocess.run(args, capture_output=True, text=True, timeout=900, **kwargs)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    # Build from a copy, so the shared checkout gets no build/ or egg-info folders.
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    for name in ("carafe", "csrc"):
        shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp / "dist"), "./src"],
        cwd=tmp,
    )  # fmt: skip
    (path,) = (tmp / "dist").glob("carafe_explorer-*.whl")
    return path


def test_wheel_holds_only_carafe_with_the_sources_inside(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"carafe"}, top
    shipped = {n.removeprefix("carafe/_csrc/") for n in names if n.startswith("carafe/_csrc/")}
    expected = {
        p.relative_to(REPO / "csrc").as_posix()
        for p in (REPO / "csrc").rglob("*")
        if p.suffix in SOURCE_SUFFIXES
    }
    assert shipped == expected  # every source, and nothing else, under carafe/_csrc/
    packages = {
        p.parent.relative_to(REPO).as_posix() for p in (REPO / "carafe").rglob("__init__.py")
    }
    assert packages and all(f"{pkg}/__init__.py" in names for pkg in packages), packages
    assert "carafe/ops/op.py" in names


@pytest.mark.skipif(shutil.which(os.environ.get("CXX", "c++")) is None, reason="no C++ compiler")
def test_installed_wheel_builds_the_op_at_first_import_from_any_folder(wheel, tmp_path):
    # The new venv sees the running interpreter's packages (torch, numpy: no download) through a
    # .pth file, not --system-site-packages: from inside CI's venv that flag would inherit the
    # *base* Python's site-packages, which on a fresh machine hold no torch. A plain path line
    # is not scanned for .pth files, so the editable install of this checkout stays out of it;
    # the wheel goes into the venv's own site-packages, which come first.
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    python = venv / "bin" / "python"
    venv_site = _run([str(python), "-c", SITE_PACKAGES]).strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(venv_site) / "_running_interpreter.pth").write_text("\n".join(sorted(ours)) + "\n")
    _run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "CARAFE_BUILD_DIR": str(tmp_path / "cache")}
    env.pop("PYTHONPATH", None)
    backend, csrc = _run([str(python), "-c", CHECK], cwd=elsewhere, env=env).split()
    assert backend == "cpp"
    assert Path(csrc).parts[-2:] == ("carafe", "_csrc") and str(venv) in csrc
    assert not (Path(csrc).parent.parent / "csrc").exists()  # no top-level csrc/ installed
