"""What the pages say, driven by AppTest: zero padding marked, fixed colour scales, numbers that
agree (metrics, costs, compressor), the toy's edge, small figure details, the DySample twin."""

from __future__ import annotations

import json

import figures.images as image_figs
import figures.maps as map_figs
import numpy as np
import pytest
from figures import draw
from figures.click_image import PAD_GREY, WINDOW_COLOURS

from tests.app.conftest import (
    assert_no_exception,
    figures_by_title,
    footer_text,
    frames_with,
    heatmap_z,
    open_app,
    serve_checkpoint,
)


def _metrics_fixture() -> dict:
    """A small metrics.json in the schema `carafe-evaluate` writes."""

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
    from carafe.inspect.catalog import metrics_view

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

    import carafe.inspect.catalog

    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(_metrics_fixture()))
    monkeypatch.setattr(carafe.inspect.catalog, "METRICS_FILE", path)
    at = open_app("compare")
    assert_no_exception(at)
    assert frames_with(at, "seeds")[0]["mIoU (%)"].tolist() == [81.5, 79.0]
    assert any("0.629" in m.value and "content-blind" in m.value for m in at.markdown)
    assert not any("bilinear-like" in m.value for m in at.markdown)
    footer = footer_text(at)
    assert "Stored, not computed here" in footer and "metrics.json" in footer


def test_compare_page_renders_the_shipped_metrics_file():
    """Whatever assets/metrics.json holds: its means as a table, or a clear warning."""
    from carafe.inspect.catalog import load_metrics, metrics_view

    metrics = load_metrics()
    if metrics is None:
        pytest.skip("no assets/metrics.json")
    at = open_app("compare")
    assert_no_exception(at)
    try:
        view = metrics_view(metrics)
    except KeyError:
        assert any("metrics.json does not have the layout" in w.value for w in at.warning)
        return
    shown = frames_with(at, "seeds")[0]
    assert shown["mIoU (%)"].tolist() == [r["mIoU (%)"] for r in view.means.rows]


def test_explore_marks_zero_padding_and_uses_a_fixed_colour_scale(reference):
    from carafe.inspect.pixel import kernel_view

    _, step = reference
    at = open_app()
    at.run()
    at.number_input(key="explore_px_y").set_value(0).run()
    at.number_input(key="explore_px_x").set_value(0).run()
    assert_no_exception(at)
    v = kernel_view(step, 0, 0)
    assert v.padding_weight > 0.01  # the corner pixel reads zero padding
    fig = figures_by_title(at)["Reassembly kernel of output pixel (0, 0)"]
    assert fig["data"][0]["zmax"] == 1.0  # fixed 0–1 scale by default
    pads = [sh for sh in fig["layout"]["shapes"] if sh.get("name") == "zero padding"]
    assert len(pads) == int(v.outside.sum()) > 0
    text = np.asarray(fig["data"][0]["text"]).reshape(v.kernel.shape)
    assert all("pad" in t for t in text[v.outside]) and not any(
        "pad" in t for t in text[~v.outside]
    )
    assert any(f"{v.padding_weight:.1%}" in w.value and "zero" in w.value for w in at.warning)
    # the picture shows the window past the image on a grey margin, not cut off
    canvas = at.session_state["explore_canvas"]
    z = int(canvas.zoom)
    assert canvas.margin == 2 * step.stride_in  # how far a 5×5 window reaches past the image
    assert tuple(canvas.rgb[0, 0]) == WINDOW_COLOURS[0]  # the window's corner, in the margin
    assert tuple(canvas.rgb[z, (canvas.margin + 100) * z]) == PAD_GREY  # the margin is grey
    at.toggle(key="explore_kernel_scale").set_value(True).run()
    fig = figures_by_title(at)["Reassembly kernel of output pixel (0, 0)"]
    assert fig["data"][0]["zmax"] == pytest.approx(v.kernel.max(), rel=1e-6)


def test_explore_starts_at_the_typical_edge_pixel_and_clamps_typed_pixels(reference):
    """It starts at the image's typical straddling pixel (median CARAFE lead over bilinear),
    says so, and its window lies inside the image."""
    from carafe.inspect.imageio import sample_images, sample_scene
    from carafe.inspect.pixel import kernel_view
    from carafe.inspect.regions import image_alignment

    a, step = reference
    default = next(iter(sample_images()))  # a shapes scene: measured on its true masks
    edges = image_alignment(a, labels=sample_scene(default)[1])
    assert edges.true_labels
    assert edges.step_index == step.index
    at = open_app()
    at.run()
    start = (at.number_input(key="explore_px_y").value, at.number_input(key="explore_px_x").value)
    assert start == edges.typical
    assert any("is the typical straddling pixel" in c.value for c in at.caption)
    assert any(m.value.startswith("**This image's edges.**") for m in at.markdown)
    assert kernel_view(step, *start).padding_weight <= 0.05
    oh, ow = step.visible_output_hw()
    at.number_input(key="explore_px_x").set_value(999).run()
    assert_no_exception(at)
    assert at.number_input(key="explore_px_x").value == ow - 1
    assert any("999" in c.value and "outside" in c.value for c in at.caption)


def test_photos_say_what_the_model_was_trained_for():
    import texts

    at = open_app()
    at.session_state["sample"] = "cat.jpg"
    at.run()  # a photo runs the photo model: no classes, so no class caption but why
    assert not any(texts.TRAINED_FOR == c.value for c in at.caption)
    assert any(texts.NO_SEGMENTATION_PHOTO == c.value for c in at.caption)
    at.sidebar.radio(key="model_task").set_value("scenes").run()  # the scene model on a photo
    assert any(texts.TRAINED_FOR == c.value for c in at.caption)
    at = open_app()
    at.session_state["sample"] = "shapes_1.png"
    at.run()
    assert not any(texts.TRAINED_FOR == c.value for c in at.caption)


def test_compressed_page_describes_the_model_shown(reference):
    _, step = reference
    at = open_app("compressed")
    assert_no_exception(at)
    c, cm = step.input.shape[0], step.carafe.compressed.shape[0]
    intro = next(m.value for m in at.markdown if "channel compressor" in m.value)
    assert f"C = **{c}**" in intro and f"C_m = **{cm}**" in intro
    assert ("does not compress" in intro) == (cm >= c)


def test_performance_labels_one_and_all_upsamplers():
    import state

    from carafe.inspect.catalog import model_cost

    mc = model_cost(state.get_model(state.checkpoint_names()[0]))
    at = open_app("performance")
    assert_no_exception(at)
    text = next(m.value for m in at.markdown if "This checkpoint upsamples" in m.value)
    assert f"**{mc.params_one:,}** parameters" in text and "**one** upsampler" in text
    assert f"**{mc.params_all:,}** parameters for **all {mc.steps}**" in text
    rows = frames_with(at, "parameters (one upsampler)")[1]  # [0]: the paper's C = 256
    assert mc.params_one in rows["parameters (one upsampler)"].tolist()
    assert "Stored, not computed here" in footer_text(at)


def test_default_toy_keeps_the_edge_sharp_and_untrained_is_an_option():
    at = open_app("how_it_works")
    at.radio(key="hiw_mode").set_value("Toy 6×6").run()
    assert at.radio(key="toy_weights").value.startswith("Edge-aware")
    out = heatmap_z(figures_by_title(at)["CARAFE output, channel 0 (12×12)"]["data"][0])
    assert np.abs(out[2:-2, 2:6]).max() <= 0.1 and np.abs(out[2:-2, 6:-2] - 1).max() <= 0.1
    assert any("hand-set" in c.value for c in at.caption)
    at.radio(key="toy_weights").set_value("Untrained (random)").run()
    out = heatmap_z(figures_by_title(at)["CARAFE output, channel 0 (12×12)"]["data"][0])
    assert np.abs(out[2:-2, 2:6]).max() > 0.1
    assert any("untrained" in c.value for c in at.caption)


def test_figure_helpers_small_rough_edges():

    assert draw.number_text([-0.0001, -0.004, -0.006, 0.0], ".2f").tolist() == [
        "0.00",
        "0.00",
        "-0.01",
        "0.00",
    ]
    assert draw.number_text([-0.001, 0.3, -0.2], "+.2f").tolist() == ["+0.00", "+0.30", "-0.20"]
    wheel = map_figs.wheel_legend(32)
    assert wheel.shape == (32, 32, 4) and wheel[0, 0, 3] == 0 and wheel[16, 16, 3] == 255
    rng = np.random.default_rng(0)
    dy, dx = rng.normal(0, 0.05, (2, 96, 96))
    dy[40:50, 40:50] = 1.5  # one region with a clear lean
    fig = map_figs.offset_figure(dy, dx, "lean")
    heads = fig.data[-1]
    assert 0 < len(heads.x) <= 4  # arrows only where the lean is clear
    assert heads.marker.size >= 8


@pytest.mark.parametrize(
    "out_hw, selected", [((64, 64), (21, 53)), ((128, 96), (0, 95)), ((16, 16), (8, 8))]
)
def test_click_targets_reach_every_pixel_and_are_exact_near_the_selection(out_hw, selected):
    """Every output pixel has a marker within half a grid step; within the radius every pixel
    has its own; no coarse marker reaches into that area; a few hundred markers at most."""

    (gy, gx, sub), (fy, fx) = image_figs.click_targets(out_hw, selected)
    rows = np.concatenate([gy, fy])
    cols = np.concatenate([gx, fx])
    assert len(rows) <= image_figs.CLICK_GRID**2 + (2 * image_figs.CLICK_RADIUS + 1) ** 2
    oh, ow = out_hw
    yy, xx = np.mgrid[0:oh, 0:ow]
    gap = np.min(np.maximum(np.abs(yy[..., None] - rows), np.abs(xx[..., None] - cols)), axis=-1)
    assert gap.max() <= sub // 2
    near = (np.abs(yy - selected[0]) <= image_figs.CLICK_RADIUS) & (
        np.abs(xx - selected[1]) <= image_figs.CLICK_RADIUS
    )
    assert set(zip(yy[near], xx[near], strict=True)) == set(zip(fy, fx, strict=True))
    reach = image_figs.CLICK_RADIUS + sub // 2
    assert not np.any((np.abs(gy - selected[0]) <= reach) & (np.abs(gx - selected[1]) <= reach))
    assert sub == image_figs.click_grid_step(out_hw)


def test_dysample_twin_in_explore_compare_and_performance(monkeypatch, reference):
    """With a DySample twin (here an untrained one), Explore shows where the clicked pixel
    samples, Compare its segmentation, Performance its cost."""
    import state
    import torch

    import carafe.models as models
    from carafe.inspect.catalog import display_name
    from carafe.inspect.sampling import dysample_points, sampling_at
    from carafe.models.inference import fused_for_inference
    from carafe.training.data import CLASS_NAMES

    torch.manual_seed(0)
    twin = models.build_model(models.default_config("dysample", class_names=list(CLASS_NAMES)))
    twin = twin.eval()
    serve_checkpoint(monkeypatch, "dysample", twin)
    state.get_model.clear()
    state.get_twin.clear()
    state.twin_analysis_for.clear()
    a, step = reference
    try:
        at = open_app()
        at.run()
        at.number_input(key="explore_px_y").set_value(9).run()
        at.number_input(key="explore_px_x").set_value(14).run()
        assert_no_exception(at)
        fig = figures_by_title(at)["DySample: where output pixel (9, 14) samples"]
        # the app runs the twin as a copy with BatchNorm folded (same points to rounding)
        shown = fused_for_inference(twin)
        expected = sampling_at(dysample_points(shown, a.image)[-1], step, 9, 14)
        np.testing.assert_allclose(heatmap_z(fig["data"][0]), expected.kernel, atol=1e-6)
        words = next(c.value for c in at.caption if "moved by" in c.value)
        # one convention, (row, col), for the start, the moves and the taps
        assert "(x, y)" not in words and "(dx, dy)" not in words
        dx, dy = expected.offsets[0]
        start = f"(row, col) = ({expected.start[1]:.2f}, {expected.start[0]:.2f})"
        from figures import draw

        moved = "({}, {})".format(*draw.number_text([dy, dx], "+.2f"))  # no "-0.00"
        assert start in words and f"moved by (rows, cols) = {moved}" in words
        at.switch_page("app_pages/compare.py").run()
        assert_no_exception(at)
        assert any("DySample twin" in m.value for m in at.markdown)
        at.switch_page("app_pages/performance.py").run()
        names = frames_with(at, "parameters (one upsampler)")[0]["upsampler"].tolist()
        assert display_name("dysample") in names
    finally:
        state.get_model.clear()
        state.get_twin.clear()
        state.twin_analysis_for.clear()


def test_compressed_page_defines_energy_and_drops_an_idle_toggle():
    at = open_app("compressed")
    assert_no_exception(at)
    assert any("**energy** is the mean of its squared values" in m.value for m in at.markdown)
    # the shipped model has C_m = 16: one page, so a "one scale for all" switch would do nothing
    assert "compressed_shared" not in [t.key for t in at.toggle]
    assert any("All 16 maps share one colour scale" in c.value for c in at.caption)


def test_performance_bars_use_a_log_axis():
    at = open_app("performance")
    at.button(key="bench_run").click().run()
    assert_no_exception(at)
    specs = [json.loads(el.proto.spec) for el in at.get("plotly_chart")]
    bars = [s for s in specs if any(t["type"] == "bar" for t in s["data"])]
    assert bars and all(s["layout"]["yaxis"]["type"] == "log" for s in bars)


def test_sample_labels_fit_the_sidebar():
    import texts

    assert all(len(label) <= 26 for label in texts.SAMPLE_LABELS.values())
