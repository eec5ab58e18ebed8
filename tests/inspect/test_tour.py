"""carafe.inspect.tour: the tour's steps, its Sandbox line and its sentences (each checked where
its fact holds and where it does not), on the tiny model and the shipped one."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import carafe.inspect.sandbox.patterns as patterns
import carafe.inspect.sandbox.profile as profiles
import carafe.inspect.sandbox.view as sb
from carafe.inspect.analysis import analyze
from carafe.inspect.explain import explain_pixel
from carafe.inspect.kernel_compare import compare_pixel
from carafe.inspect.pins.words import CENTRED
from carafe.inspect.pixel import kernel_view, start_pixel
from carafe.inspect.tour.sandbox_line import sandbox_line
from carafe.inspect.tour.steps import STEPS
from carafe.inspect.tour.words import (
    edge_sentence,
    kernel_sentence,
    pixel_sentence,
    reassembly_sentence,
    sandbox_sentence,
    softmax_sentence,
)


@pytest.fixture(scope="module")
def tiny(tiny_model, small_image):
    return small_image, analyze(tiny_model, small_image)


def test_steps_carry_one_pixel_from_explore_through_how_it_works_to_the_sandbox_and_back():
    assert 5 <= len(STEPS) <= 8
    pages = [s.page for s in STEPS]
    assert pages[0] == pages[-1] == "explore"
    i, j, k = pages.index("how_it_works"), pages.index("sandbox"), len(pages) - 1
    assert i < j < k
    assert len({s.key for s in STEPS}) == len(STEPS)
    assert all(s.stage in range(5) for s in STEPS if s.page == "how_it_works")
    assert [s.key for s in STEPS if s.pins] == [STEPS[-1].key]


@pytest.mark.parametrize("which", ["astronaut", "shapes", "tiny"])
def test_every_step_sentence_is_worded_from_the_analysis(which, request):
    image, a = request.getfixturevalue(which)
    step = a.steps[-1]
    y, x = start_pixel(step, 0, a.segmentation)
    v = kernel_view(step, y, x)
    ch = int(step.channel_order[0])
    e = explain_pixel(step, y, x, ch)
    for s in STEPS:
        if s.key in ("sandbox", "pins"):
            continue
        text = pixel_sentence(
            s.key, step, y, x, segmentation=a.segmentation, class_names=a.class_names
        )
        assert text and "nan" not in text, (s.key, text)
    kernel = pixel_sentence("kernel", step, y, x)
    assert f"({y}, {x})" in kernel and f"{v.peak:.2f}" in kernel
    assert f"{e.value_op:.3f}" in pixel_sentence("reassembly", step, y, x)
    assert f"{e.kernel.max():.3f}" in pixel_sentence("softmax", step, y, x)


def test_kernel_sentence_names_the_side_it_leans_to_and_its_weight(shapes):
    _, a = shapes
    step = a.steps[-1]
    v = kernel_view(step, *start_pixel(step, 0, a.segmentation))
    k, r = v.kernel.shape[0], (v.kernel.shape[0] - 1) // 2
    assert np.hypot(*v.lean) >= CENTRED
    text = kernel_sentence(v)
    dy, dx = v.lean
    if abs(dx) >= abs(dy):
        near = v.kernel[:, r + 1 :] if dx > 0 else v.kernel[:, :r]
        side = "right of" if dx > 0 else "left of"
    else:
        near = v.kernel[r + 1 :] if dy > 0 else v.kernel[:r]
        side = "below" if dy > 0 else "above"
    assert f"{near.sum():.2f} of its weight on the {k * r} taps {side}" in text
    assert "leans" in text and "centred" not in text
    # the other way: a uniform kernel has no lean
    k2 = k * k
    flat = dataclasses.replace(v, kernel=np.full((k, k), 1 / k2), lean=(0.0, 0.0), peak=1 / k2)
    text = kernel_sentence(flat)
    assert "is centred" in text and "leans" not in text
    assert f"its {k2 // 2 + 1} heaviest taps hold half" in text
    padded = dataclasses.replace(flat, padding_weight=0.3)
    assert "0.30 of the weight lies on taps outside the image" in kernel_sentence(padded)
    assert "outside the image" not in text


def test_edge_sentence_both_ways(astronaut):
    image, a = astronaut
    step = a.steps[-1]
    y, x = start_pixel(step, 0, a.segmentation)
    # a boundary through this pixel's window whatever the model segments on the photo: the
    # sentence is about the kernels on either side of it
    _, ix = step.geometry.image_centre(y, x)
    seg = np.zeros(image.shape[:2], np.int64)
    seg[:, ix:] = 1
    cmp = compare_pixel(step, y, x, 0, seg)
    labels = cmp.window_labels
    assert len(np.unique(labels[labels >= 0])) == 2
    share = {m.method: m.own_share for m in cmp.methods}
    text = edge_sentence(cmp, a.class_names)
    assert "crosses a boundary" in text and f"{share['carafe']:.2f}" in text
    more = dataclasses.replace(
        cmp,
        methods=[
            dataclasses.replace(m, own_share=0.9 if m.method == "carafe" else 0.6)
            for m in cmp.methods
        ],
    )
    assert "keeps more of its weight on its own object" in edge_sentence(more, a.class_names)
    less = dataclasses.replace(
        cmp,
        methods=[
            dataclasses.replace(m, own_share=0.5 if m.method == "carafe" else 0.7)
            for m in cmp.methods
        ],
    )
    assert "takes more from the other side" in edge_sentence(less, a.class_names)
    one = dataclasses.replace(cmp, window_labels=np.full_like(labels, cmp.own_label))
    text = edge_sentence(one, a.class_names)
    assert "lies on one predicted class" in text and "crosses" not in text
    assert "no segmentation" in edge_sentence(dataclasses.replace(cmp, window_labels=None))


def test_softmax_sentence_both_ways(shapes):
    _, a = shapes
    step = a.steps[-1]
    e = explain_pixel(step, *start_pixel(step, 0, a.segmentation))
    text = softmax_sentence(e)
    gap = np.sort(e.kernel_logits.ravel())[-1] - np.sort(e.kernel_logits.ravel())[-2]
    assert f"{gap:.2f} above the next" in text and "a peaked kernel" in text
    k = e.kernel.shape[0]
    logits = np.zeros((k, k))
    logits[0, 0] = 0.1
    soft = np.exp(logits) / np.exp(logits).sum()
    diffuse = dataclasses.replace(e, kernel_logits=logits, kernel=soft)
    text = softmax_sentence(diffuse)
    assert "diffuse" in text and "peaked kernel" not in text
    assert f"{soft.max():.3f}" in text


def test_reassembly_sentence_both_ways(shapes):
    _, a = shapes
    step = a.steps[-1]
    e = explain_pixel(step, *start_pixel(step, 0, a.segmentation), int(step.channel_order[0]))
    values = e.window[~e.outside_image]
    lo, hi = values.min(), values.max()
    at = lambda f: lo + f * (hi - lo)  # noqa: E731 - a value f of the way up the window
    high = dataclasses.replace(e, value_op=at(0.8), bilinear_value=at(0.3))
    assert "80% of the way" in reassembly_sentence(high)
    assert "more from the window's high values" in reassembly_sentence(high)
    low = dataclasses.replace(e, value_op=at(0.1), bilinear_value=at(0.5))
    assert "more from the window's low values" in reassembly_sentence(low)
    same = dataclasses.replace(e, value_op=at(0.5), bilinear_value=at(0.52))
    assert "about where bilinear does" in reassembly_sentence(same)
    alone = dataclasses.replace(e, bilinear_value=None)
    assert "Bilinear" not in reassembly_sentence(alone)
    flat = dataclasses.replace(e, window=np.full_like(e.window, 2.0))
    assert "holds one value" in reassembly_sentence(flat)


def test_sandbox_line_goes_through_the_pixel_along_its_lean(astronaut):
    image, a = astronaut
    step = a.steps[-1]
    y, x = start_pixel(step, 0, a.segmentation)
    v = kernel_view(step, y, x)
    iy, ix = step.geometry.image_centre(y, x)
    line = sandbox_line(step, y, x, image.shape[:2])  # the same size: the same point
    assert (line.cy, line.cx) == (iy, ix) and line.scale == 1.0
    dy, dx = (
        patterns.line_through(0, 0, line.angle, 2).y1,
        patterns.line_through(0, 0, line.angle, 2).x1,
    )
    assert np.hypot(dy - v.lean[0] / np.hypot(*v.lean), dx - v.lean[1] / np.hypot(*v.lean)) < 0.02
    half = sandbox_line(step, y, x, (image.shape[0] // 2, image.shape[1] // 2))
    assert half.scale == 0.5 and abs(half.cy - iy / 2) <= 1 and abs(half.cx - ix / 2) <= 1
    assert half.angle == line.angle and 8 <= half.length <= 2 * max(half.hw)


def test_sandbox_sentence_both_ways(default_model):
    pattern = patterns.make_pattern("edge", 128, angle=90)
    step = analyze(default_model, pattern.image).steps[-1]
    view = sb.sandbox_view(step, pattern.image, pattern.mask)
    prof = profiles.profile_along(view, patterns.line_through(64, 64, 0, 60))
    c, b = prof.steepest["carafe"], prof.steepest["bilinear"]
    text = sandbox_sentence(prof)
    assert f"{c:.3f} against bilinear's {b:.3f}" in text
    steeper = dataclasses.replace(prof, steepest={"carafe": 0.6, "bilinear": 0.2})
    said = sandbox_sentence(steeper)
    assert "3.0× as steep as bilinear's" in said and "keeps the step" not in said
    level = dataclasses.replace(prof, steepest={"carafe": 0.2, "bilinear": 0.2})
    assert "not clearly steeper" in sandbox_sentence(level)
    flat = dataclasses.replace(prof, input_steepest=0.0)
    assert "no step to keep" in sandbox_sentence(flat)
    short = dataclasses.replace(prof, pixels=prof.pixels[:1])
    assert "fewer than two output pixels" in sandbox_sentence(short)
    line = sandbox_line(step, 16, 16, (64, 64))
    assert "copy of your image (×0.50)" in sandbox_sentence(prof, line)
    same = sandbox_line(step, 16, 16, pattern.image.shape[:2])
    assert "at its own size" in sandbox_sentence(prof, same)
