"""The Streamlit app, driven by streamlit.testing.v1.AppTest: every page, numbers, bad uploads.

The numbers the pages show are checked against carafe.inspect run independently here on the
same image with the same checkpoint.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MAIN = str(ROOT / "app" / "main.py")
TIMEOUT = 120  # a cold model load + first analysis on a busy 2-core CPU
sys.path.insert(0, str(ROOT / "app"))


def _app(page: str | None = None) -> AppTest:
    """A fresh session; with ``page``, already switched to app_pages/<page>.py and run."""
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT)
    if page:
        at.run()  # switch_page needs one run of the entry point first
        at.switch_page(f"app_pages/{page}.py")
        at.run()
    return at


def _no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


@pytest.fixture(scope="module")
def reference():
    """(analysis, step) computed outside the app for the default sample and checkpoint."""
    import state  # app/state.py

    from carafe.imageio import load_image_file
    from carafe.inspect import analyze, load_model

    image = load_image_file(state.SAMPLES_DIR / state.sample_names()[0]).array
    a = analyze(load_model(state.checkpoint_names()[0]), image)
    return a, a.steps[-1]


def _figures(at: AppTest) -> dict[str, dict]:
    """Plotly figures on the page, by title text."""
    import json

    out = {}
    for el in at.get("plotly_chart"):
        spec = json.loads(el.proto.spec)
        out[spec["layout"].get("title", {}).get("text", "")] = spec
    return out


def _z(trace: dict) -> np.ndarray:
    """A heatmap's z as numpy (plotly sends arrays as base64 typed arrays)."""
    import base64

    z = trace["z"]
    if isinstance(z, dict) and "bdata" in z:
        arr = np.frombuffer(base64.b64decode(z["bdata"]), dtype=np.dtype(z["dtype"]))
        shape = z.get("shape", arr.shape)
        if isinstance(shape, str):  # plotly writes "5, 5"
            shape = tuple(int(v) for v in shape.split(","))
        return arr.reshape(shape)
    return np.asarray(z, dtype=float)


def _frames(at: AppTest, column: str) -> list:
    """The data frames on the page that have ``column`` (AppTest does not expose their keys)."""
    return [d.value for d in at.dataframe if column in d.value.columns]


def _footer(at: AppTest) -> str:
    return next(c.value for c in at.main.caption if c.value.startswith("Paper:"))


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_every_page_renders():
    at = _app()
    at.run()
    _no_exception(at)
    assert at.title[0].value.startswith("Explore")
    for page, title in [
        ("compressed", "Compressed channels"),
        ("compare", "Compare upsamplers"),
        ("how_it_works", "How it works"),
        ("performance", "Performance"),
    ]:
        at.switch_page(f"app_pages/{page}.py").run()
        _no_exception(at)
        assert at.title[0].value == title
        assert not at.error, [e.value for e in at.error]
        assert any("1905.02188" in c.value for c in at.caption)  # the paper is cited
        assert at.get("plotly_chart") or page == "performance"
        for spec in _figures(at).values():  # every heatmap has a colour bar
            assert all(
                t.get("showscale", True) is not False or i > 0
                for i, t in enumerate(x for x in spec["data"] if x["type"] == "heatmap")
            )


def test_explore_kernel_matches_inspect(reference):
    a, step = reference
    d = step.carafe
    at = _app()
    at.run()
    _no_exception(at)
    for oy, ox in [(3, 5), (20, 17)]:
        at.number_input(key="explore_px_y").set_value(oy).run()
        at.number_input(key="explore_px_x").set_value(ox).run()
        _no_exception(at)
        assert float(_metric(at, "Entropy")) == pytest.approx(d.entropy[0, oy, ox], abs=1e-3)
        assert float(_metric(at, "Peak weight")) == pytest.approx(d.peak[0, oy, ox], abs=1e-3)
        assert float(_metric(at, "Lean dx")) == pytest.approx(d.com_dx[0, oy, ox], abs=0.01)
        assert any(f"({oy}, {ox})" in m.value for m in at.markdown)
        figs = _figures(at)
        kernel = _z(figs[f"Reassembly kernel of output pixel ({oy}, {ox})"]["data"][0])
        np.testing.assert_allclose(kernel.reshape(-1), d.kernels[:, oy, ox], atol=1e-6)
        # the k×k source window, drawn at the right scale on the image and on the input map
        r, si = (d.up_kernel - 1) // 2, step.stride_in
        sy, sx = oy // step.scale, ox // step.scale
        dashed = [
            sh
            for sh in figs["Image: click an output pixel"]["layout"]["shapes"]
            if sh["line"].get("dash") == "dash"
        ][0]
        assert (dashed["x0"], dashed["y0"]) == ((sx - r) * si - 0.5, (sy - r) * si - 0.5)
        assert dashed["x1"] - dashed["x0"] == d.up_kernel * si
        in_map = next(f for t, f in figs.items() if t.startswith("Input map"))
        win = [sh for sh in in_map["layout"]["shapes"] if sh["line"].get("dash") == "dash"][0]
        assert (win["x0"], win["y0"], win["x1"]) == (sx - r - 0.5, sy - r - 0.5, sx + r + 0.5)
    at.button(key="explore_edge").click().run()
    from carafe.inspect import start_pixel

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
    return float(_metric(at, "By hand: Σ w·x")), float(_metric(at, "CARAFE op output"))


def test_how_it_works_recomputes_the_op(reference):
    from carafe.explain import explain_pixel

    _, step = reference
    at = _app("how_it_works")
    at.number_input(key="hiw_px_y").set_value(9).run()
    at.number_input(key="hiw_px_x").set_value(14).run()
    ch = at.selectbox(key="hiw_channel").value
    assert at.latex, "every step shows its formula"
    for _ in range(4):
        at.button(key="hiw_next").click().run()
        _no_exception(at)
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
    at = _app("how_it_works")
    at.radio(key="hiw_mode").set_value("Toy 6×6").run()
    for _ in range(4):
        at.button(key="hiw_next").click().run()
    by_hand, op = _hand_metrics(at)
    assert by_hand == pytest.approx(op, abs=1e-5) and at.success
    at.number_input(key="toy_y").set_value(11).run()
    at.selectbox(key="toy_channel").set_value(1).run()
    _no_exception(at)
    by_hand, op = _hand_metrics(at)
    assert by_hand == pytest.approx(op, abs=1e-5)


def _png(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _upload(data: bytes, name: str, page: str | None = None) -> AppTest:
    at = _app()
    at.session_state["image_source"] = "Upload"
    at.session_state["upload_bytes"] = data
    at.session_state["upload_name"] = name
    at.run()
    if page:
        at.switch_page(page).run()
    _no_exception(at)
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
    assert "image 48×64" in at.caption[0].value  # rotated: 48 wide, 64 high
    big = np.zeros((700, 1400, 3), np.uint8)
    at = _upload(_png(Image.fromarray(big)), "big.png")
    assert any("downscaled" in i.value and "512" in i.value for i in at.info) and not at.error


def test_sessions_do_not_share_images():
    a = _upload(_png(Image.fromarray(_GOOD)), "mine.png")
    b = _app()
    b.run()
    assert "image 64×48" in a.caption[0].value  # a sees its upload
    assert "image 64×48" not in b.caption[0].value  # b, at the same time, sees the sample
    assert "upload_bytes" not in b.session_state
    a.run()
    assert "image 64×48" in a.caption[0].value


def test_npz_download_contents(reference):
    import downloads
    import state

    a, _ = reference
    cur = state.Current(a.image, "k", "sample.png", "m", a, len(a.steps) - 1)
    with np.load(io.BytesIO(downloads.download_npz(cur))) as z:
        last = a.steps[-1].index
        assert z[f"step{last}_kernels"].shape == a.steps[-1].carafe.kernels.shape
        np.testing.assert_array_equal(z["image"], a.image)
        assert f"step{last}_output_bilinear" in z


def test_performance_benchmark_button():
    at = _app("performance")
    _no_exception(at)
    from carafe.inspect import paper_check

    ours, paper = paper_check()
    assert any(
        f"{ours['params']:,}" in s.value and f"{paper['params']:,}" in s.value for s in at.success
    )
    at.button(key="bench_run").click().run()
    _no_exception(at)
    assert not at.error, [e.value for e in at.error]
    table = at.session_state["bench_table"]
    assert table.rows and all(r["CARAFE op (ms)"] > 0 for r in table.rows)
    assert _frames(at, "CARAFE op (ms)")[0].shape[0] == len(table.rows)
    assert any(f"{len(table.rows)} rows" in c.value for c in at.caption)


def test_headless_grouped_checkpoint(monkeypatch):
    """A converted detection checkpoint (no head) with G=2 kernel groups: every page copes."""
    import carafe.models as models
    from carafe.models import build_model, default_config

    cfg = default_config()
    cfg["upsampler"]["up_group"] = 2
    cfg["num_classes"], cfg["class_names"] = 0, []
    model = build_model(cfg).eval()
    name = "converted_test_g2"
    real_list, real_load = models.list_pretrained, models.load_pretrained
    monkeypatch.setattr(models, "list_pretrained", lambda: [*real_list(), name])
    monkeypatch.setattr(
        models,
        "load_pretrained",
        lambda n="carafe", device="cpu": model if n == name else real_load(n),
    )
    at = _app()
    at.session_state["checkpoint"] = name
    at.run()
    _no_exception(at)
    c = cfg["fpn_channels"]
    assert at.radio(key="explore_group").options == [
        f"group 0 (channels 0–{c // 2 - 1})",
        f"group 1 (channels {c // 2}–{c - 1})",
    ]
    at.radio(key="explore_group").set_value(1).run()
    _no_exception(at)
    for page in ("compressed", "compare", "how_it_works", "performance"):
        at.switch_page(f"app_pages/{page}.py").run()
        _no_exception(at)
        assert not at.error, [e.value for e in at.error]
    at.switch_page("app_pages/compare.py").run()
    assert any("no segmentation head" in i.value for i in at.info)


def _metrics_fixture() -> dict:
    """A small metrics.json in the schema `python -m carafe.evaluate` writes."""

    def run(kind, name, seed, miou, alignment):
        return {
            "upsampler": kind,
            "display_name": name,
            "seed": seed,
            "miou": miou,
            "boundary_f": miou - 5,
            "class_boundary_f": miou - 10,
            "per_class_iou": {"background": 95.0, "star": miou - 20},
            "upsampler_params": 100,
            "upsampler_params_all": 300,
            "upsampler_flops_per_input_pixel": 1000,
            "upsampler_mflops_per_image": 2.5,
            "model_params": 5000,
            "upsampler_latency_ms": 0.5,
            "kernel_alignment": alignment,
        }

    ka = {
        "boundary_pixels": 1234,
        "own_object_share": {
            "carafe": 0.797,
            "carafe_moved": 0.629,
            "bilinear": 0.854,
            "nearest": 0.916,
            "uniform": 0.581,
        },
        "off_centre_own_share": {
            "carafe": 0.61,
            "carafe_moved": 0.40,
            "bilinear": 0.55,
            "nearest": None,
            "uniform": 0.52,
        },
    }
    runs = [run("carafe", "CARAFE", 0, 81.5, ka), run("bilinear", "Bilinear", 0, 79.0, None)]
    means = [dict(r, seed="mean", num_seeds=1) for r in runs]
    return {
        "split": "heldout",
        "heldout_images": 500,
        "image_size": 128,
        "boundary_tolerance_px": 1,
        "class_boundary_tolerance": "0.75% of the image diagonal",
        "runs": runs,
        "means": means,
    }


def test_metrics_view_for_the_evaluate_schema():
    from carafe.inspect import metrics_view

    view = metrics_view(_metrics_fixture())
    assert [r["upsampler"] for r in view.means.rows] == ["CARAFE", "Bilinear"]
    assert view.means.rows[0]["mIoU (%)"] == 81.5 and "seed" not in view.means.columns
    assert view.means.rows[0]["params, one upsampler"] == 100
    assert view.means.rows[0]["params, all FPN upsamplers"] == 300
    assert "500 scenes of 128×128" in view.caption and "0.75% of the image diagonal" in view.caption
    kernels = [r["kernel"] for r in view.alignment.rows]
    assert len(kernels) == 5 and any("content-blind" in k for k in kernels)
    uniform = next(r for r in view.alignment.rows if r["kernel"].startswith("uniform"))
    assert uniform["own-object share"] == 0.581
    text = " ".join(view.notes)
    assert "0.797" in text and "0.629" in text and "bilinear 0.854" in text
    assert "bilinear-like" not in text + " ".join(kernels)
    assert view.per_class.rows[1]["star"] == 59.0
    with pytest.raises(KeyError, match="heldout_images"):
        metrics_view({k: v for k, v in _metrics_fixture().items() if k != "heldout_images"})


def test_compare_page_shows_the_stored_metrics(tmp_path, monkeypatch):
    import json

    import carafe.catalog

    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(_metrics_fixture()))
    monkeypatch.setattr(carafe.catalog, "METRICS_FILE", path)
    at = _app("compare")
    _no_exception(at)
    assert _frames(at, "seeds")[0]["mIoU (%)"].tolist() == [81.5, 79.0]
    assert any("0.629" in m.value and "content-blind" in m.value for m in at.markdown)
    assert not any("bilinear-like" in m.value for m in at.markdown)
    footer = _footer(at)
    assert "Stored, not computed here" in footer and "metrics.json" in footer


def test_compare_page_renders_the_shipped_metrics_file():
    """Whatever assets/metrics.json holds: its means as a table, or a clear warning."""
    from carafe.inspect import load_metrics, metrics_view

    metrics = load_metrics()
    if metrics is None:
        pytest.skip("no assets/metrics.json")
    at = _app("compare")
    _no_exception(at)
    try:
        view = metrics_view(metrics)
    except KeyError:
        assert any("metrics.json does not have the layout" in w.value for w in at.warning)
        return
    shown = _frames(at, "seeds")[0]
    assert shown["mIoU (%)"].tolist() == [r["mIoU (%)"] for r in view.means.rows]


def test_explore_marks_zero_padding_and_uses_a_fixed_colour_scale(reference):
    from carafe.inspect import kernel_view

    _, step = reference
    at = _app()
    at.run()
    at.number_input(key="explore_px_y").set_value(0).run()
    at.number_input(key="explore_px_x").set_value(0).run()
    _no_exception(at)
    v = kernel_view(step, 0, 0)
    assert v.padding_weight > 0.01  # the corner pixel reads zero padding
    fig = _figures(at)["Reassembly kernel of output pixel (0, 0)"]
    assert fig["data"][0]["zmax"] == 1.0  # fixed 0–1 scale by default
    pads = [sh for sh in fig["layout"]["shapes"] if sh.get("name") == "zero padding"]
    assert len(pads) == int(v.outside.sum()) > 0
    text = np.asarray(fig["data"][0]["text"]).reshape(v.kernel.shape)
    assert all("pad" in t for t in text[v.outside]) and not any(
        "pad" in t for t in text[~v.outside]
    )
    assert any(f"{v.padding_weight:.1%}" in w.value and "zero" in w.value for w in at.warning)
    image = _figures(at)["Image: click an output pixel"]
    assert any("zero padding" in a_["text"] for a_ in image["layout"]["annotations"])
    assert image["layout"]["xaxis"]["range"][0] < -0.5  # the window is shown, not cut off
    at.toggle(key="explore_kernel_scale").set_value(True).run()
    fig = _figures(at)["Reassembly kernel of output pixel (0, 0)"]
    assert fig["data"][0]["zmax"] == pytest.approx(v.kernel.max(), rel=1e-6)


def test_explore_starts_inside_the_image_and_clamps_typed_pixels(reference):
    from carafe.inspect import kernel_view, start_pixel

    a, step = reference
    at = _app()
    at.run()
    start = (at.number_input(key="explore_px_y").value, at.number_input(key="explore_px_x").value)
    assert start == start_pixel(step, 0, a.segmentation)
    assert kernel_view(step, *start).padding_weight <= 0.05
    oh, ow = step.visible_output_hw()
    at.number_input(key="explore_px_x").set_value(999).run()
    _no_exception(at)
    assert at.number_input(key="explore_px_x").value == ow - 1
    assert any("999" in c.value and "outside" in c.value for c in at.caption)


def test_photos_say_what_the_model_was_trained_for():
    import texts

    at = _app()
    at.session_state["sample"] = "cat.jpg"
    at.run()
    assert any(texts.TRAINED_FOR == c.value for c in at.caption)
    at = _app()
    at.session_state["sample"] = "shapes_1.png"
    at.run()
    assert not any(texts.TRAINED_FOR == c.value for c in at.caption)


def test_compressed_page_describes_the_model_shown(reference):
    _, step = reference
    at = _app("compressed")
    _no_exception(at)
    c, cm = step.input.shape[0], step.carafe.compressed.shape[0]
    intro = next(m.value for m in at.markdown if "channel compressor" in m.value)
    assert f"C = **{c}**" in intro and f"C_m = **{cm}**" in intro
    assert ("does not compress" in intro) == (cm >= c)


def test_performance_labels_one_and_all_upsamplers():
    import state

    from carafe.inspect import model_cost

    mc = model_cost(state.get_model(state.checkpoint_names()[0]))
    at = _app("performance")
    _no_exception(at)
    text = next(m.value for m in at.markdown if "This checkpoint upsamples" in m.value)
    assert f"**{mc.params_one:,}** parameters" in text and "**one** upsampler" in text
    assert f"**{mc.params_all:,}** parameters for **all {mc.steps}**" in text
    rows = _frames(at, "parameters (one upsampler)")[1]  # [0]: the paper's C = 256
    assert mc.params_one in rows["parameters (one upsampler)"].tolist()
    assert "Stored, not computed here" in _footer(at)


def test_default_toy_keeps_the_edge_sharp_and_untrained_is_an_option():
    at = _app("how_it_works")
    at.radio(key="hiw_mode").set_value("Toy 6×6").run()
    assert at.radio(key="toy_weights").value.startswith("Edge-aware")
    out = _z(_figures(at)["CARAFE output, channel 0 (12×12)"]["data"][0])
    assert np.abs(out[2:-2, 2:6]).max() <= 0.1 and np.abs(out[2:-2, 6:-2] - 1).max() <= 0.1
    assert any("hand-set" in c.value for c in at.caption)
    at.radio(key="toy_weights").set_value("Untrained (random)").run()
    out = _z(_figures(at)["CARAFE output, channel 0 (12×12)"]["data"][0])
    assert np.abs(out[2:-2, 2:6]).max() > 0.1
    assert any("untrained" in c.value for c in at.caption)


def test_figure_helpers_small_rough_edges():
    import figures as fg
    import plots as pl

    assert fg.number_text([-0.0001, -0.004, -0.006, 0.0], ".2f").tolist() == [
        "0.00",
        "0.00",
        "-0.01",
        "0.00",
    ]
    wheel = pl.wheel_legend(32)
    assert wheel.shape == (32, 32, 4) and wheel[0, 0, 3] == 0 and wheel[16, 16, 3] == 255
    rng = np.random.default_rng(0)
    dy, dx = rng.normal(0, 0.05, (2, 96, 96))
    dy[40:50, 40:50] = 1.5  # one region with a clear lean
    fig = pl.offset_figure(dy, dx, "lean")
    heads = fig.data[-1]
    assert 0 < len(heads.x) <= 4  # arrows only where the lean is clear
    assert heads.marker.size >= 8


def test_image_figure_follows_the_aspect_ratio(tiny_model):
    """A wide image gets a low figure (no large blank bands above and below it)."""
    import figures as fg

    from carafe.inspect import analyze, kernel_view

    heights = {}
    for shape in [(64, 64), (24, 512)]:
        image = np.full((*shape, 3), 128, np.uint8)
        step = analyze(tiny_model, image, baselines=False).steps[0]
        fig = fg.image_figure(image, step, kernel_view(step, 1, 1))
        heights[shape] = fig.layout.height
    assert heights[(24, 512)] < 0.5 * heights[(64, 64)]


def test_dysample_twin_in_explore_compare_and_performance(monkeypatch, reference):
    """With a DySample twin (here an untrained one), Explore shows where the clicked pixel
    samples, Compare its segmentation, Performance its cost."""
    import state
    import torch

    import carafe.models as models
    from carafe.data import CLASS_NAMES
    from carafe.inspect import display_name, dysample_points, sampling_at

    torch.manual_seed(0)
    twin = models.build_model(models.default_config("dysample", class_names=list(CLASS_NAMES)))
    twin = twin.eval()
    real_list, real_load = models.list_pretrained, models.load_pretrained
    monkeypatch.setattr(models, "list_pretrained", lambda: sorted({*real_list(), "dysample"}))
    monkeypatch.setattr(
        models,
        "load_pretrained",
        lambda n="carafe", device="cpu": twin if n == "dysample" else real_load(n),
    )
    state.get_model.clear()
    state.dysample_points_for.clear()
    a, step = reference
    try:
        at = _app()
        at.run()
        at.number_input(key="explore_px_y").set_value(9).run()
        at.number_input(key="explore_px_x").set_value(14).run()
        _no_exception(at)
        fig = _figures(at)["DySample: where output pixel (9, 14) samples"]
        expected = sampling_at(dysample_points(twin, a.image)[-1], step, 9, 14)
        np.testing.assert_allclose(_z(fig["data"][0]), expected.kernel, atol=1e-6)
        assert any("moved by (dx, dy)" in c.value for c in at.caption)
        at.switch_page("app_pages/compare.py").run()
        _no_exception(at)
        assert any("DySample twin" in m.value for m in at.markdown)
        at.switch_page("app_pages/performance.py").run()
        names = _frames(at, "parameters (one upsampler)")[0]["upsampler"].tolist()
        assert display_name("dysample") in names
    finally:
        state.get_model.clear()
        state.dysample_points_for.clear()
