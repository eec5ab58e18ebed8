"""carafe.patterns, carafe.subpixel and carafe.sandbox: patterns are what they say, profiles
sample the right pixels, every map shares one scale, flat-area kernel measures."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import carafe.inspect.sandbox.patterns as patterns
import carafe.inspect.sandbox.profile as profiles
import carafe.inspect.sandbox.view as sb
from carafe.inspect.analysis import analyze
from carafe.inspect.kernel_compare import bilinear_kernels
from carafe.inspect.pixel import flat_mask
from carafe.inspect.sandbox.subpixel import _roughness

A, B = (10, 20, 30), (200, 180, 40)


def _colours(p) -> None:
    """Exactly two colours, B on the mask."""
    assert (p.image[p.mask] == B).all() and (p.image[~p.mask] == A).all()


def test_edge_sides_follow_the_angle():
    right = patterns.make_pattern("edge", 64, angle=90, colour_a=A, colour_b=B)
    _colours(right)
    assert right.mask[:, 32:].all() and not right.mask[:, :32].any()  # vertical, B right
    below = patterns.make_pattern("edge", 64, angle=0, colour_a=A, colour_b=B)
    assert below.mask[32:].all() and not below.mask[:32].any()  # horizontal, B below
    left = patterns.make_pattern("edge", 64, angle=270)
    np.testing.assert_array_equal(left.mask, ~right.mask)
    diagonal = patterns.make_pattern("edge", 64, angle=45)  # runs bottom-left to top-right
    np.testing.assert_array_equal(diagonal.mask, diagonal.mask.T)
    assert diagonal.mask[-1, -1] and not diagonal.mask[0, 0]
    dy, dx = patterns.direction(diagonal.across)  # the default profile points into B
    assert dy > 0 and dx > 0


def test_corner_line_checkerboard_disc():
    corner = patterns.make_pattern("corner", 64, angle=90, colour_a=A, colour_b=B)
    _colours(corner)
    assert corner.mask[:32, 32:].all() and corner.mask.sum() == 32 * 32  # the top-right quadrant
    line = patterns.make_pattern("line", 64, angle=90, width=4)
    assert (line.mask.sum(axis=1) == 4).all() and line.mask[:, 30:34].all()
    flat_line = patterns.make_pattern("line", 64, angle=0, width=6)
    assert (flat_line.mask.sum(axis=0) == 6).all()
    board = patterns.make_pattern("checkerboard", 64, square=8, colour_a=A, colour_b=B)
    _colours(board)
    assert not board.mask[0, 0] and board.mask[0, 8] and board.mask[8, 0] and not board.mask[8, 8]
    np.testing.assert_array_equal(board.mask[:, :-8], ~board.mask[:, 8:])  # period 16
    assert (board.mask[:8, :8] == board.mask[0, 0]).all()
    disc = patterns.make_pattern("disc", 128, radius=30)
    assert disc.mask.sum() == pytest.approx(np.pi * 30**2, rel=0.02)
    assert disc.mask[64, 64] and not disc.mask[0, 0] and not disc.mask[64, 64 + 31]
    moved = patterns.make_pattern("disc", 128, radius=10, centre=(20.0, 100.0))
    assert moved.mask[20, 100] and not moved.mask[64, 64]
    with pytest.raises(ValueError, match="unknown pattern"):
        patterns.make_pattern("spiral")
    with pytest.raises(ValueError):
        patterns.make_pattern("line", width=0)


def test_lines_and_colours():
    line = patterns.line_through(50.0, 60.0, 90.0, 20.0)  # pointing up
    assert (line.y0, line.x0, line.y1, line.x1) == pytest.approx((60.0, 60.0, 40.0, 60.0))
    assert line.length == pytest.approx(20.0) and line.centre == pytest.approx((50.0, 60.0))
    assert patterns.hex_to_rgb("#ff8001") == (255, 128, 1)
    with pytest.raises(ValueError):
        patterns.hex_to_rgb("red")
    in_map = profiles.map_line(line, 4)
    assert (in_map.y0, in_map.x0) == pytest.approx((14.5, 14.5))


def test_projection_is_affine_and_commutes_with_bilinear():
    """Projecting before or after a weights-sum-to-1 upsampler gives the same picture."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 5, 7)).astype(np.float32)
    origin, axis = rng.normal(size=6), rng.normal(size=6)
    assert sb.project(origin[:, None, None], origin, axis)[0, 0] == pytest.approx(0.0)
    assert sb.project((origin + axis)[:, None, None], origin, axis)[0, 0] == pytest.approx(1.0)
    up = F.interpolate(torch.from_numpy(x)[None], scale_factor=2, mode="bilinear")[0].numpy()
    p = torch.from_numpy(sb.project(x, origin, axis))[None, None]
    up_p = F.interpolate(p, scale_factor=2, mode="bilinear")[0, 0].numpy()
    np.testing.assert_allclose(sb.project(up, origin, axis), up_p, atol=1e-5)


@pytest.fixture(scope="module")
def edge_view(tiny_model):
    p = patterns.make_pattern("edge", 96, angle=90)
    step = analyze(tiny_model, p.image).steps[-1]
    return p, step, sb.sandbox_view(step, p.image, p.mask)


def test_every_map_is_projected_the_same_way_on_one_scale(edge_view):
    p, step, view = edge_view
    oh, ow = step.visible_output_hw()
    assert view.methods == ["carafe", "bilinear", "nearest", "deconv"]
    np.testing.assert_allclose(  # CARAFE's map is the model's own output at this step
        view.maps["carafe"], sb.project(step.output, view.origin, view.axis)[:oh, :ow], atol=1e-5
    )
    for m in view.methods:
        assert view.maps[m].shape == (oh, ow)
        np.testing.assert_allclose(
            view.maps[m], sb.project(step.outputs[m], view.origin, view.axis)[:oh, :ow], atol=1e-5
        )
        beyond = (view.maps[m] < view.zmin - 1e-5) | (view.maps[m] > view.zmax + 1e-5)
        assert view.outside[m].total == int(beyond.sum())
    s = step.scale
    nearest = np.repeat(np.repeat(view.input_map, s, 0), s, 1)[:oh, :ow]
    np.testing.assert_allclose(view.maps["nearest"], nearest, atol=1e-5)
    assert (view.zmin, view.zmax) == (view.input_map.min(), view.input_map.max())
    assert view.outside["nearest"].total == 0 and view.outside["bilinear"].total == 0
    assert view.projection == "colours"
    left, right = view.input_map[:, :2], view.input_map[:, -3:-1]  # A side low, B side high
    assert np.median(left) < 0.5 < np.median(right)


def test_profile_samples_each_crossed_pixel_once(edge_view):
    p, step, view = edge_view
    so = step.stride_out
    row_line = patterns.line_through(45.0, 48.0, 0.0, 60.0)  # horizontal, left to right
    prof = profiles.profile_along(view, row_line)
    assert (prof.pixels[:, 0] == 45 // so).all()
    np.testing.assert_array_equal(np.diff(prof.pixels[:, 1]), 1)
    np.testing.assert_allclose(np.diff(prof.distance), so)
    np.testing.assert_array_equal(prof.pattern_values, prof.distance > 0)  # the edge at x = 48
    for m, values in prof.values.items():
        np.testing.assert_array_equal(values, view.maps[m][prof.pixels[:, 0], prof.pixels[:, 1]])
        assert prof.steepest[m] == pytest.approx(np.abs(np.diff(values)).max())
    src = prof.pixels // step.scale
    np.testing.assert_array_equal(prof.input_values, view.input_map[src[:, 0], src[:, 1]])
    diagonal = profiles.profile_along(
        view, patterns.line_through(40.0, 40.0, 30.0, 200.0)
    )  # past the image
    steps = np.abs(np.diff(diagonal.pixels, axis=0))
    assert steps.max() <= 1 and (steps.sum(axis=1) > 0).all()  # neighbours, no repeats
    oh, ow = step.visible_output_hw()
    assert diagonal.pixels.min() >= 0 and (diagonal.pixels < (oh, ow)).all()
    assert (
        len(profiles.profile_along(view, patterns.line_through(-50.0, -50.0, 0.0, 10.0)).pixels)
        == 0
    )


def test_kernels_along_the_line(edge_view):
    p, step, view = edge_view
    prof = profiles.profile_along(view, patterns.line_through(45.0, 48.0, 0.0, 60.0))
    ks = profiles.kernels_along(view, prof, count=4)
    assert len(ks) == 4
    jump = int(np.argmax(np.abs(np.diff(prof.input_values)))) + 1
    assert [k.pixel for k in ks] == [tuple(px) for px in prof.pixels[jump - 2 : jump + 2]]
    geo = step.geometry
    for kv in ks:
        np.testing.assert_allclose(kv.kernel, geo.kernel_at(step.carafe.kernels, *kv.pixel))
        assert kv.sub_pixel == geo.sub_pixel(*kv.pixel)
        assert kv.high_side.shape == (geo.k, geo.k)


def test_flat_mask_matches_the_image_under_each_window(tiny_model):
    p = patterns.make_pattern("edge", 128, angle=90)
    step = analyze(tiny_model, p.image).steps[-1]
    flat = flat_mask(step, p.image)
    geo = step.geometry
    assert flat.any() and not flat.all()
    for i in range(geo.H):
        for j in range(geo.W):
            y0, x0, y1, x1 = geo.window_box(i * geo.s, j * geo.s)
            inside = y0 >= 0 and x0 >= 0 and y1 <= 128 and x1 <= 128
            one_colour = inside and len(np.unique(p.mask[y0:y1, x0:x1])) == 1
            assert flat[i, j] == one_colour, (i, j)


def test_bilinear_sub_pixel_kernels():
    kernels = bilinear_kernels(5, 2)
    np.testing.assert_allclose(kernels.sum(axis=(2, 3)), 1.0)
    # by hand: 1-D phases [¼, ¾, 0] and [0, ¾, ¼] around the centre; neighbouring sub-pixels
    # differ by ¼ of the weight, diagonal ones by 7/16; mean over the 6 pairs = 5/16
    from carafe.inspect.sandbox.subpixel import _pair_difference

    assert _pair_difference(kernels.reshape(4, 25)) == pytest.approx(5 / 16)


def test_roughness_is_zero_on_a_ramp_and_sees_a_texture():
    ramp = np.add.outer(np.arange(8.0), 2 * np.arange(8.0))
    everywhere = np.ones((8, 8), bool)
    assert _roughness(ramp, everywhere) == pytest.approx(0.0)
    texture = ramp + 0.1 * (np.indices((8, 8)).sum(0) % 2)
    assert _roughness(texture, everywhere) == pytest.approx(0.2)


def test_flat_region_with_the_shipped_model():
    from carafe.inspect.catalog import load_model

    p = patterns.make_pattern("disc", 192, radius=40)
    step = analyze(load_model("carafe"), p.image).steps[-1]
    view = sb.sandbox_view(step, p.image, p.mask)
    flat = view.flat
    assert flat is not None and flat.pixels == int(flat.mask.sum()) > 0
    s, k = step.scale, step.carafe.up_kernel
    iy, ix = np.nonzero(flat.mask)
    kernels = step.carafe.kernels[: k * k]
    first = kernels[:, s * iy, s * ix]  # sub-pixel (0, 0) of every flat pixel
    assert flat.bilinear_subpixel_difference == pytest.approx(5 / 16)
    # the mean total-variation distance between the s² kernels of a flat pixel, pair by pair
    subs = [
        kernels[:, s * iy + a, s * ix + b].astype(np.float64) for a in range(s) for b in range(s)
    ]
    pairs = [(p, q) for p in range(len(subs)) for q in range(p + 1, len(subs))]
    tv = np.mean([0.5 * np.abs(subs[p] - subs[q]).sum(axis=0).mean() for p, q in pairs])
    assert flat.subpixel_difference == pytest.approx(tv, rel=1e-9) and tv > 0
    offsets = np.arange(k) - (k - 1) / 2
    dy = (first.reshape(k, k, -1).sum(axis=1) * offsets[:, None]).sum(axis=0).mean()
    assert flat.lean[0, 0, 0] == pytest.approx(dy, abs=1e-5)
    assert flat.bilinear_lean[0, 0] == pytest.approx([-0.25, -0.25])
    assert set(flat.roughness) == set(view.methods)
    # roughness: mean |second difference| over runs of three flat output pixels, counted by loops
    flat_out = np.zeros(view.maps["nearest"].shape, bool)
    for a in range(s):
        for b in range(s):
            flat_out[s * iy + a, s * ix + b] = True
    for method, values in view.maps.items():
        seconds = []
        rows, cols = flat_out.shape
        for y in range(rows):
            for x in range(cols):
                if x + 2 < cols and flat_out[y, x : x + 3].all():
                    seconds.append(abs(values[y, x] - 2 * values[y, x + 1] + values[y, x + 2]))
                if y + 2 < rows and flat_out[y : y + 3, x].all():
                    seconds.append(abs(values[y, x] - 2 * values[y + 1, x] + values[y + 2, x]))
        assert flat.roughness[method] == pytest.approx(float(np.mean(seconds)), rel=1e-5)


def test_without_pure_pixels_the_principal_component_puts_colour_b_high(tiny_model):
    p = patterns.make_pattern("line", 96, angle=90, width=6)  # thinner than one input pixel (8 px)
    step = analyze(tiny_model, p.image).steps[-1]
    view = sb.sandbox_view(step, p.image, p.mask)
    assert view.projection == "pca" and "colour B's side high" in view.projection_note
    on_line = view.input_map[:, 44 // step.stride_in]  # the input column holding the line
    assert np.median(on_line) > np.median(view.input_map[:, 1])
    flat = patterns.make_pattern("edge", 96, colour_a=A, colour_b=A)
    one = sb.sandbox_view(step, flat.image, flat.mask)
    assert one.mask is None and "one colour only" in one.projection_note


# --- issue 17: thin lines are crossed, one count, out-of-range split, sentences from data ----
ANGLES, WIDTHS = (0, 30, 45, 75, 90), (1, 2, 4)


def _dense_b_length(mask: np.ndarray, line, per_px: int = 400) -> float:
    """Image px of ``line`` over colour B, by dense sampling (independent of the exact cut)."""
    n = int(line.length * per_px) + 1
    t = (np.arange(n) + 0.5) / n
    y = np.floor(line.y0 + t * (line.y1 - line.y0)).astype(int)
    x = np.floor(line.x0 + t * (line.x1 - line.x0)).astype(int)
    ok = (y >= 0) & (y < mask.shape[0]) & (x >= 0) & (x < mask.shape[1])
    return float(mask[y[ok], x[ok]].sum() * line.length / n)


@pytest.mark.parametrize("angle", ANGLES)
@pytest.mark.parametrize("width", WIDTHS)
def test_the_pattern_along_a_line_meets_a_thin_line(angle, width):
    p = patterns.make_pattern("line", 128, angle=angle, width=width)
    across = patterns.line_through(*p.anchor, p.across, 64.0)
    along = profiles.pattern_along(p.mask, across)
    assert along.touches_a and along.touches_b  # even a 1 px line at 45° (pixels touch at corners)
    assert np.nanmax(along.trace[:, 1]) == 1.0  # the dotted trace shows the line
    pieces = np.diff(along.pieces_t) * across.length
    b_length = float((pieces * np.nan_to_num(along.pieces_value)).sum())
    assert b_length == pytest.approx(_dense_b_length(p.mask, across), abs=0.02)
    dy, dx = patterns.direction(angle)  # a parallel line 10 px to the side stays on colour A
    ny, nx = patterns.direction(p.across)
    beside = patterns.line_through(p.anchor[0] + 10 * ny, p.anchor[1] + 10 * nx, angle, 40.0)
    off = profiles.pattern_along(p.mask, beside)
    assert off.touches_a and not off.touches_b and np.nanmax(off.trace[:, 1]) == 0.0


@pytest.fixture(scope="module")
def shipped():
    """The shipped CARAFE model and its analysis of one 128 px image (the views below reuse the
    step geometry and features; the crossing depends only on the pattern and the strides)."""
    from carafe.inspect.catalog import load_model

    model = load_model("carafe")
    p = patterns.make_pattern("line", 128, angle=45, width=4)
    return model, analyze(model, p.image, baselines=False)


@pytest.mark.parametrize("width", WIDTHS)
def test_profiles_cross_thin_lines_at_every_step(shipped, width):
    """The page's profile decides crossing right for thin lines at every FPN step: at the
    output pixels' centres a line thinner than their spacing is often missed."""
    _, analysis = shipped
    for angle in ANGLES:
        p = patterns.make_pattern("line", 128, angle=angle, width=width)
        line = patterns.line_through(*p.anchor, round(p.across) % 360, 64.0)
        for step in analysis.steps:
            view = sb.sandbox_view(step, p.image, p.mask)
            prof = profiles.profile_along(view, line)
            assert prof.crosses_pattern, (angle, width, step.levels)
            # the per-pixel B share adds up to the line's length over B (dense recount)
            so = step.stride_out
            t, owner, length = profiles._pieces(line, so)
            in_pixel = [
                length[(owner == px).all(axis=1)].sum() for px in prof.pixels
            ]  # the line's length inside each profile pixel (the image is 128 px: all inside)
            got = float(np.dot(prof.pattern_values, in_pixel))
            assert got == pytest.approx(_dense_b_length(p.mask, line), abs=0.02)


def test_the_45_degree_line_of_issue_17_is_crossed(shipped):
    """Issue 17's cases: 45° width 4 at the finest step, 75° width 1 at P5→P4 (256 px)."""
    model, _ = shipped
    for angle, width, pos in ((45, 4, -1), (75, 1, 0)):
        p = patterns.make_pattern("line", 256, angle=angle, width=width)
        step = analyze(model, p.image, baselines=False).steps[pos]
        view = sb.sandbox_view(step, p.image, p.mask)
        prof = profiles.profile_along(
            view, patterns.line_through(128.0, 128.0, round(p.across) % 360, 128.0)
        )
        assert prof.crosses_pattern and np.nanmax(prof.pattern.trace[:, 1]) == 1.0
        centres = step.geometry.image_centre(prof.pixels[:, 0], prof.pixels[:, 1])
        assert not p.mask[centres].any()  # why the old per-centre sampling said "no crossing"


def _window_on_one_colour(step, mask, i, j):
    """'A', 'B' or None: the colour under input pixel (i, j)'s whole k×k window, by hand."""
    geo = step.geometry
    y0, x0, y1, x1 = geo.window_box(i * geo.s, j * geo.s)
    h, w = mask.shape
    if y0 < 0 or x0 < 0 or y1 > h or x1 > w:
        return None
    values = np.unique(mask[y0:y1, x0:x1])
    return None if len(values) > 1 else "AB"[int(values[0])]


@pytest.mark.parametrize(
    "kind, opts", [("edge", dict(angle=90)), ("line", dict(angle=90, width=6))]
)
def test_one_count_of_one_colour_windows(tiny_model, kind, opts):
    """The projection note and the flat area quote one count, recounted here by hand."""
    p = patterns.make_pattern(kind, 96, **opts)
    step = analyze(tiny_model, p.image).steps[-1]
    view = sb.sandbox_view(step, p.image, p.mask)
    geo = step.geometry
    by_hand = [
        _window_on_one_colour(step, p.mask, i, j) for i in range(geo.H) for j in range(geo.W)
    ]
    a, b = by_hand.count("A"), by_hand.count("B")
    assert (view.pixels.a, view.pixels.b, view.pixels.total) == (a, b, a + b)
    assert view.flat.pixels == view.pixels.total  # the flat area uses the same pixels
    assert view.pixels.sentence() in view.projection_note
    if kind == "edge":  # both colours: the means are measured there
        assert a and b and view.projection == "colours"
        assert f"{a:,} input-map pixels have their whole 5×5 window on colour A and {b:,}" in (
            view.pixels.sentence()
        )
    else:  # the 6 px line holds no 5×5 window of B: the count says so, and PCA is used
        assert a and b == 0 and view.projection == "pca"
        assert view.pixels.sentence().endswith("and none on colour B")
        assert "no input-map pixel lies wholly inside" not in view.projection_note


def test_one_colour_sentence_without_a_pattern_and_without_pixels():
    none = sb.OneColourPixels(5, np.zeros((4, 4), bool), np.zeros((4, 4), bool))
    assert none.sentence() == "no input-map pixel has its whole 5×5 window on one colour"
    one = sb.OneColourPixels(3, np.eye(4, dtype=bool)[:1], None)
    assert one.sentence().startswith("1 input-map pixel has its whole 3×3 window on one colour")
    only_b = sb.OneColourPixels(5, np.zeros((2, 2), bool), np.ones((2, 2), bool))
    assert only_b.sentence() == (
        "4 input-map pixels have their whole 5×5 window on colour B and none on colour A"
    )


def _recount_outside(view, values, lo, hi):
    """(frame, interior) beyond [lo, hi] by looping over output pixels and their windows."""
    geo = view.step.geometry
    frame = interior = 0
    slack = 1e-6 * max(1.0, hi - lo)
    for y in range(values.shape[0]):
        for x in range(values.shape[1]):
            if lo - slack <= values[y, x] <= hi + slack:
                continue
            if geo.window(y, x).in_image.all():
                interior += 1
            else:
                frame += 1
    return frame, interior


def test_out_of_range_split_into_frame_and_interior():
    """Issue 17's 45° edge: every out-of-range CARAFE pixel lies in the border frame."""
    from carafe.inspect.catalog import load_model

    p = patterns.make_pattern("edge", 256, angle=45)
    step = analyze(load_model("carafe"), p.image).steps[-1]
    view = sb.sandbox_view(step, p.image, p.mask)
    for m, values in view.maps.items():
        got = view.outside[m]
        assert (got.frame, got.interior) == _recount_outside(view, values, view.zmin, view.zmax)
    carafe = view.outside["carafe"]
    assert carafe.total > 0 and carafe.interior == 0  # the frame, not the interior
    geo = step.geometry
    y, x = 0, 10  # a frame pixel: its kernel's weight past the image, by hand
    win, kernel = geo.window(y, x), geo.kernel_at(step.carafe.kernels, y, x)
    assert view.frame[y, x] and not win.in_image.all()
    frame_y, frame_x = np.nonzero(view.frame)
    past = [
        geo.kernel_at(step.carafe.kernels, fy, fx)[~geo.window(fy, fx).in_image].sum()
        for fy, fx in zip(frame_y, frame_x, strict=True)
    ]
    assert view.frame_weight_past_image == pytest.approx(float(np.mean(past)), rel=1e-5)
    assert kernel[~win.in_image].sum() > 0


@pytest.mark.parametrize("width", [1, 2, 3, 4, 5])
def test_a_line_of_width_w_covers_w_pixels_across(width):
    """Centred on a pixel boundary, a 1 px line used to cover no pixel at all (an empty image)."""
    for angle in (0, 90):
        p = patterns.make_pattern("line", 64, angle=angle, width=width)
        per_column = p.mask.sum(axis=0 if angle == 0 else 1)
        assert (per_column == width).all()


# --- the sentences: each tested where its fact holds and where it does not --------------------
def test_split_and_outside_sentences_follow_the_counts(edge_view):
    import carafe.inspect.sandbox.words as words

    assert words.split_phrase(sb.OutsideCount(5, 0)) == "all 5 in the border frame"
    assert words.split_phrase(sb.OutsideCount(0, 3)) == "all 3 in the interior"
    assert words.split_phrase(sb.OutsideCount(2, 1)) == "2 in the border frame, 1 in the interior"
    p, step, view = edge_view
    names = {m: m.title() for m in view.methods}
    calm = sb.SandboxView(**{**vars(view), "outside": {m: sb.OutsideCount(0, 0) for m in names}})
    assert words.outside_sentence(calm, names) == "; no output pixel leaves it."
    counts = {"carafe": sb.OutsideCount(7, 0), "deconv": sb.OutsideCount(2, 3)}
    loud = sb.SandboxView(**{**vars(view), "outside": counts})
    text = words.outside_sentence(loud, names)
    n = view.frame.size
    assert f"Carafe 7 of {n:,} (all 7 in the border frame)" in text
    assert f"Deconv 5 of {n:,} (2 in the border frame, 3 in the interior)" in text
    assert "Bilinear" not in text
    assert f"the {int(view.frame.sum()):,} output pixels whose 5×5 window" in text
    assert f"**{view.frame_weight_past_image:.2f}**" in text


def test_step_sizes_name_the_padded_and_the_visible_maps(tiny_model):
    from dataclasses import replace

    import carafe.inspect.sandbox.words as words

    step = analyze(tiny_model, patterns.make_pattern("edge", 96).image).steps[-1]
    text = words.step_sizes(step)
    assert "H×W, rows × columns" in text and "Input map 12×12 → output 24×24." in text
    assert "padded" not in text
    padded = replace(step, image_hw=(84, 96))  # the last 12 image rows were padding
    text = words.step_sizes(padded, 32)
    assert "input map of 12×12 → output 24×24 (the padded maps" in text
    assert "multiple of 32 px" in text
    assert "the visible maps, the part that covers the image" in text and "11×12 → 21×24" in text


def test_upload_note_writes_sizes_rows_first():
    import io

    from PIL import Image

    import carafe.inspect.sandbox.words as words
    from carafe.inspect.imageio import load_image

    buf = io.BytesIO()
    Image.new("P", (1024, 684)).save(buf, "PNG")  # 684 rows × 1024 columns, palette
    loaded = load_image(buf.getvalue(), max_side=256)
    text = words.upload_note("rocket.png", loaded.array.shape[:2], loaded.notes)
    assert "**rocket.png** as the model sees it: 171×256 px (H×W, rows × columns)" in text
    assert "downscaled from 684×1024 to 171×256 pixels (rows × columns" in text
    assert "256×171" not in text and "1024×684" not in text
    assert words.upload_note("a.png", (40, 30), []) == (
        "**a.png** as the model sees it: 40×30 px (H×W, rows × columns)."
    )


def test_flat_features_and_kernel_sentences_both_ways():
    import carafe.inspect.sandbox.words as words

    assert "They are not" in words.flat_features_sentence(0.123, 2)
    assert "**0.123**" in words.flat_features_sentence(0.123, 2)
    assert "They are not" not in words.flat_features_sentence(0.0, 2)
    z = np.zeros((5, 5))

    def kv(weight, bilinear, high):
        return profiles.KernelOnLine((0, 0), (0, 0), 0.0, z, z, z > 0, weight, bilinear, high)

    follows = words.kernels_sentence([kv(0.1, 0.3, False), kv(0.9, 0.7, True)])
    assert "**0.10**" in follows and "(bilinear 0.30)" in follows
    assert follows.endswith("its kernels follow the edge.")
    blind = words.kernels_sentence([kv(0.4, 0.3, False), kv(0.9, 0.7, True)])
    assert "does not take more weight" in blind and "follow the edge." not in blind
    one_side = words.kernels_sentence([kv(0.4, 0.3, True)])
    assert "one side" in one_side and words.kernels_sentence([]) == ""
    assert words.maps_title(4) == "The step's input and four outputs, one colour scale"
    assert words.number_word(12) == "12"


def test_the_dysample_twin_is_reduced_the_same_way():
    """The twin's maps, range, out-of-range split and sampling points, recounted."""
    import carafe.inspect.sandbox.twin as twin_mod
    import carafe.inspect.sandbox.words as words
    from carafe.inspect.catalog import load_model, twin_names
    from carafe.inspect.sampling import dysample_points, sampling_at

    if "dysample" not in twin_names():
        pytest.skip("the DySample twin is not shipped")
    p = patterns.make_pattern("edge", 128, angle=45)
    carafe_step = analyze(load_model("carafe"), p.image).steps[-1]
    view = sb.sandbox_view(carafe_step, p.image, p.mask)
    dys = load_model("dysample")
    step = analyze(dys, p.image, baselines=False).steps[-1]
    points = dysample_points(dys, p.image)[-1]
    twin = twin_mod.twin_view(step, view, p.image, p.mask, points)
    # its own features, its own A and B means on the one count's pixels: A -> 0, B -> 1
    a = step.input[:, view.pixels.on_a].mean(axis=1)
    b = step.input[:, view.pixels.on_b].mean(axis=1)
    assert sb.project(a[:, None, None], a, b - a)[0, 0] == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_allclose(twin.output_map, sb.project(step.output, a, b - a), atol=1e-4)
    assert twin.output_map.shape == view.maps["carafe"].shape
    assert (twin.zmin, twin.zmax) == (twin.input_map.min(), twin.input_map.max())
    got = twin.outside
    assert (got.frame, got.interior) == _recount_outside(
        view, twin.output_map, twin.zmin, twin.zmax
    )
    prof = profiles.profile_along(
        view, patterns.line_through(64.0, 64.0, 315.0, 64.0), {"dysample": twin.output_map}
    )
    np.testing.assert_array_equal(
        prof.values["dysample"], twin.output_map[prof.pixels[:, 0], prof.pixels[:, 1]]
    )
    sampling = twin_mod.sampling_along(twin, prof)
    for i, (y, x) in enumerate(prof.pixels):
        by_hand = sampling_at(points, carafe_step, int(y), int(x))
        assert tuple(sampling.start[i]) == pytest.approx(by_hand.start)
        np.testing.assert_allclose(sampling.points[i], by_hand.points, atol=1e-6)
    moved = np.hypot(*np.moveaxis(sampling.points - sampling.start[:, None], -1, 0)).mean(1)
    text = words.sampling_sentence(sampling)
    assert f"**{moved.mean():.2f}**" in text and f"at most {moved.max():.2f}" in text
    assert words.sampling_sentence(None) == "No DySample sampling points on this line."
    said = words.twin_sentence(twin, view, {"dysample": "DySample"})
    assert "separate model" in said and f"{twin.zmin:.2f} to {twin.zmax:.2f}" in said
    assert twin.projection == "colours" and "colour A's mean feature (0)" in said
    pca = twin_mod.TwinView(**{**vars(twin), "projection": "pca"})
    assert "first principal component" in words.twin_sentence(pca, view, {})
    quiet = twin_mod.TwinView(**{**vars(twin), "outside": sb.OutsideCount(0, 0)})
    assert "no output pixel leaves its own input map's range" in words.twin_sentence(
        quiet, view, {}
    )
    loud = twin_mod.TwinView(**{**vars(twin), "outside": sb.OutsideCount(3, 2)})
    said = words.twin_sentence(loud, view, {})
    assert f"5 of {view.frame.size:,} output pixels leave" in said
    assert "(3 in the border frame, 2 in the interior)" in said


def test_profile_verdict_and_caption_both_ways(edge_view):
    import dataclasses

    import carafe.inspect.sandbox.words as words

    p, step, view = edge_view
    prof = profiles.profile_along(view, patterns.line_through(48, 48, 0, 60))
    assert prof.crosses_pattern

    def with_steps(carafe: float, bilinear: float, input_steepest: float = 0.5):
        steepest = dict(prof.steepest, carafe=carafe, bilinear=bilinear)
        return dataclasses.replace(prof, steepest=steepest, input_steepest=input_steepest)

    keeps = words.profile_verdict(with_steps(0.6, 0.6 / words.STEEPER * 0.99))
    assert keeps.startswith("Here CARAFE keeps the step") and "**1.2×**" in keeps
    blunt = words.profile_verdict(with_steps(0.6, 0.55))
    assert "is **not** clearly steeper than bilinear (0.600 vs 0.550)" in blunt
    flat = words.profile_verdict(with_steps(0.6, 0.1, words.FLAT_LINE / 2))
    assert flat == "The input map is flat along this line: there is no step to keep."
    away = dataclasses.replace(prof, pattern=dataclasses.replace(prof.pattern, touches_b=False))
    assert words.profile_verdict(away).startswith("This line does not cross")
    steeper = words.profile_caption(with_steps(0.7, 0.2, 0.5), "DySample")
    assert "(here CARAFE 0.700 vs input 0.500)" in steeper and steeper.endswith("separate model.")
    below = words.profile_caption(with_steps(0.4, 0.2, 0.5))
    assert "stays below the input map's largest jump" in below and below.endswith("the line.")
    names = {m: m.upper() for m in view.methods}
    jumps = words.steepest_sentence(prof, names, view.methods)
    assert jumps.startswith(f"The line crosses {len(prof.pixels)} output pixels.")
    assert f"CARAFE **{prof.steepest['carafe']:.3f}**" in jumps and "separate" not in jumps


def test_flat_area_sentence_both_ways(edge_view):
    import dataclasses

    import carafe.inspect.sandbox.words as words

    _, step, view = edge_view
    flat = view.flat
    assert flat is not None and flat.neighbour_difference is not None
    s = step.scale

    def said(subpixel: float, neighbour: float, carafe: float, bilinear: float) -> str:
        region = dataclasses.replace(
            flat,
            subpixel_difference=subpixel,
            neighbour_difference=neighbour,
            roughness=dict(flat.roughness, carafe=carafe, bilinear=bilinear),
        )
        return words.flat_area_sentence(dataclasses.replace(view, flat=region), s)

    by_position = said(0.3, 0.1, 0.07, 0.05)  # 3× and 1.4×: past BY_POSITION and ROUGHER
    assert "far more than with the place" in by_position and "differs by only" in by_position
    assert "**1.4×** as rough as bilinear's there" in by_position
    by_place = said(0.3, 0.2, 0.055, 0.05)  # 1.5× and 1.1×: short of them
    assert "far more" not in by_place and "not clearly rougher than bilinear's" in by_place
    assert "differs by only" not in by_place
    assert f"**{flat.pixels:,}** input pixels" in by_place
    assert words.no_flat_area_sentence(view).startswith(f"At this step {view.pixels.sentence()}")


def test_repeating_share_tells_a_grid_texture_from_block_to_block_variation():
    """1 where every s×s block has the same offsets, small where they change from block to
    block, None where no block varies (nearest)."""
    from carafe.inspect.sandbox.subpixel import _repeating_share

    rng = np.random.default_rng(0)
    same = np.tile([0.1, -0.1, -0.1, 0.1], (50, 1)) + rng.normal(size=(50, 1))  # + block means
    assert _repeating_share(same) == pytest.approx(1.0)
    noise = rng.normal(size=(400, 4))
    assert _repeating_share(noise) < 0.05
    assert _repeating_share(np.repeat(rng.normal(size=(20, 1)), 4, axis=1)) is None


def test_roughness_and_flat_headline_both_ways(edge_view):
    """Roughness against bilinear and nearest, and the repeating share, worded from the numbers:
    a grid texture is said only where most of the block variation repeats (the default edge's
    flat areas repeat 23 %: not "that is the grid texture")."""
    import dataclasses

    import carafe.inspect.sandbox.words as words

    _, step, view = edge_view
    s = step.scale

    def region(carafe, bilinear, nearest, repeating):
        rough = dict(view.flat.roughness, carafe=carafe, bilinear=bilinear, nearest=nearest)
        reps = dict(view.flat.repeating or {}, carafe=repeating)
        return dataclasses.replace(view.flat, roughness=rough, repeating=reps)

    grid = words.roughness_sentence(region(0.3, 0.1, 0.1, 0.8), s)
    assert "**3.0×** as rough as bilinear's" in grid and "3.0× nearest's" in grid
    assert "(**80%**) repeats the same way in every block: a grid texture." in grid
    features = words.roughness_sentence(region(0.376, 0.158, 0.374, 0.23), s)
    assert "about as rough as nearest's" in features
    assert "Only **23%**" in features and "changes from block to block" in features
    calm = words.roughness_sentence(region(0.1, 0.1, 0.3, 0.9), s)
    assert calm.endswith("not clearly rougher than bilinear's.") and "grid" not in calm
    smooth = words.roughness_sentence(region(0.3, 0.1, 0.5, None), s)
    assert "smoother than nearest's" in smooth and "repeats" not in smooth

    def head(flat):
        return words.flat_headline(dataclasses.replace(view, flat=flat), s)

    assert head(region(0.3, 0.1, 0.1, 0.8)) == (
        f"In flat areas CARAFE's output is **3.0×** as rough as bilinear's; 80% of its "
        f"variation inside the {s}×{s} blocks repeats in every block."
    )
    assert head(region(0.1, 0.1, 0.1, 0.8)).startswith("In flat areas CARAFE is not clearly")
    assert head(None).startswith("No window lies on one colour")


def test_verdict_keeps_the_step_only_where_the_kernels_follow_the_edge(edge_view):
    """Issue 25: on a thin line the page said "CARAFE keeps the step: 1.9× bilinear" above
    "CARAFE does not take more weight from its own side than bilinear". The verdict now reads
    the kernels' answer: steeper and following -> keeps; steeper, not following -> says so."""
    import dataclasses

    import carafe.inspect.sandbox.words as words

    _, _, view = edge_view
    prof = profiles.profile_along(view, patterns.line_through(48, 48, 0, 60))
    steep = dataclasses.replace(prof, steepest=dict(prof.steepest, carafe=0.9, bilinear=0.45))
    z = np.zeros((5, 5))

    def kv(weight, bilinear, high):
        return profiles.KernelOnLine((0, 0), (0, 0), 0.0, z, z, z > 0, weight, bilinear, high)

    follow = [kv(0.0, 0.06, False), kv(1.0, 0.94, True)]
    blind = [kv(0.19, 0.20, False), kv(0.22, 0.66, True)]  # the thin line's numbers
    assert words.kernels_follow(follow) is True and words.kernels_follow(blind) is False
    assert words.kernels_follow([kv(0.2, 0.1, True)]) is None and words.kernels_follow([]) is None
    keeps = words.profile_verdict(steep, follow)
    assert keeps.startswith("Here CARAFE keeps the step: its steepest change is **2.0×**")
    assert words.kernels_sentence(follow).endswith("its kernels follow the edge.")
    not_kept = words.profile_verdict(steep, blind)
    assert "keeps the step" not in not_kept and "**2.0×** bilinear's, but its kernels" in not_kept
    assert "does not take more weight" in words.kernels_sentence(blind)
    one_side = words.profile_headline(steep, [kv(0.2, 0.1, True)])
    assert "keeps the step" not in one_side and "lie on one side" in one_side
    blunt = dataclasses.replace(prof, steepest=dict(prof.steepest, carafe=0.5, bilinear=0.45))
    assert words.profile_headline(blunt, follow).startswith("Here CARAFE is **not** clearly")


def test_untrained_baselines_are_named_so(edge_view):
    """Deconv on the Sandbox is the registry's bilinear-initialised baseline, never trained:
    its name says so; parameter-free baselines and the model's own upsampler do not."""
    import carafe.inspect.sandbox.words as words

    _, step, _ = edge_view
    assert step.kind == "carafe"
    assert words.method_name("deconv", step) == "Deconv (untrained)"
    assert words.method_name("bilinear", step) == "Bilinear"
    assert words.method_name("nearest", step) == "Nearest"
    assert words.method_name("carafe", step) == "CARAFE"
