"""The console scripts of pyproject.toml exist, point at each tool's main, and run; the same
tools still run as ``python -m carafe.tools.NAME`` / ``carafe.training.NAME``."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from importlib.metadata import entry_points

import pytest

SCRIPTS = {
    "carafe-bench": "carafe.tools.bench",
    "carafe-train": "carafe.training.train",
    "carafe-evaluate": "carafe.training.evaluate",
    "carafe-onnx": "carafe.tools.onnx_export",
    "carafe-convert-mmdet": "carafe.tools.convert_mmdet",
}


def test_every_console_script_points_at_its_tools_main():
    found = {ep.name: ep for ep in entry_points(group="console_scripts") if ep.name in SCRIPTS}
    assert set(found) == set(SCRIPTS)
    for name, module in SCRIPTS.items():
        assert found[name].value == f"{module}:main"
        assert found[name].load() is importlib.import_module(module).main


@pytest.mark.parametrize("name", ["carafe-evaluate", "carafe-convert-mmdet"])
def test_scripts_and_modules_answer_help(name):
    script = shutil.which(name) or str(__import__("pathlib").Path(sys.executable).with_name(name))
    by_script = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=300)
    by_module = subprocess.run(
        [sys.executable, "-m", SCRIPTS[name], "--help"], capture_output=True, text=True, timeout=300
    )
    assert by_script.returncode == 0 and by_module.returncode == 0, by_script.stderr[-2000:]
    assert f"usage: {name}" in by_script.stdout and f"usage: {name}" in by_module.stdout
