"""Helpers and fixtures of the app tests: app/ on the import path (as ``streamlit run`` has it),
AppTest sessions, readers of what a page shows, and the default sample's analysis computed
outside the app to compare with."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP_DIR = ROOT / "app"
MAIN = str(APP_DIR / "main.py")
TIMEOUT = 120  # a cold model load + first analysis on a busy 2-core CPU
sys.path.insert(0, str(APP_DIR))  # the pages import state, texts, figures as the app does


def open_app(page: str | None = None) -> AppTest:
    """A fresh session; with ``page``, already switched to app_pages/<page>.py and run."""
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT)
    if page:
        at.run()  # switch_page needs one run of the entry point first
        at.switch_page(f"app_pages/{page}.py")
        at.run()
    return at


def serve_checkpoint(monkeypatch, name: str, model) -> None:
    """Make the app list ``name`` among the shipped checkpoints and load ``model`` for it (no
    file written); everything else loads as shipped."""
    import carafe.inspect.catalog as catalog

    real_list, real_load = catalog.list_pretrained, catalog.load_pretrained
    monkeypatch.setattr(catalog, "list_pretrained", lambda: sorted({*real_list(), name}))
    monkeypatch.setattr(
        catalog,
        "load_pretrained",
        lambda n="carafe", device="cpu": model if n == name else real_load(n),
    )


def assert_no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def assert_clean(at: AppTest) -> None:
    """No traceback and no st.error on the page."""
    assert_no_exception(at)
    assert not at.error, [e.value for e in at.error]


def figures_by_title(at: AppTest) -> dict[str, dict]:
    """Plotly figures on the page (their JSON specs), by title text."""
    out = {}
    for el in at.get("plotly_chart"):
        spec = json.loads(el.proto.spec)
        out[spec["layout"].get("title", {}).get("text", "")] = spec
    return out


def figure_titled(at: AppTest, prefix: str) -> dict:
    """The first figure whose title starts with ``prefix``."""
    for title, spec in figures_by_title(at).items():
        if title.startswith(prefix):
            return spec
    raise AssertionError(f"no figure titled {prefix!r}")


def plotly_array(value) -> np.ndarray:
    """An array from a figure's JSON: plotly sends numpy arrays as base64 typed arrays."""
    if isinstance(value, dict) and "bdata" in value:
        arr = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape", arr.shape)
        if isinstance(shape, str):  # plotly writes "5, 5"
            shape = tuple(int(v) for v in shape.split(","))
        return arr.reshape(shape)
    return np.asarray(value, dtype=float)


def heatmap_z(trace: dict) -> np.ndarray:
    """A heatmap trace's z as numpy."""
    return plotly_array(trace["z"])


def frames_with(at: AppTest, column: str) -> list:
    """The data frames on the page that have ``column`` (AppTest does not expose their keys)."""
    return [d.value for d in at.dataframe if column in d.value.columns]


def footer_text(at: AppTest) -> str:
    return next(c.value for c in at.main.caption if c.value.startswith("Paper:"))


def metric_value(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def markdown_starting(at: AppTest, start: str) -> str:
    return next(m.value for m in at.markdown if m.value.startswith(start))


def default_analysis():
    """The analysis of the default sample by the default checkpoint, computed outside the app."""
    import state  # app/state.py

    from carafe.inspect.analysis import analyze
    from carafe.inspect.catalog import load_model
    from carafe.inspect.imageio import load_image_file, sample_images

    image = load_image_file(next(iter(sample_images().values()))).array
    return analyze(load_model(state.checkpoint_names()[0]), image)


@pytest.fixture(scope="session")
def reference():
    """(analysis, finest step) of the default sample and checkpoint, computed outside the app."""
    a = default_analysis()
    return a, a.steps[-1]
