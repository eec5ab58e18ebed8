"""The whole network page: the diagram of the loaded model, the step it shares with the sidebar
and one image point's kernels at every step (equal to the analysis' own)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.app.conftest import (
    assert_clean,
    figure_titled,
    heatmap_z,
    open_app,
    plotly_array,
)

DIAGRAM = "The network, read from the loaded model"
KERNELS = "The same image point at every step"


def _kernel_traces(at) -> list[dict]:
    return [t for t in figure_titled(at, KERNELS)["data"] if t["type"] == "heatmap"]


def test_page_renders_the_models_network():
    at = open_app("network")
    assert_clean(at)
    spec = figure_titled(at, DIAGRAM)
    steps = next(t for t in spec["data"] if t.get("name") == "steps")
    assert list(plotly_array(steps["customdata"]).astype(int)) == [0, 1, 2]  # click targets
    assert [t.split("</b>")[0].removeprefix("<b>") for t in steps["text"]] == [
        "P5→P4",
        "P4→P3",
        "P3→P2",
    ]
    notes = " ".join(a["text"] for a in spec["layout"]["annotations"])
    for level, stride, channels in (("C2", 4, 24), ("C3", 8, 32), ("C4", 16, 96), ("C5", 32, 320)):
        assert f"<b>{level}</b> · {channels} ch<br>stride {stride}" in notes
    assert "1×1 conv<br>320→64" in notes and "→ 5 classes" in notes
    caption = next(m.value for m in at.markdown if m.value.startswith("The 5×5 windows"))
    assert "P5→P4 160×160 (stride 32)" in caption and "4× further" in caption
    # the DySample twin is shipped: its points at the same image point, at every step
    assert any("Where the DySample twin samples" in m.value for m in at.markdown)


def test_selecting_a_step_here_selects_it_everywhere():
    at = open_app("network")
    assert at.session_state["step_pos"] == 2  # the app starts at the finest step
    at.segmented_control(key="network_step").set_value(0).run()
    assert_clean(at)
    assert at.session_state["step_pos"] == 0
    assert at.selectbox(key="step_pos").value == 0  # the sidebar shows it too
    assert "(selected)" in figure_titled(at, KERNELS)["layout"]["annotations"][0]["text"]
    diagram = figure_titled(at, DIAGRAM)["layout"]["shapes"]
    assert sum(s["line"]["width"] == 3 for s in diagram) == 1  # the selected box, outlined
    # and the other way round: the sidebar moves this page's control
    at.selectbox(key="step_pos").set_value(1).run()
    assert_clean(at)
    assert at.segmented_control(key="network_step").value == 1
    titles = [a["text"] for a in figure_titled(at, KERNELS)["layout"]["annotations"]]
    assert ["(selected)" in t for t in titles] == [False, True, False]


def test_the_three_kernels_are_the_analysis_own(reference):
    analysis, finest = reference
    at = open_app("network")
    at.number_input(key="network_px_y").set_value(3).run()  # near the top: padding at P5→P4
    at.number_input(key="network_px_x").set_value(40).run()
    assert_clean(at)
    iy, ix = int(at.session_state["sel_y"]), int(at.session_state["sel_x"])
    assert (iy // finest.stride_out, ix // finest.stride_out) == (3, 40)
    shown = [heatmap_z(t) for t in _kernel_traces(at)]
    assert len(shown) == 3
    for z, step in zip(shown, analysis.steps, strict=True):
        d = step.carafe
        k = d.up_kernel
        oy, ox = iy // step.stride_out, ix // step.stride_out
        expected = np.array(
            [[d.kernels[dy * k + dx, oy, ox] for dx in range(k)] for dy in range(k)]
        )
        np.testing.assert_allclose(z, expected, atol=1e-5)
    # one colour scale for the three: 0 to the largest weight shown
    scale = figure_titled(at, KERNELS)["layout"]["coloraxis"]
    assert scale["cmin"] == 0 and scale["cmax"] == pytest.approx(max(z.max() for z in shown))
    table = next(m.value for m in at.markdown if m.value.startswith("| step | output pixel"))
    assert "| P3→P2 | (3, 40) | (1, 20) | 8→4 |" in table


def test_figures_draw_other_networks_and_dysample_points(tiny_model, small_image):
    """The figure functions on what the shipped app never shows: a model without lateral convs
    and a model whose own steps are DySample (its points drawn in image pixels)."""
    import figures.network as network_figs

    from carafe.inspect.analysis import analyze
    from carafe.inspect.catalog import display_name
    from carafe.inspect.network.diagram import network_diagram
    from carafe.inspect.network.trace import trace_sampling
    from carafe.inspect.sampling import dysample_points
    from carafe.models import build_model, default_config

    fig = network_figs.diagram_figure(network_diagram(tiny_model), 0, display_name)
    steps = next(t for t in fig.data if t.name == "steps")
    assert list(steps.customdata) == [0] and steps.text[0].startswith("<b>P3→P2</b> ×2 CARAFE")
    assert any(a.text == "identity" for a in fig.layout.annotations)  # no lateral conv

    model = build_model(default_config("dysample", fpn_channels=8)).eval()
    a = analyze(model, small_image, baselines=False)
    traced = trace_sampling(a, dysample_points(model, small_image), 20, 30)
    marks = [network_figs.StepMark.of_sampling(t) for t in traced]
    canvas = network_figs.trace_canvas(small_image, marks, (20, 30))
    up, r = int(canvas.zoom), 4 * max(1, int(canvas.zoom))  # the squares' half size
    colours = {network_figs._rgb(network_figs.step_colour(m.position)) for m in marks}
    for t in traced:  # each point a square in a step colour, centred where it samples
        for px, py in t.points_px:
            cy = int((py + 0.5 + canvas.margin) * up)
            cx = int((px + 0.5 + canvas.margin) * up)
            square = canvas.rgb[max(cy - r, 0) : cy + r + 1, max(cx - r, 0) : cx + r + 1]
            assert {tuple(c) for c in square.reshape(-1, 3)} & colours, (t.name, px, py)
    fig = network_figs.sampling_figure(traced, 2)
    assert fig.layout.title.text == "Where the same image point samples at every step"


def _uploaded(data: bytes, name: str):
    """The page on an uploaded file (bytes as the uploader's callback keeps them)."""
    at = open_app()
    at.session_state["image_source"] = "Upload"
    at.session_state["upload_bytes"] = data
    at.session_state["upload_name"] = name
    at.run()
    at.switch_page("app_pages/network.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_broken_upload_shows_its_error_and_nothing_half_drawn():
    at = _uploaded(b"GIF89a broken", "broken.gif")
    assert at.error and "broken.gif" in at.error[0].value
    assert not at.get("plotly_chart")


def test_a_small_odd_image_is_padded_and_traced():
    import io

    from PIL import Image

    buf = io.BytesIO()
    rng = np.random.default_rng(3)
    # 45x70 is below the working range: upscaled to a long side of 128 (82x128), then padded
    Image.fromarray(rng.integers(0, 256, (45, 70, 3), dtype=np.uint8)).save(buf, "PNG")
    at = _uploaded(buf.getvalue(), "small.png")
    assert_clean(at)
    notes = " ".join(a["text"] for a in figure_titled(at, DIAGRAM)["layout"]["annotations"])
    assert "image 82×128<br>padded to 96×128" in notes
    assert len(_kernel_traces(at)) == 3


def test_the_point_picture_is_the_exact_click_picture(reference):
    """The page draws the traced point on a click picture (as Explore's): a click event on
    any canvas pixel of an image pixel names that pixel, and the marks sit on the windows."""
    from figures.network import _rgb, step_colour

    analysis, finest = reference
    at = open_app("network")
    assert_clean(at)
    canvas = at.session_state["network_canvas"]
    h, w = analysis.image.shape[:2]
    assert canvas.image_hw == (h, w) and canvas.zoom >= 1
    z, m = int(canvas.zoom), canvas.margin
    for row, col in ((0, 0), (h - 1, w - 1), (0, w - 1), (h - 1, 0), (17, 40)):
        for dy, dx in ((0, 0), (z - 1, z - 1)):
            event = {"row": (m + row) * z + dy, "col": (m + col) * z + dx}
            assert canvas.pixel_of_event(event) == (row, col)
    # the coarsest window (P5→P4, 160×160 image px) dashed in its colour at its corner
    iy, ix = int(at.session_state["sel_y"]), int(at.session_state["sel_x"])
    step = analysis.steps[0]
    r = (step.carafe.up_kernel - 1) // 2
    sy, sx = iy // step.stride_in, ix // step.stride_in
    y0, x0 = ((sy - r) * step.stride_in + m) * z, ((sx - r) * step.stride_in + m) * z
    assert tuple(canvas.rgb[y0, x0]) == _rgb(step_colour(0))


def test_unused_outputs_are_drawn_as_unused_and_offsets_rows_first():
    at = open_app("network")
    assert_clean(at)
    notes = [a["text"] for a in figure_titled(at, DIAGRAM)["layout"]["annotations"]]
    idle = [t for t in notes if "feeds nothing" in t]
    assert len(idle) == 3 and not any("<b>P2</b>" in t for t in idle)  # P3, P4, P5 only
    dotted = [
        s for s in figure_titled(at, DIAGRAM)["layout"]["shapes"] if s["line"].get("dash") == "dot"
    ]
    assert len(dotted) == 6  # output conv and FPN out of P3, P4, P5
    notice = next(m.value for m in at.markdown if m.value.startswith("**What to notice**"))
    assert len(notice.splitlines()) <= 4  # the heading and at most three lines
    assert "Only P2 feeds the head" in notice
    page = " ".join(m.value for m in at.markdown)
    assert "(dx, dy)" not in page and "moves (rows, cols), map px" in page
