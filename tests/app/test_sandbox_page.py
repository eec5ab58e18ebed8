"""The Sandbox page (AppTest): every pattern renders, the numbers shown are the ones
carafe.inspect.sandbox computes independently here, odd cases (flat image, tiny upload, a line
off the image, the coarsest step) are handled with words, not tracebacks."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from tests.app.conftest import (
    assert_clean,
    figure_titled,
    heatmap_z,
    markdown_starting,
    open_app,
)


def _sandbox() -> AppTest:
    at = open_app("sandbox")
    assert_clean(at)
    return at


@pytest.fixture(scope="module")
def expected():
    """The default pattern's view and profile, computed outside the app."""
    import carafe.inspect.sandbox as sb
    from carafe.inspect.analysis import analyze
    from carafe.inspect.catalog import load_model

    p = sb.make_pattern(
        "edge", 256, angle=75, centre=(128.0, 128.0), colour_a=(40, 40, 40), colour_b=(235, 200, 40)
    )
    step = analyze(load_model("carafe"), p.image).steps[-1]
    view = sb.sandbox_view(step, p.image, p.mask)
    line = sb.line_through(128.0, 128.0, round(p.across) % 360, 128.0)
    return view, sb.profile_along(view, line)


def test_sandbox_shows_the_live_numbers(expected):
    view, prof = expected
    at = _sandbox()
    assert at.title[0].value == "Sandbox"
    assert any("1905.02188" in c.value for c in at.caption)
    maps = [
        t
        for t in figure_titled(at, "The step's input and four outputs")["data"]
        if t["type"] == "heatmap"
    ]
    assert len(maps) == 5  # input + CARAFE, bilinear, nearest, deconv
    assert {(t["zmin"], t["zmax"]) for t in maps} == {(view.zmin, view.zmax)}  # one scale
    assert sum(t.get("showscale", True) is not False for t in maps) == 1  # one colour bar
    text = markdown_starting(at, "The line crosses")
    assert f"{len(prof.pixels)} output pixels" in text
    for m, name in [("carafe", "CARAFE"), ("bilinear", "Bilinear"), ("deconv", "Deconv")]:
        assert f"{name} **{prof.steepest[m]:.3f}**" in text
    ratio = prof.steepest["carafe"] / prof.steepest["bilinear"]
    verdict = markdown_starting(at, "Here CARAFE")
    assert (f"{ratio:.1f}×" in verdict) == (ratio > 1.2)
    flat = view.flat
    texture = markdown_starting(at, "Each input pixel predicts")
    assert f"**{flat.pixels}** input pixels" in texture
    assert f"**{flat.subpixel_difference:.0%}**" in texture
    assert f"**{flat.neighbour_difference:.0%}**" in texture
    assert f"CARAFE **{flat.roughness['carafe']:.4f}**" in texture
    lean = at.dataframe[0].value
    assert len(lean) == 4 and lean["CARAFE lean dy"].tolist() == pytest.approx(
        flat.lean[..., 0].ravel().tolist(), abs=1e-6
    )
    kernels = [
        t for t in figure_titled(at, "CARAFE's kernels along")["data"] if t["type"] == "heatmap"
    ]
    assert len(kernels) == 8
    assert all(np.isclose(heatmap_z(t).sum(), 1.0, atol=1e-4) for t in kernels)
    assert [heatmap_z(t).shape for t in maps[1:]] == [view.maps["carafe"].shape] * 4
    np.testing.assert_allclose(heatmap_z(maps[1]), view.maps["carafe"], atol=1e-5)


@pytest.mark.parametrize("pattern", ["Corner", "Thin line", "Checkerboard", "Disc"])
def test_every_pattern_renders(pattern):
    at = _sandbox()
    at.radio(key="sb_pattern").set_value(pattern).run()
    assert_clean(at)
    assert figure_titled(at, "Profile along the line")
    caption = next(c.value for c in at.caption if c.value.startswith("Each feature vector"))
    assert "colour A's mean feature" in caption or "principal component" in caption


def test_line_follows_the_pattern_and_can_leave_the_image():
    at = _sandbox()
    at.slider(key="sb_angle").set_value(90).run()  # a vertical edge: the line turns horizontal
    assert at.slider(key="sb_line_angle").value == 0
    at.number_input(key="sb_line_cy").set_value(0).run()
    at.number_input(key="sb_line_cx").set_value(0).run()
    at.slider(key="sb_line_length").set_value(8).run()
    at.slider(key="sb_line_angle").set_value(135).run()  # only its middle touches the image
    assert_clean(at)
    assert any("fewer than two output pixels" in w.value for w in at.warning)
    at.button(key="sb_reset_line").click().run()
    assert at.number_input(key="sb_line_cx").value == 128
    assert_clean(at)


def test_flat_image_and_coarsest_step():
    at = _sandbox()
    at.color_picker(key="sb_colour_b").set_value("#282828").run()
    assert_clean(at)
    assert any("flat" in w.value for w in at.warning)
    assert any("principal component" in c.value for c in at.caption)
    assert not any("keeps the step" in m.value for m in at.markdown)  # no edge, no claim
    assert any(m.value.startswith("CARAFE's steepest change") for m in at.markdown)
    dotted = [
        t for t in figure_titled(at, "Profile along")["data"] if t["name"].startswith("pattern")
    ]
    assert not dotted  # a one-colour image draws no pattern step
    at.session_state["step_pos"] = 0  # the coarsest step: a tiny input map
    at.color_picker(key="sb_colour_b").set_value("#ebc828").run()
    assert_clean(at)
    assert any("8×8" in c.value for c in at.caption)


def _png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize("side", [8, 48])
def test_uploads_small_and_tiny(side):
    at = _sandbox()
    at.radio(key="sb_pattern").set_value("Upload").run()
    assert at.info and not at.get("plotly_chart")
    yy, xx = np.mgrid[:side, :side]
    img = np.where((xx > side // 2)[..., None], 220, 30).astype(np.uint8).repeat(3, axis=2)
    at.session_state["sb_upload_bytes"] = _png(img)
    at.session_state["sb_upload_name"] = "tiny.png"
    at.run()
    assert_clean(at)
    assert any("principal component" in c.value for c in at.caption)
    if side == 8:  # one input pixel at the finest step: no window fits, no flat area
        assert any(i.value.startswith("No input pixel at this step") for i in at.info)
    at.session_state["sb_upload_bytes"] = b"not an image"
    at.run()
    assert at.error and re.search("cannot be used", at.error[0].value)
