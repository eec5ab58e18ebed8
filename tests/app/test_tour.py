"""The guided tour and the pinned-pixels panel, driven by AppTest: every step's page, its
computed sentence, the pixel kept as one image point, End, an upload, and the pins' kernels
against carafe.inspect's on the same image."""

from __future__ import annotations

import numpy as np
from streamlit.testing.v1 import AppTest

from carafe.inspect.imageio import sample_images, sample_scene
from carafe.inspect.pins.choice import choose_pins
from carafe.inspect.pixel import kernel_view
from carafe.inspect.regions import image_alignment
from carafe.inspect.tour.steps import STEPS
from carafe.inspect.tour.words import kernel_sentence, pixel_sentence
from tests.app.conftest import assert_clean, figures_by_title, heatmap_z, open_app

TITLES = {"explore": "Explore", "how_it_works": "How it works", "sandbox": "Sandbox"}


def _page(at: AppTest) -> str:
    """Which tour page is showing, read from its title."""
    title = at.title[0].value
    return next(page for page, start in TITLES.items() if title.startswith(start))


def _banner(at: AppTest) -> str:
    """The banner's computed sentence (its st.info)."""
    step = STEPS[at.session_state["tour_step"]]
    texts = [i.value for i in at.info]
    assert texts, f"no banner sentence on step {step.key}"
    return texts[0]


def _start() -> AppTest:
    at = open_app()
    at.run()
    at.sidebar.button(key="tour_start").click().run()
    assert_clean(at)
    return at


def _point(at: AppTest) -> tuple[int, int]:
    return int(at.session_state["sel_y"]), int(at.session_state["sel_x"])


def test_next_through_every_step_keeps_the_pixel(reference):
    a, step = reference
    at = _start()
    # the tour starts where Explore does: the image's typical straddling pixel
    oy, ox = image_alignment(a, labels=sample_scene(next(iter(sample_images())))[1]).typical
    assert _point(at) == step.geometry.image_centre(oy, ox)  # the tour picked its pixel
    point = _point(at)
    for i, s in enumerate(STEPS):
        assert at.session_state["tour_step"] == i
        assert _page(at) == s.page, (i, s.key)
        assert _point(at) == point, f"step {s.key} moved the pixel"
        text = _banner(at)
        if s.key == "kernel":
            assert text == kernel_sentence(kernel_view(step, oy, ox))
        elif s.page == "how_it_works":
            assert at.session_state["hiw_stage"] == s.stage
            assert text == pixel_sentence(s.key, step, oy, ox)
        elif s.page == "sandbox":
            assert at.session_state["sb_pattern"] == "Upload"
            assert "CARAFE's largest change" in text
        at.button(key="tour_next").click().run()
        assert_clean(at)
    assert _page(at) == "explore" and "tour_step" not in at.session_state
    assert _point(at) == point


def test_back_and_end(reference):
    at = _start()
    at.button(key="tour_next").click().run()
    at.button(key="tour_next").click().run()
    assert _page(at) == "how_it_works"
    at.button(key="tour_back").click().run()
    assert_clean(at)
    assert _page(at) == "explore" and at.session_state["tour_step"] == 1
    at.button(key="tour_next").click().run()
    at.button(key="tour_end").click().run()
    assert_clean(at)
    assert _page(at) == "explore" and "tour_step" not in at.session_state
    assert "tour_next" not in [b.key for b in at.button]


def test_sidebar_resumes_and_ends_the_tour_keeping_the_sidebar():
    at = open_app()
    at.run()
    at.sidebar.selectbox(key="sample").select("cat.jpg").run()
    at.sidebar.selectbox(key="step_pos").select(1).run()
    at.switch_page("app_pages/compare.py").run()
    at.sidebar.button(key="tour_start").click().run()
    assert_clean(at)
    assert _page(at) == "explore"
    at.button(key="tour_next").click().run()
    at.button(key="tour_next").click().run()  # How it works
    at.switch_page("app_pages/compare.py").run()
    assert "tour_next" not in [b.key for b in at.button]  # no banner off the tour's page
    at.sidebar.button(key="tour_resume").click().run()
    assert_clean(at)
    assert _page(at) == "how_it_works"
    at.sidebar.button(key="tour_end_sidebar").click().run()
    assert _page(at) == "explore" and "tour_step" not in at.session_state
    # a page switch made by the script keeps the sidebar's choices
    assert at.session_state["sample"] == "cat.jpg" and at.session_state["step_pos"] == 1


def _pin_figures(at: AppTest) -> dict[str, dict]:
    return {t: f for t, f in figures_by_title(at).items() if t.startswith("Pin ")}


def _check_pins(at: AppTest, step, pins) -> None:
    figures = _pin_figures(at)
    assert len(figures) == len(pins), list(figures)
    for (oy, ox), (title, spec) in zip(pins, sorted(figures.items()), strict=True):
        assert title.endswith(f"output pixel ({oy}, {ox})")
        np.testing.assert_allclose(
            heatmap_z(spec["data"][0]), kernel_view(step, oy, ox).kernel, atol=1e-6
        )
        assert spec["data"][0]["zmax"] == 1.0  # one colour scale for both


def test_pin_two_pixels_and_see_them_on_explore_and_how_it_works(reference):
    a, step = reference
    at = open_app()
    at.run()
    assert not _pin_figures(at)
    at.button(key="explore_pin").click().run()  # the start pixel: the typical edge pixel
    first = image_alignment(a, labels=sample_scene(next(iter(sample_images())))[1]).typical
    _check_pins(at, step, [first])
    at.session_state["sel_y"], at.session_state["sel_x"] = step.geometry.image_centre(10, 12)
    at.run()
    at.button(key="explore_pin").click().run()
    assert_clean(at)
    _check_pins(at, step, [first, (10, 12)])
    assert at.button(key="explore_pin").disabled  # two at most
    assert any("more peaked" in m.value or "as peaked" in m.value for m in at.markdown)
    at.switch_page("app_pages/how_it_works.py").run()
    assert_clean(at)
    _check_pins(at, step, [first, (10, 12)])
    at.switch_page("app_pages/network.py").run()
    assert_clean(at)
    _check_pins(at, step, [first, (10, 12)])
    at.button(key="network_unpin").click().run()
    assert not _pin_figures(at)


def test_pin_an_edge_and_a_flat_pixel(reference):
    a, step = reference
    at = open_app("how_it_works")
    at.button(key="hiw_pin_pair").click().run()
    assert_clean(at)
    image = a.image
    choice = choose_pins(step, image, a.segmentation)
    _check_pins(at, step, [choice.edge, choice.flat])
    titles = sorted(_pin_figures(at))
    assert "(edge)" in titles[0]
    assert ("(flat)" if choice.flat_is_flat else "(least edgy)") in titles[1]
    assert any(c.value.startswith("Pinned the edge pixel") for c in at.caption)


def test_the_tour_on_an_upload():
    data = sample_images()["coffee.jpg"].read_bytes()
    at = open_app()
    at.session_state["image_source"] = "Upload"
    at.session_state["upload_bytes"] = data
    at.session_state["upload_name"] = "mine.jpg"
    at.run()
    at.sidebar.button(key="tour_start").click().run()
    assert_clean(at)
    point = _point(at)
    for s in STEPS:
        assert _page(at) == s.page and _point(at) == point
        if s.page == "sandbox":
            assert at.session_state["sb_upload_bytes"] == data
            assert "copy of your image" in _banner(at)
        at.button(key="tour_next").click().run()
        assert_clean(at)
    assert _page(at) == "explore"
    assert len(_pin_figures(at)) == 2  # the last step pinned an edge and a flat pixel


def test_resume_sets_the_sandbox_up_again():
    at = _start()
    while _page(at) != "sandbox":
        at.button(key="tour_next").click().run()
    at.switch_page("app_pages/compare.py").run()  # leaving drops the Sandbox's widget values
    at.sidebar.button(key="tour_resume").click().run()
    assert_clean(at)
    assert _page(at) == "sandbox" and at.session_state["sb_pattern"] == "Upload"
    assert "CARAFE's largest change" in _banner(at)
