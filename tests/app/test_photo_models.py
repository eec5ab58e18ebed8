"""Photos run the photo models, scenes the scene models: the sidebar's "Trained on" choice,
its one line, the pages that follow it, and what a photo model's pages do not show."""

from __future__ import annotations

import pytest

from carafe.inspect.catalog import TRAINED_FOR_PHOTOS, TRAINED_FOR_SCENES, photo_model_of
from tests.app.conftest import assert_clean, open_app

pytestmark = pytest.mark.skipif(
    photo_model_of("carafe") is None, reason="assets/carafe_photo.safetensors is not shipped"
)


def _sidebar_line(at) -> str:
    return next(c.value for c in at.sidebar.caption if c.value.startswith("Runs the"))


def _sample(at, name: str) -> None:
    at.sidebar.selectbox(key="sample").select(name).run()
    assert_clean(at)


def test_the_model_follows_the_image_and_the_learner_can_switch():
    at = open_app()
    at.run()
    assert_clean(at)
    assert at.session_state["sample"].startswith("shapes")  # the default sample is a scene
    assert at.sidebar.radio(key="model_task").value == "scenes"
    assert TRAINED_FOR_SCENES in _sidebar_line(at)
    _sample(at, "retina.jpg")
    assert at.sidebar.radio(key="model_task").value == "photos"
    line = _sidebar_line(at)
    assert "CARAFE photo model" in line and TRAINED_FOR_PHOTOS in line
    assert any("No segmentation overlay" in c.value for c in at.caption)
    # switch by hand: the scene model runs on the same photo, and says so
    at.sidebar.radio(key="model_task").set_value("scenes").run()
    assert_clean(at)
    assert TRAINED_FOR_SCENES in _sidebar_line(at)
    assert not any("No segmentation overlay" in c.value for c in at.caption)
    # a new image takes its own default again
    _sample(at, "shapes_2.png")
    assert at.sidebar.radio(key="model_task").value == "scenes"
    _sample(at, "coins.jpg")
    assert at.sidebar.radio(key="model_task").value == "photos"


def test_a_photo_measure_never_reads_predicted_classes():
    at = open_app()
    at.run()
    _sample(at, "coffee.jpg")
    table = next(m.value for m in at.markdown if "| weight on own region |" in m.value)
    assert "own object" not in table
    edges = next(m.value for m in at.markdown if m.value.startswith("**This image's edges.**"))
    assert "colour regions" in edges and "CARAFE puts" in edges
    assert not any("Predicted class" in c.value for c in at.caption)


@pytest.mark.parametrize(
    "page", ["network", "compressed", "compare", "how_it_works", "sandbox", "performance"]
)
def test_every_page_runs_with_the_photo_model(page):
    at = open_app()
    at.run()
    _sample(at, "coins.jpg")
    at.switch_page(f"app_pages/{page}.py").run()
    assert_clean(at)
    assert "CARAFE photo model" in _sidebar_line(at)
