"""app/widgets.py through the pages that share its pieces: one wording of the guard for a step
without a kernel upsampler, and one channel picker (the step's channels by energy)."""

from __future__ import annotations

import pytest

from tests.app.conftest import assert_clean, open_app

GUARDED = ["explore", "compressed", "how_it_works", "sandbox"]


def _with_checkpoint(monkeypatch, name: str, page: str):
    """``page`` with the shipped twin ``name`` offered and chosen in the sidebar (the sidebar
    offers CARAFE checkpoints only; every step of a twin upsamples with its own kind)."""
    import carafe.inspect.catalog as catalog

    monkeypatch.setattr(catalog, "model_names", lambda: ["carafe", name])
    at = open_app()
    at.session_state["checkpoint"] = name
    at.run()
    at.switch_page(f"app_pages/{page}.py").run()
    assert_clean(at)
    return at


@pytest.mark.parametrize("page", GUARDED)
def test_a_step_without_kernels_is_said_one_way_and_stops_the_page(monkeypatch, page):
    import widgets

    at = _with_checkpoint(monkeypatch, "bilinear", page)
    said = [i.value for i in at.info if "predicts no kernels" in i.value]
    step = type("Step", (), {"kind": "bilinear"})()
    assert said == [widgets.no_kernels_note(step)]
    assert not at.get("plotly_chart")  # the page stopped at the guard


def test_compare_says_it_the_same_way_where_the_differences_would_be(monkeypatch):
    import widgets

    at = _with_checkpoint(monkeypatch, "bilinear", "compare")
    step = type("Step", (), {"kind": "bilinear"})()
    assert widgets.no_kernels_note(step) in [i.value for i in at.info]


def test_explore_and_compare_offer_the_same_channels_by_energy(reference):
    import widgets

    _, step = reference
    explore = open_app("explore")
    compare = open_app("compare")
    offered = explore.selectbox(key="explore_channel").options
    assert offered == compare.selectbox(key="compare_channel").options
    assert offered == [f"channel {c}" for c in widgets.channel_choices(step)]
    assert len(offered) == min(widgets.CHANNELS_SHOWN, step.input.shape[0])
