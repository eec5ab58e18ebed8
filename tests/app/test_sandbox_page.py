"""The Sandbox page (AppTest): every pattern renders, the numbers shown are the ones
carafe.inspect.sandbox computes independently here, odd cases (flat image, tiny upload, a line
off the image, the coarsest step) are handled with words, not tracebacks; sizes are written
H×W everywhere; the DySample twin's panel shows the display layer's numbers."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from tests.app.conftest import (
    ROOT,
    assert_clean,
    figure_titled,
    heatmap_z,
    markdown_starting,
    open_app,
    plotly_array,
)


def _sandbox() -> AppTest:
    at = open_app("sandbox")
    assert_clean(at)
    return at


@pytest.fixture(scope="module")
def expected():
    """The default pattern's view and profile, computed outside the app."""
    import carafe.inspect.sandbox.patterns as patterns
    import carafe.inspect.sandbox.profile as profiles
    import carafe.inspect.sandbox.view as sb
    from carafe.inspect.analysis import analyze
    from carafe.inspect.catalog import load_model

    p = patterns.make_pattern(
        "edge", 256, angle=75, centre=(128.0, 128.0), colour_a=(40, 40, 40), colour_b=(235, 200, 40)
    )
    step = analyze(load_model("carafe"), p.image).steps[-1]
    view = sb.sandbox_view(step, p.image, p.mask)
    line = patterns.line_through(128.0, 128.0, round(p.across) % 360, 128.0)
    return view, profiles.profile_along(view, line)


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
    for m, name in [
        ("carafe", "CARAFE"),
        ("bilinear", "Bilinear"),
        ("deconv", "Deconv (untrained)"),
    ]:
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
        assert any(
            i.value.startswith("At this step no input-map pixel has its whole") for i in at.info
        )
    at.session_state["sb_upload_bytes"] = b"not an image"
    at.run()
    assert at.error and re.search("cannot be used", at.error[0].value)


def _page_text(at: AppTest) -> list[str]:
    """Every sentence and title on the page: markdown, captions, infos, figure and panel titles."""
    import json

    texts = [e.value for e in (*at.markdown, *at.caption, *at.info, *at.warning)]
    for el in at.get("plotly_chart"):
        layout = json.loads(el.proto.spec)["layout"]
        texts.append(layout.get("title", {}).get("text", ""))
        texts += [a.get("text", "") for a in layout.get("annotations", [])]
    return texts


def test_upload_sizes_follow_one_convention():
    """A 342×512 (H×W) upload: every size on the page is rows × columns, and the padded and
    visible maps are named (issue 17: '24×32 → 48×64' beside 'input 22×32', 'downscaled to
    256×171' beside '(171×256 px)')."""
    import carafe.inspect.sandbox.view as sb
    from carafe.inspect.analysis import analyze
    from carafe.inspect.catalog import load_model
    from carafe.inspect.imageio import load_image

    yy, xx = np.mgrid[:342, :512]
    img = np.stack([xx % 256, yy % 256, (xx + yy) % 256], axis=-1).astype(np.uint8)
    data = _png(img)
    image = load_image(data, 256).array
    assert image.shape[:2] == (171, 256)
    step = analyze(load_model("carafe"), image).steps[-1]
    vis_in, full_in = step.geometry.visible_input_hw(), step.input.shape[1:]
    assert vis_in != full_in  # the model pads 171 rows to 192: a padded map, a visible one
    at = _sandbox()
    at.radio(key="sb_pattern").set_value("Upload").run()
    at.session_state["sb_upload_bytes"] = data
    at.session_state["sb_upload_name"] = "rocket.png"
    at.run()
    assert_clean(at)
    texts = _page_text(at)
    assert not any("256×171" in x or "512×342" in x for x in texts), "W×H written somewhere"
    note = next(c.value for c in at.caption if c.value.startswith("**rocket.png**"))
    assert "171×256 px (H×W, rows × columns)" in note and "downscaled from 342×512" in note
    assert figure_titled(at, "rocket.png<br>171×256 px (H×W, rows × columns)")
    sizes = next(c.value for c in at.caption if "sizes are H×W" in c.value)
    padded = f"{full_in[0]}×{full_in[1]} → output {step.output.shape[1]}×{step.output.shape[2]}"
    assert padded in sizes and "(the padded maps" in sizes
    visible = f"{vis_in[0]}×{vis_in[1]} → {step.visible_output_hw()[0]}×"
    assert (
        f"the visible maps, the part that covers the image and the only part drawn here, are {visible}"
        in sizes
    )
    maps = figure_titled(at, "The step's input and four outputs")
    titles = [a["text"] for a in maps["layout"]["annotations"]]
    assert titles[0] == f"input (visible {vis_in[0]}×{vis_in[1]})"
    assert heatmap_z(maps["data"][0]).shape == vis_in
    view = sb.sandbox_view(step, image, None)
    assert heatmap_z(maps["data"][0]).shape == view.input_map.shape


@pytest.fixture(scope="module")
def expected_twin(expected):
    """The DySample twin's view of the default pattern, computed outside the app."""
    import carafe.inspect.sandbox.patterns as patterns
    import carafe.inspect.sandbox.profile as profiles
    import carafe.inspect.sandbox.twin as twin_mod
    from carafe.inspect.analysis import analyze
    from carafe.inspect.catalog import load_model, twin_names
    from carafe.inspect.sampling import dysample_points

    if "dysample" not in twin_names():
        pytest.skip("the DySample twin is not shipped")
    view, _ = expected
    p = patterns.make_pattern("edge", 256, angle=75)
    model = load_model("dysample")
    step = analyze(model, p.image, baselines=False).steps[-1]
    twin = twin_mod.twin_view(step, view, p.image, p.mask, dysample_points(model, p.image)[-1])
    line = patterns.line_through(128.0, 128.0, round(p.across) % 360, 128.0)
    prof = profiles.profile_along(view, line, {"dysample": twin.output_map})
    return twin, prof, twin_mod.sampling_along(twin, prof)


def test_dysample_panel_shows_the_display_layers_numbers(expected, expected_twin):
    import carafe.inspect.sandbox.words as words

    view, _ = expected
    twin, prof, sampling = expected_twin
    at = _sandbox()
    fig = figure_titled(at, "DySample's step on CARAFE's colour scale")
    maps = [t for t in fig["data"] if t["type"] == "heatmap"]
    assert {(t["zmin"], t["zmax"]) for t in maps} == {(view.zmin, view.zmax)}  # CARAFE's scale
    np.testing.assert_allclose(heatmap_z(maps[0]), twin.input_map, atol=1e-5)
    np.testing.assert_allclose(heatmap_z(maps[1]), twin.output_map, atol=1e-5)
    dots = next(t for t in fig["data"] if t.get("name") == "sampling points")
    np.testing.assert_allclose(plotly_array(dots["x"]), sampling.points[..., 0].ravel(), atol=1e-5)
    np.testing.assert_allclose(plotly_array(dots["y"]), sampling.points[..., 1].ravel(), atol=1e-5)
    caption = next(c.value for c in at.caption if c.value.startswith("DySample here is a separate"))
    assert caption == words.twin_sentence(twin, view, {"dysample": "DySample"})
    assert any(c.value == words.sampling_sentence(sampling, "DySample") for c in at.caption)
    assert f"({words.split_phrase(twin.outside)})" in caption or twin.outside.total == 0
    profile = figure_titled(at, "Profile along the line")
    trace = next(t for t in profile["data"] if t.get("name") == "DySample")
    np.testing.assert_allclose(plotly_array(trace["y"]), prof.values["dysample"], atol=1e-5)
    assert trace["line"]["dash"] == "dash"  # a separate model, drawn apart
    text = markdown_starting(at, "The line crosses")
    assert f"DySample (separate model) **{prof.steepest['dysample']:.3f}**" in text


def test_out_of_range_caption_splits_frame_and_interior():
    """Issue 17's 45° edge: CARAFE's out-of-range pixels, split into border frame and interior
    as the display layer counts them."""
    import carafe.inspect.sandbox.patterns as patterns
    import carafe.inspect.sandbox.view as sb
    import carafe.inspect.sandbox.words as words
    from carafe.inspect.analysis import analyze
    from carafe.inspect.catalog import load_model

    p = patterns.make_pattern("edge", 256, angle=45)
    view = sb.sandbox_view(analyze(load_model("carafe"), p.image).steps[-1], p.image, p.mask)
    carafe = view.outside["carafe"]
    assert carafe.total > 0
    at = _sandbox()
    at.slider(key="sb_angle").set_value(45).run()
    assert_clean(at)
    caption = next(c.value for c in at.caption if c.value.startswith("Each feature vector"))
    names = {
        "carafe": "CARAFE",
        "bilinear": "Bilinear",
        "nearest": "Nearest",
        "deconv": "Deconv (untrained)",
    }
    assert words.outside_sentence(view, names) in caption
    assert f"CARAFE {carafe.total:,} of {view.frame.size:,} ({words.split_phrase(carafe)})" in (
        caption
    )


@pytest.mark.parametrize("angle, width, step_pos", [(45, 4, 2), (75, 1, 0)])
def test_thin_lines_are_crossed_on_the_page(angle, width, step_pos):
    """Issue 17: the page said the profile did not cross these lines; the dotted trace was flat."""
    at = _sandbox()
    at.session_state["step_pos"] = step_pos
    at.radio(key="sb_pattern").set_value("Thin line").run()
    at.slider(key="sb_angle").set_value(angle).run()
    at.slider(key="sb_width").set_value(width).run()
    assert_clean(at)
    assert not any("does not cross" in m.value for m in at.markdown)
    dotted = next(
        t for t in figure_titled(at, "Profile along")["data"] if t["name"].startswith("pattern")
    )
    assert np.nanmax(plotly_array(dotted["y"])) == 1.0
    texture = [m.value for m in at.markdown if m.value.startswith("Each input pixel predicts")]
    projection = next(c.value for c in at.caption if c.value.startswith("Each feature vector"))
    if texture:  # the flat count and the projection's count are one number
        n = re.search(r"On the \*\*([\d,]+)\*\* input pixels", texture[0]).group(1)
        assert f"{n} input-map pixels have their whole" in projection
    else:
        assert "no input-map pixel has its whole" in projection


def _verdicts(at: AppTest) -> tuple[str, str]:
    """(the profile verdict, the kernels caption) the page shows."""
    verdict = next(
        m.value
        for m in at.markdown
        if m.value.startswith(("Here CARAFE", "CARAFE's steepest change on this line"))
        and "  \n" not in m.value  # not the notice under the maps
    )
    kernels = next(c.value for c in at.caption if c.value.startswith("CARAFE's 5×5 kernels"))
    return verdict, kernels


@pytest.mark.parametrize("pattern", ["Edge", "Thin line", "Checkerboard"])
def test_the_verdict_never_contradicts_the_kernels(pattern):
    """Issue 25: "CARAFE keeps the step: 1.9× bilinear" sat above "CARAFE does not take more
    weight from its own side than bilinear" on a thin line and the checkerboard. The step is
    called kept only where the kernels follow the edge: on the default edge they do (and it is
    said), on the default thin line they do not (and it is not said)."""
    at = _sandbox()
    at.radio(key="sb_pattern").set_value(pattern).run()
    assert_clean(at)
    verdict, kernels = _verdicts(at)
    kept = "keeps the step" in verdict
    follows = kernels.endswith("its kernels follow the edge.")
    assert not kept or follows
    notice = next(m.value for m in at.markdown if "  \n" in m.value)
    assert ("keeps the step" in notice) == kept
    if pattern == "Edge":
        assert kept
    if pattern == "Thin line":
        assert not kept and not follows


def test_untrained_deconv_and_one_upload_limit():
    """The live deconv is the bilinear-initialised baseline: its panel says untrained. The
    uploader's limit, the server's and the loader's are one number (issue 25: 200 MB vs 25)."""
    import tomllib

    from carafe.inspect.imageio import MAX_UPLOAD_BYTES

    at = _sandbox()
    titles = [
        a["text"] for a in figure_titled(at, "The step's input and four")["layout"]["annotations"]
    ]
    assert "Deconv (untrained)" in titles and "Bilinear" in titles
    legend = [t["name"] for t in figure_titled(at, "Profile along the line")["data"]]
    assert "Deconv (untrained)" in legend
    limit = MAX_UPLOAD_BYTES // 2**20
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == limit
    at.radio(key="sb_pattern").set_value("Upload").run()
    (uploader,) = at.get("file_uploader")
    assert uploader.proto.max_upload_size_mb == limit
    assert f"Up to {limit} MB" in uploader.proto.help
    sidebar = open_app()
    sidebar.run()
    sidebar.radio(key="image_source").set_value("Upload").run()
    assert [u.proto.max_upload_size_mb for u in sidebar.get("file_uploader")] == [limit]
