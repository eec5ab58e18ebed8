"""Watch CARAFE learn: the page renders, the slider shows each snapshot's own kernel at the
app's selected pixel (equal to analyze() of that snapshot), and the curves are the stored JSON,
labelled as stored."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import carafe.inspect.learning.snapshots as snapshots_module
from carafe.inspect.analysis import analyze
from carafe.inspect.imageio import load_image_file, sample_images
from carafe.inspect.learning.snapshots import (
    SNAPSHOTS_DIR,
    lean_scale,
    list_snapshots,
    load_snapshot,
)
from carafe.inspect.pixel import kernel_view
from tests.app.conftest import assert_clean, figure_titled, heatmap_z, open_app, plotly_array

KERNEL = "Reassembly kernel of output pixel"
LABEL = "stored (measured once by carafe-evaluate on 200 held-out scenes)"

pytestmark = pytest.mark.skipif(not list_snapshots(), reason="no training snapshots shipped")


@pytest.fixture(scope="module")
def at():
    """One session on the page (its first run analyses every snapshot once)."""
    session = open_app("learning")
    assert_clean(session)
    return session


@pytest.fixture(scope="module")
def stored():
    return json.loads((SNAPSHOTS_DIR / "metrics.json").read_text())


def _snapshot_step(at, steps_done: int):
    """The sidebar step of the snapshot's own analysis of the default sample, computed
    outside the app."""
    snap = next(s for s in list_snapshots() if s.steps_done == steps_done)
    image = load_image_file(next(iter(sample_images().values()))).array
    return analyze(load_snapshot(snap), image, baselines=False).steps[at.session_state["step_pos"]]


def _expected_kernel(at, steps_done: int) -> tuple[tuple[int, int], np.ndarray]:
    """The selected pixel's kernel computed outside the app, at the app's selection (kept in
    image coordinates)."""
    step = _snapshot_step(at, steps_done)
    oy, ox = step.geometry.output_pixel_at(at.session_state["sel_y"], at.session_state["sel_x"])
    return (oy, ox), kernel_view(step, oy, ox).kernel


def _shown_kernel(at) -> tuple[str, np.ndarray]:
    spec = figure_titled(at, KERNEL)
    return spec["layout"]["title"]["text"], heatmap_z(spec["data"][0])


def test_page_renders_with_the_stored_label(at):
    slider = at.select_slider(key="learning_step")
    assert list(slider.options) == ["0", "25", "50", "100", "200", "400", "800", "1600", "2400"]
    assert slider.value == 0  # it starts at the random initialisation
    captions = " ".join(c.value for c in at.caption)
    assert LABEL in captions
    assert "kernels become content-aware at step 100" in captions  # worded from the JSON
    notice = " ".join(m.value for m in at.markdown)
    assert "the kernels become content-aware at step 100" in notice
    assert "It rises at P5→P4; it falls at P4→P3, P3→P2" in captions
    assert "Stored, not computed here: the curves" in captions


def test_moving_the_slider_shows_that_snapshots_kernel(at):
    title0, shown0 = _shown_kernel(at)
    (oy, ox), expected0 = _expected_kernel(at, 0)
    assert title0 == f"{KERNEL} ({oy}, {ox}) after 0 steps"
    np.testing.assert_allclose(shown0, expected0, atol=1e-6)
    for steps_done in (100, 2400):
        at.select_slider(key="learning_step").set_value(steps_done).run()
        assert_clean(at)
        title, shown = _shown_kernel(at)
        (oy, ox), expected = _expected_kernel(at, steps_done)
        assert title == f"{KERNEL} ({oy}, {ox}) after {steps_done} steps"  # the same pixel
        np.testing.assert_allclose(shown, expected, atol=1e-6)
        assert np.abs(shown - shown0).max() > 0.05  # a trained kernel, not the random one
        lean = lean_scale(_snapshot_step(at, steps_done).carafe)
        assert any(
            m.value.startswith(f"After {steps_done} steps") and f"up to {lean:.2g} px" in m.value
            for m in at.markdown
        )


def _arrows(at, steps_done: int) -> int:
    """How many lean arrows the page's lean map draws (only leans over half the full-brightness
    lean get one)."""
    spec = figure_titled(at, f"Centre-of-mass offset (lean), step {steps_done}")
    heads = next(t for t in spec["data"] if t.get("mode") == "markers")
    return len(plotly_array(heads["x"])) if "x" in heads else 0


def test_one_absolute_lean_scale_across_snapshots(at):
    """Issue 25: each snapshot's lean map had its own brightness scale, so step 0's 0.01 px
    noise looked as strong as 2.4 px leans. One scale now: step 0 draws no lean arrow (nothing
    leans over half of it), the shipped model does, and the scale said is the same."""
    scales = {}
    for steps_done in (0, 2400):
        at.select_slider(key="learning_step").set_value(steps_done).run()
        assert_clean(at)
        scales[steps_done] = (
            next(c.value for c in at.caption if c.value.startswith("Entropy near log"))
            .split("Full brightness is a lean of ")[1]
            .split(" ")[0]
        )
    assert scales[0] == scales[2400]
    at.select_slider(key="learning_step").set_value(0).run()
    assert _arrows(at, 0) == 0
    at.select_slider(key="learning_step").set_value(2400).run()
    assert _arrows(at, 2400) > 0


def test_typing_a_pixel_here_moves_the_shared_selection(at):
    at.number_input(key="learning_px_y").set_value(10).run()
    at.number_input(key="learning_px_x").set_value(20).run()
    assert_clean(at)
    title, shown = _shown_kernel(at)
    (oy, ox), expected = _expected_kernel(at, at.select_slider(key="learning_step").value)
    assert (oy, ox) == (10, 20) and title.startswith(f"{KERNEL} (10, 20)")
    np.testing.assert_allclose(shown, expected, atol=1e-6)


def test_the_pixel_follows_explore_and_the_slider_is_remembered():
    at = open_app()
    at.run()  # Explore
    at.number_input(key="explore_px_y").set_value(30).run()
    at.number_input(key="explore_px_x").set_value(40).run()
    at.switch_page("app_pages/learning.py").run()
    assert_clean(at)
    at.select_slider(key="learning_step").set_value(400).run()
    assert _shown_kernel(at)[0] == f"{KERNEL} (30, 40) after 400 steps"
    at.switch_page("app_pages/explore.py").run()
    at.switch_page("app_pages/learning.py").run()
    assert at.select_slider(key="learning_step").value == 400
    assert _shown_kernel(at)[0] == f"{KERNEL} (30, 40) after 400 steps"


def _traces(at, title: str) -> dict[str, dict]:
    return {t["name"]: t for t in figure_titled(at, title)["data"] if "shown" not in t["name"]}


def test_curves_are_the_stored_json_with_the_shown_snapshot_marked(at, stored):
    at.select_slider(key="learning_step").set_value(200).run()
    rows = sorted(stored["snapshots"], key=lambda r: r["steps_done"])
    spec = figure_titled(at, "Held-out mIoU and boundary F")
    axis = spec["layout"]["xaxis"]
    # issue 25: real step counts on a log axis with readable ticks, not equal spacing
    assert axis["type"] == "log" and axis["ticktext"] == ["0", "100", "1,000", "2,400"]
    metrics = _traces(at, "Held-out mIoU and boundary F")

    def line(trace):  # the curve without its gap between step 0 and the rest
        return [v for v in trace if v is not None]

    x = line(metrics["mIoU"]["x"])
    assert x[1:] == [r["steps_done"] for r in rows][1:] and 0 < x[0] < x[1]
    assert metrics["mIoU"]["x"][1] is None  # step 0 is not joined to step 25
    np.testing.assert_array_equal(line(metrics["mIoU"]["y"]), [r["miou"] for r in rows])
    np.testing.assert_array_equal(line(metrics["boundary F"]["y"]), [r["boundary_f"] for r in rows])
    align = _traces(at, "Kernel weight on the pixel's own object")
    off = [r["kernel_alignment"]["off_centre_own_share"] for r in rows]
    for name, method in (
        ("CARAFE, off-centre own share", "carafe"),
        ("same kernels moved (content-blind control), off-centre", "carafe_moved"),
        ("bilinear (fixed), off-centre", "bilinear"),
    ):
        np.testing.assert_array_equal(line(align[name]["y"]), [o[method] for o in off])
    np.testing.assert_array_equal(
        line(align["CARAFE, own-object share"]["y"]),
        [r["kernel_alignment"]["own_object_share"]["carafe"] for r in rows],
    )
    border = _traces(at, "Border: median kernel weight on zero padding")
    names = {2: "P5→P4", 1: "P4→P3", 0: "P3→P2"}
    assert list(border) == [names[r["step_index"]] for r in rows[0]["border_ring"]]
    for index, name in names.items():
        want = [
            next(b["padding_weight_median"] for b in r["border_ring"] if b["step_index"] == index)
            for r in rows
        ]
        np.testing.assert_array_equal(line(border[name]["y"]), want)
    # the shown snapshot (step 200, the 5th) is ringed on every curve, at step 200
    rings = [t for t in figure_titled(at, "Held-out mIoU")["data"] if "shown" in t["name"]]
    assert [plotly_array(t["x"]).tolist() for t in rings] == [[200.0], [200.0]]
    assert plotly_array(rings[0]["y"]).tolist() == [rows[4]["miou"]]


def test_missing_snapshots_and_metrics_are_said_not_crashed(monkeypatch, tmp_path):
    monkeypatch.setattr(snapshots_module, "SNAPSHOTS_DIR", tmp_path)
    at = open_app("learning")
    assert_clean(at)
    assert any("No training snapshots were found" in i.value for i in at.info)

    monkeypatch.undo()  # the snapshots are back; their metrics file is not:
    monkeypatch.setattr(snapshots_module, "load_curves", lambda: None)
    at = open_app("learning")
    assert_clean(at)
    assert any("No stored metrics for the snapshots" in i.value for i in at.info)
    assert figure_titled(at, KERNEL)  # the snapshots themselves are still shown
    assert not [c for c in at.caption if re.search("content-aware at step", c.value)]
