"""The Streamlit app, driven by streamlit.testing.v1.AppTest: every page, numbers, bad uploads.

The numbers the pages show are checked against carafe.inspect run independently here on the
same image with the same checkpoint.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from figures.click_image import WINDOW_COLOURS
from PIL import Image
from streamlit.testing.v1 import AppTest

from tests.app.conftest import (
    assert_no_exception,
    figures_by_title,
    frames_with,
    heatmap_z,
    metric_value,
    open_app,
    serve_checkpoint,
)


def test_every_page_renders():
    at = open_app()
    at.run()
    assert_no_exception(at)
    assert at.title[0].value.startswith("Explore")
    for page, title in [
        ("network", "The whole network"),
        ("learning", "Watch CARAFE learn"),
        ("compressed", "Compressed channels"),
        ("compare", "Compare upsamplers"),
        ("how_it_works", "How it works"),
        ("train_tiny", "Train a tiny CARAFE"),
        ("performance", "Performance"),
    ]:
        at.switch_page(f"app_pages/{page}.py").run()
        assert_no_exception(at)
        assert at.title[0].value == title
        assert not at.error, [e.value for e in at.error]
        assert any("1905.02188" in c.value for c in at.caption)  # the paper is cited
        assert at.get("plotly_chart") or page in ("performance", "train_tiny")  # figures on demand
        for name, spec in figures_by_title(at).items():  # a colour bar, or a legend of regions
            assert all(
                t.get("showscale", True) is not False or i > 0 or t.get("showlegend")
                for i, t in enumerate(x for x in spec["data"] if x["type"] == "heatmap")
            ), (page, name)


def test_explore_kernel_matches_inspect(reference):
    a, step = reference
    d = step.carafe
    at = open_app()
    at.run()
    assert_no_exception(at)
    for oy, ox in [(3, 5), (20, 17)]:
        at.number_input(key="explore_px_y").set_value(oy).run()
        at.number_input(key="explore_px_x").set_value(ox).run()
        assert_no_exception(at)
        assert float(metric_value(at, "Entropy")) == pytest.approx(d.entropy[0, oy, ox], abs=1e-3)
        assert float(metric_value(at, "Peak weight")) == pytest.approx(d.peak[0, oy, ox], abs=1e-3)
        assert float(metric_value(at, "Lean dx")) == pytest.approx(d.com_dx[0, oy, ox], abs=0.01)
        assert any(f"({oy}, {ox})" in m.value for m in at.markdown)
        figs = figures_by_title(at)
        kernel = heatmap_z(figs[f"Reassembly kernel of output pixel ({oy}, {ox})"]["data"][0])
        np.testing.assert_allclose(kernel.reshape(-1), d.kernels[:, oy, ox], atol=1e-6)
        # the k×k source window, drawn at the right scale on the image and on the input map
        r, si = (d.up_kernel - 1) // 2, step.stride_in
        sy, sx = oy // step.scale, ox // step.scale
        canvas = at.session_state["explore_canvas"]  # the picture the browser shows
        z, m = int(canvas.zoom), canvas.margin
        y0, x0 = ((sy - r) * si + m) * z, ((sx - r) * si + m) * z
        y1, x1 = ((sy + r + 1) * si + m) * z, ((sx + r + 1) * si + m) * z
        for y, x in [(y0, x0), (y0, x1 - 1), (y1 - 1, x0)]:  # corners of the dashed window
            assert tuple(canvas.rgb[y, x]) == WINDOW_COLOURS[0], (y, x)
        assert canvas.image_pixel(x0 + r * si * z, y0 + r * si * z) == ((sy * si), (sx * si))
        in_map = next(f for t, f in figs.items() if t.startswith("Input map"))
        win = [sh for sh in in_map["layout"]["shapes"] if sh["line"].get("dash") == "dash"][0]
        assert (win["x0"], win["y0"], win["x1"]) == (sx - r - 0.5, sy - r - 0.5, sx + r + 0.5)
    at.button(key="explore_edge").click().run()
    from carafe.inspect.pixel import start_pixel

    edge = start_pixel(step, 0, a.segmentation)
    assert (
        at.number_input(key="explore_px_y").value,
        at.number_input(key="explore_px_x").value,
    ) == edge
    at.number_input(key="explore_px_y").set_value(20).run()
    at.number_input(key="explore_px_x").set_value(17).run()
    # the selection survives a page switch (kept in image coordinates)
    at.switch_page("app_pages/compressed.py").run()
    assert at.number_input(key="compressed_px_y").value == 20
    assert at.number_input(key="compressed_px_x").value == 17


def _hand_metrics(at: AppTest) -> tuple[float, float]:
    return float(metric_value(at, "By hand: Σ w·x")), float(metric_value(at, "CARAFE op output"))


def test_how_it_works_recomputes_the_op(reference):
    from carafe.inspect.explain import explain_pixel

    _, step = reference
    at = open_app("how_it_works")
    at.number_input(key="hiw_px_y").set_value(9).run()
    at.number_input(key="hiw_px_x").set_value(14).run()
    ch = at.selectbox(key="hiw_channel").value
    assert at.latex, "every step shows its formula"
    for _ in range(4):
        at.button(key="hiw_next").click().run()
        assert_no_exception(at)
        assert at.latex
    by_hand, op = _hand_metrics(at)
    expected = explain_pixel(step, 9, 14, ch)
    # the metrics show 6 significant digits
    assert by_hand == pytest.approx(expected.value_by_hand, rel=6e-6, abs=2e-6)
    assert op == pytest.approx(float(step.output[ch, 9, 14]), rel=6e-6, abs=2e-6)
    assert by_hand == pytest.approx(op, abs=1e-5)
    assert at.success and not at.error
    at.button(key="hiw_prev").click().run()
    assert not at.metric  # back on the softmax step


def test_how_it_works_toy_mode():
    at = open_app("how_it_works")
    at.radio(key="hiw_mode").set_value("Toy 6×6").run()
    for _ in range(4):
        at.button(key="hiw_next").click().run()
    by_hand, op = _hand_metrics(at)
    assert by_hand == pytest.approx(op, abs=1e-5) and at.success
    at.number_input(key="toy_y").set_value(11).run()
    at.selectbox(key="toy_channel").set_value(1).run()
    assert_no_exception(at)
    by_hand, op = _hand_metrics(at)
    assert by_hand == pytest.approx(op, abs=1e-5)


def _png(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _upload(data: bytes, name: str, page: str | None = None) -> AppTest:
    at = open_app()
    at.session_state["image_source"] = "Upload"
    at.session_state["upload_bytes"] = data
    at.session_state["upload_name"] = name
    at.run()
    if page:
        at.switch_page(page).run()
    assert_no_exception(at)
    return at


_GOOD = np.random.default_rng(1).integers(0, 256, (48, 64, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    "data, name",
    [
        (b"this is a text file, not an image", "notes.txt"),
        (_png(Image.fromarray(_GOOD))[:300], "truncated.png"),
        (_png(Image.new("1", (12000, 12000))), "bomb.png"),
        (_png(Image.new("RGB", (1, 1))), "one_pixel.png"),
        (b"", "empty.png"),
    ],
)
def test_bad_uploads_show_an_error(data, name):
    at = _upload(data, name)
    assert at.error, f"{name}: expected st.error"
    assert name in at.error[0].value
    assert not at.get("plotly_chart")  # nothing half-drawn below the message


def test_bad_upload_on_every_page():
    for page in ("compressed", "compare", "how_it_works"):
        at = _upload(b"GIF89a broken", "broken.gif", f"app_pages/{page}.py")
        assert at.error and "broken.gif" in at.error[0].value


@pytest.mark.parametrize(
    "img, fmt, note",
    [
        (Image.fromarray(_GOOD[..., 0].astype(np.uint16) * 257), "PNG", "8-bit"),
        (Image.fromarray(_GOOD).convert("CMYK"), "JPEG", "RGB"),
        (Image.fromarray(_GOOD).convert("P"), "PNG", "RGB"),
        (Image.fromarray(_GOOD).convert("RGBA"), "PNG", "white"),
        (Image.fromarray(_GOOD).convert("L"), "PNG", "RGB"),
    ],
)
def test_unusual_uploads_are_converted(img, fmt, note):
    at = _upload(_png(img, fmt), f"odd.{fmt.lower()}")
    assert not at.error, [e.value for e in at.error]
    assert any(note in i.value for i in at.info)
    assert at.metric  # the kernel view is there


def test_exif_rotated_and_large_uploads():
    exif = Image.Exif()
    exif[0x0112] = 6
    at = _upload(_png(Image.fromarray(_GOOD), "JPEG", exif=exif.tobytes()), "phone.jpg")
    assert any("EXIF" in i.value for i in at.info) and not at.error
    # rotated: 64 rows, 48 columns, then upscaled into the working range (long side 128)
    assert "image 128×96 px" in at.caption[0].value
    assert any("upscaled from 64×48 to 128×96" in i.value for i in at.info)
    big = np.zeros((700, 1400, 3), np.uint8)
    at = _upload(_png(Image.fromarray(big)), "big.png")
    assert any("downscaled" in i.value and "512" in i.value for i in at.info) and not at.error


def test_sessions_do_not_share_images():
    a = _upload(_png(Image.fromarray(_GOOD)), "mine.png")
    b = open_app()
    b.run()
    assert "image 96×128 px" in a.caption[0].value  # a sees its (upscaled) upload
    assert "image 96×128 px" not in b.caption[0].value  # b, at the same time, sees the sample
    assert "upload_bytes" not in b.session_state
    a.run()
    assert "image 96×128 px" in a.caption[0].value


def test_npz_download_names_arrays_by_step_and_says_what_they_hold(reference):
    import downloads
    import state

    a, _ = reference
    cur = state.Current(a.image, "k", "sample.png", "m", a, len(a.steps) - 1)
    with np.load(io.BytesIO(downloads.download_npz(cur))) as z:
        np.testing.assert_array_equal(z["image"], a.image)
        about = str(z["about"])
        for name, step in zip(["P5_to_P4", "P4_to_P3", "P3_to_P2"], a.steps, strict=True):
            assert z[f"{name}_kernels"].shape == step.carafe.kernels.shape
            np.testing.assert_array_equal(z[f"{name}_input"], step.input)
            assert f"{name}_output_bilinear" in z
            assert f"{name}_*: step {step.levels}" in about
        assert "<step>_kernels: (G*k*k, h', w')" in about and "step0_" not in " ".join(z.files)


def test_performance_benchmark_button():
    at = open_app("performance")
    assert_no_exception(at)
    from carafe.inspect.catalog import paper_check

    ours, paper = paper_check()
    assert any(
        f"{ours['params']:,}" in s.value and f"{paper['params']:,}" in s.value for s in at.success
    )
    at.button(key="bench_run").click().run()
    assert_no_exception(at)
    assert not at.error, [e.value for e in at.error]
    table = at.session_state["bench_table"]
    assert table.rows and all(r["CARAFE op (ms)"] > 0 for r in table.rows)
    assert frames_with(at, "CARAFE op (ms)")[0].shape[0] == len(table.rows)
    assert any(f"{len(table.rows)} rows" in c.value for c in at.caption)


def test_headless_grouped_checkpoint(monkeypatch):
    """A converted detection checkpoint (no head) with G=2 kernel groups: every page copes."""
    from carafe.models import build_model, default_config

    cfg = default_config()
    cfg["upsampler"]["up_group"] = 2
    cfg["num_classes"], cfg["class_names"] = 0, []
    model = build_model(cfg).eval()
    name = "converted_test_g2"
    serve_checkpoint(monkeypatch, name, model)
    at = open_app()
    at.session_state["checkpoint"] = name
    at.run()
    assert_no_exception(at)
    c = cfg["fpn_channels"]
    assert at.radio(key="explore_group").options == [
        f"group 0 (channels 0–{c // 2 - 1})",
        f"group 1 (channels {c // 2}–{c - 1})",
    ]
    at.radio(key="explore_group").set_value(1).run()
    assert_no_exception(at)
    for page in ("compressed", "compare", "how_it_works", "performance"):
        at.switch_page(f"app_pages/{page}.py").run()
        assert_no_exception(at)
        assert not at.error, [e.value for e in at.error]
    at.switch_page("app_pages/compare.py").run()
    assert any("a converted detection model has no head" in i.value for i in at.info)
