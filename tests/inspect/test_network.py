"""The whole network: the diagram records read from a model, one image point traced through
every top-down step (kernels and DySample points), and the captions comparing them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from carafe.inspect.analysis import analyze
from carafe.inspect.catalog import load_model
from carafe.inspect.imageio import load_image_file, sample_images
from carafe.inspect.network.diagram import network_diagram
from carafe.inspect.network.trace import map_to_image, trace_kernels, trace_sampling
from carafe.inspect.network.words import (
    notice_lines,
    offset_rows_cols,
    sampling_caption,
    trace_caption,
    unused_outputs_line,
)
from carafe.inspect.sampling import dysample_points
from carafe.models import build_model, default_config
from tests.conftest import TinySegModel


@pytest.fixture(scope="module")
def shipped():
    """(model, analysis) of the shipped CARAFE model on the first sample image."""
    model = load_model("carafe")
    image = load_image_file(next(iter(sample_images().values()))).array
    return model, analyze(model, image, baselines=False)


@pytest.fixture(scope="module")
def dysample_run():
    """A small random DySample model with visible offsets, its analysis and its points."""
    torch.manual_seed(0)
    model = build_model(default_config("dysample", fpn_channels=8)).eval()
    for m in model.neck.upsample_modules:
        with torch.no_grad():
            m.offset.bias.normal_(std=2.0)  # offsets of about half a pixel (the random
            # backbone's maps are too faint for the weights to move anything)
    image = (np.random.default_rng(1).random((70, 90, 3)) * 255).astype(np.uint8)
    return model, analyze(model, image, baselines=False), dysample_points(model, image)


# --- the diagram ------------------------------------------------------------------------------
def test_shipped_diagram_is_read_from_the_model(shipped):
    model, a = shipped
    d = network_diagram(model, a)
    assert [b.name for b in d.backbone_levels] == ["C2", "C3", "C4", "C5"]
    # measured on the probe run, and equal to what the backbone declares
    assert [b.stride for b in d.backbone_levels] == [4, 8, 16, 32] == list(model.backbone.strides)
    assert [b.channels for b in d.backbone_levels] == list(model.backbone.out_channels)
    assert d.backbone == "MobileNetV2"
    assert [s.name for s in d.steps] == ["P5→P4", "P4→P3", "P3→P2"]
    assert [s.label for s in d.steps] == model.neck.step_names()
    assert [s.position for s in d.steps] == [0, 1, 2]
    assert {s.kind for s in d.steps} == {"carafe"} and {s.module for s in d.steps} == {"CARAFEPack"}
    assert [(s.stride_in, s.stride_out) for s in d.steps] == [(32, 16), (16, 8), (8, 4)]
    for rec, step in zip(d.steps, a.steps, strict=True):  # map sizes of the analysed image
        assert rec.input_hw == step.input.shape[1:] and rec.output_hw == step.output.shape[1:]
        assert f"up_kernel={step.carafe.up_kernel}" in rec.settings
        module = model.neck.upsample_modules[rec.index]
        assert rec.parameters == sum(p.numel() for p in module.parameters())
    assert [p.name for p in d.pyramid] == ["P2", "P3", "P4", "P5"]
    for p, b in zip(d.pyramid, d.backbone_levels, strict=True):
        conv = model.neck.lateral_convs[p.level].conv
        assert (p.lateral.in_channels, p.lateral.out_channels) == (b.channels, conv.out_channels)
        assert p.lateral.kernel == 1 and p.lateral.label == f"1×1 conv {b.channels}→64"
        assert p.reads == b.name and p.stride == b.stride
        assert p.output_conv.kernel == 3 and p.channels == 64
    h, w = a.image.shape[:2]
    assert d.pyramid[0].map_hw == (h // 4, w // 4)  # a 256×256 sample needs no padding
    assert d.image_hw == (h, w) == d.padded_hw
    assert d.head.layers == ("3×3 conv 64→64", "BatchNorm", "1×1 conv 64→5")
    assert d.head.num_classes == model.num_classes == 5


def test_tiny_model_draws_its_own_network(tiny_model, small_image):
    d = network_diagram(tiny_model)
    assert [(b.name, b.stride, b.channels) for b in d.backbone_levels] == [
        ("C2", 4, 8),
        ("C3", 8, 8),
    ]
    assert [s.name for s in d.steps] == ["P3→P2"]
    assert d.steps[0].label == "P3→P2 (stride 8→4)"  # no step_names(): built from the records
    assert d.backbone == "ModuleList"
    assert [p.lateral for p in d.pyramid] == [None, None]  # it has no lateral convs
    assert d.head.layers == ("1×1 conv 8→3",)
    assert d.steps[0].input_hw is None and d.image_hw is None  # no image analysed
    a = analyze(tiny_model, small_image, baselines=False)
    d = network_diagram(tiny_model, a)
    assert d.steps[0].input_hw == (7, 10) and d.steps[0].output_hw == (13, 19)  # 52×76 image
    assert d.padded_hw == d.image_hw == (52, 76)  # it pads nothing


def test_diagram_refuses_another_models_analysis(shipped, tiny_model):
    _, a = shipped
    with pytest.raises(ValueError, match="another model"):
        network_diagram(tiny_model, a)


# --- one point through every step -------------------------------------------------------------
POINTS = [(0, 0), (37, 200), (128, 129), (255, 255), (300, -5)]  # the last is clipped


@pytest.mark.parametrize("iy, ix", POINTS)
def test_traced_kernels_are_the_steps_own(shipped, iy, ix):
    _, a = shipped
    traced = trace_kernels(a, iy, ix)
    assert [t.name for t in traced] == ["P5→P4", "P4→P3", "P3→P2"]
    h, w = a.image.shape[:2]
    py, px = min(max(iy, 0), h - 1), min(max(ix, 0), w - 1)
    for t, step in zip(traced, a.steps, strict=True):
        assert t.point == (py, px)
        assert t.pixel == step.geometry.output_pixel_at(py, px)
        assert t.pixel == (py // step.stride_out, px // step.stride_out)
        oy, ox = t.pixel
        assert t.view.source == (oy // 2, ox // 2)
        k = step.carafe.up_kernel
        for dy in range(k):  # mask channel dy·k + dx at output pixel (y, x)
            for dx in range(k):
                assert t.view.kernel[dy, dx] == pytest.approx(
                    float(step.carafe.kernels[dy * k + dx, oy, ox]), abs=1e-7
                )
        assert t.view.entropy == pytest.approx(float(step.carafe.entropy[0, oy, ox]))
        assert t.window_px == k * step.stride_in
        r = k // 2
        total = sum(
            t.view.kernel[dy, dx] * np.hypot(dy - r, dx - r) * step.stride_in
            for dy in range(k)
            for dx in range(k)
        )
        assert t.spread_px == pytest.approx(total / t.view.kernel.sum())
    assert [t.window_px for t in traced] == [160, 80, 40]


def test_traced_kernels_of_another_group():
    model = TinySegModel(up_group=2).eval()
    image = (np.random.default_rng(2).random((40, 48, 3)) * 255).astype(np.uint8)
    a = analyze(model, image, baselines=False)
    (t,) = trace_kernels(a, 21, 30, group=1)
    d, (oy, ox) = a.steps[0].carafe, (21 // 4, 30 // 4)
    assert t.pixel == (oy, ox)
    k = d.up_kernel
    expected = [[d.kernels[(1 * k + dy) * k + dx, oy, ox] for dx in range(k)] for dy in range(k)]
    np.testing.assert_allclose(t.view.kernel, expected, atol=1e-7)


# --- the caption, both ways -------------------------------------------------------------------
def _with(t, **view):
    return replace(t, view=replace(t.view, **view))


def _uniform(t):
    k = t.view.kernel.shape[0]
    return _with(
        t,
        kernel=np.full((k, k), 1 / k**2),
        entropy=float(np.log(k * k)),
        peak=1 / k**2,
        padding_weight=0.0,
    )


def test_caption_names_the_windows_reach(shipped):
    _, a = shipped
    traced = trace_kernels(a, 128, 128)
    text = trace_caption(traced)
    assert "P5→P4 160×160 (stride 32)" in text and "P3→P2 40×40 (stride 8)" in text
    assert "reach 4× further at P5→P4 than at P3→P2" in text
    same = [replace(t, window_px=40, stride_in=8) for t in traced]  # every step as fine
    assert "further" not in trace_caption(same)


def test_caption_names_the_most_concentrated_kernel_or_none(shipped):
    _, a = shipped
    flat = [_uniform(t) for t in trace_kernels(a, 128, 128)]
    text = trace_caption(flat)
    assert "about equally concentrated" in text and "most concentrated" not in text
    peaked = flat[:2] + [_with(flat[2], entropy=0.3, peak=0.9)]
    text = trace_caption(peaked)
    assert "P3→P2's kernel is the most concentrated (entropy 0.30 nats, peak 0.90)" in text
    assert "about equally" not in text


def test_caption_mentions_padding_only_when_there_is_some(shipped):
    _, a = shipped
    flat = [_uniform(t) for t in trace_kernels(a, 128, 128)]
    assert "zero padding" not in trace_caption(flat)
    padded = [_with(flat[0], padding_weight=0.2)] + flat[1:]
    assert "zero padding (the window passes the image border): 20.0% at P5→P4." in (
        trace_caption(padded)
    )
    # and the real corner pixel's coarse window does reach past the image
    corner = trace_kernels(a, 0, 0)
    assert corner[0].view.padding_weight > 0 and "zero padding" in trace_caption(corner)


def test_caption_without_kernels():
    assert "no CARAFE step" in trace_caption([])


# --- DySample ---------------------------------------------------------------------------------
def test_map_points_land_on_the_image_block_they_cover():
    assert map_to_image(2, 4) == pytest.approx(9.5)  # map pixel 2 = image pixels 8..11
    assert map_to_image(-0.5, 8) == pytest.approx(-0.5)  # the map's edge is the image's edge


def test_traced_sampling_reads_the_points_of_the_output_pixel(dysample_run):
    _, a, points = dysample_run
    iy, ix = 33, 61
    traced = trace_sampling(a, points, iy, ix)
    assert [t.name for t in traced] == ["P5→P4", "P4→P3", "P3→P2"]
    for t, step, pts in zip(traced, a.steps, points, strict=True):
        oy, ox = iy // step.stride_out, ix // step.stride_out
        assert t.pixel == (oy, ox) == step.geometry.output_pixel_at(iy, ix)
        np.testing.assert_allclose(t.view.points, pts[:, oy, ox])
        si = step.stride_in
        np.testing.assert_allclose(t.points_px, (pts[:, oy, ox] + 0.5) * si - 0.5, rtol=1e-6)
        np.testing.assert_allclose(t.offsets_px, (pts[:, oy, ox] - t.view.start) * si, rtol=1e-5)
        assert t.output_box == (oy * step.stride_out, ox * step.stride_out) + (
            (oy + 1) * step.stride_out,
            (ox + 1) * step.stride_out,
        )


def test_traced_sampling_refuses_points_of_another_image(dysample_run, shipped):
    _, a, points = dysample_run
    with pytest.raises(ValueError, match="another image"):
        trace_sampling(shipped[1], points, 0, 0)
    with pytest.raises(ValueError, match="point arrays"):
        trace_sampling(a, points[:2], 0, 0)


def test_sampling_caption_both_ways(dysample_run):
    _, a, points = dysample_run
    traced = trace_sampling(a, points, 33, 61)
    text = sampling_caption(traced)
    for t in traced:
        assert f"{t.mean_move_px:.1f} image px at {t.name}" in text
    far = max(traced, key=lambda t: t.mean_move_px)
    assert f"furthest at {far.name}" in text
    still = [replace(t, offsets_px=np.zeros_like(t.offsets_px)) for t in traced]
    text = sampling_caption(still)
    assert "about equally far" in text and "furthest" not in text
    assert "no DySample step" in sampling_caption([])


# --- what to notice, both ways ----------------------------------------------------------------
def test_only_the_level_the_head_reads_is_used(shipped):
    model, a = shipped
    d = network_diagram(model, a)
    assert d.head.level == 0  # the head reads P2 (SegmentationModel: head(pyramid[0]))
    assert [p.name for p in d.unused_levels] == ["P3", "P4", "P5"]
    assert unused_outputs_line(d) == (
        "Only P2 feeds the head: the output convs of P3, P4 and P5 are computed but feed "
        "nothing (drawn dotted)."
    )
    neck_only = replace(d, head=None)  # a detection neck hands every level on
    assert neck_only.unused_levels == () and unused_outputs_line(neck_only) is None


def test_notice_is_at_most_three_lines_read_from_the_trace(shipped):
    model, a = shipped
    d = network_diagram(model, a)
    traced = trace_kernels(a, 128, 128)
    lines = notice_lines(traced, [], d)
    assert len(lines) == 3
    assert lines[0] == "The same 5×5 kernel reads 160×160 image px at P5→P4 but 40×40 at P3→P2."
    flat = [_uniform(t) for t in traced]
    assert "about equally concentrated" in notice_lines(flat, [], d)[1]
    peaked = flat[:2] + [_with(flat[2], entropy=0.3, peak=0.9)]
    line = notice_lines(peaked, [], d)[1]
    assert "P3→P2's kernel is the most concentrated (entropy 0.30 nats)" in line
    assert "about equally" not in line
    same = [replace(t, window_px=40, stride_in=8) for t in traced]
    assert notice_lines(same, [], d)[0] == "Every 5×5 window covers 40×40 image px."
    assert notice_lines(traced, [], replace(d, head=None))[2:] == []  # nothing unused


def test_notice_of_dysample_points_both_ways(dysample_run):
    model, a, points = dysample_run
    d = network_diagram(model, a)
    traced = trace_sampling(a, points, 33, 61)
    far = max(traced, key=lambda t: t.mean_move_px)
    assert f"furthest on the image at {far.name}" in notice_lines([], traced, d)[0]
    still = [replace(t, offsets_px=np.zeros_like(t.offsets_px)) for t in traced]
    assert (
        notice_lines([], still, d)[0] == "DySample's points move about 0.0 image px at every step."
    )


def test_offsets_are_written_rows_first_as_on_explore():
    assert offset_rows_cols((0.5, -2.0)) == (-2.0, 0.5)  # stored (dx, dy): dy is the row
