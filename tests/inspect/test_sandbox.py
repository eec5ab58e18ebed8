"""carafe.patterns, carafe.subpixel and carafe.sandbox: patterns are what they say, profiles
sample the right pixels, every map shares one scale, flat-area kernel measures."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import carafe.inspect.sandbox as sb
from carafe.inspect.analysis import analyze
from carafe.inspect.subpixel import _roughness, bilinear_kernels, flat_mask

A, B = (10, 20, 30), (200, 180, 40)


def _colours(p) -> None:
    """Exactly two colours, B on the mask."""
    assert (p.image[p.mask] == B).all() and (p.image[~p.mask] == A).all()


def test_edge_sides_follow_the_angle():
    right = sb.make_pattern("edge", 64, angle=90, colour_a=A, colour_b=B)
    _colours(right)
    assert right.mask[:, 32:].all() and not right.mask[:, :32].any()  # vertical, B right
    below = sb.make_pattern("edge", 64, angle=0, colour_a=A, colour_b=B)
    assert below.mask[32:].all() and not below.mask[:32].any()  # horizontal, B below
    left = sb.make_pattern("edge", 64, angle=270)
    np.testing.assert_array_equal(left.mask, ~right.mask)
    diagonal = sb.make_pattern("edge", 64, angle=45)  # runs bottom-left to top-right
    np.testing.assert_array_equal(diagonal.mask, diagonal.mask.T)
    assert diagonal.mask[-1, -1] and not diagonal.mask[0, 0]
    dy, dx = sb.direction(diagonal.across)  # the default profile points into B
    assert dy > 0 and dx > 0


def test_corner_line_checkerboard_disc():
    corner = sb.make_pattern("corner", 64, angle=90, colour_a=A, colour_b=B)
    _colours(corner)
    assert corner.mask[:32, 32:].all() and corner.mask.sum() == 32 * 32  # the top-right quadrant
    line = sb.make_pattern("line", 64, angle=90, width=4)
    assert (line.mask.sum(axis=1) == 4).all() and line.mask[:, 30:34].all()
    flat_line = sb.make_pattern("line", 64, angle=0, width=6)
    assert (flat_line.mask.sum(axis=0) == 6).all()
    board = sb.make_pattern("checkerboard", 64, square=8, colour_a=A, colour_b=B)
    _colours(board)
    assert not board.mask[0, 0] and board.mask[0, 8] and board.mask[8, 0] and not board.mask[8, 8]
    np.testing.assert_array_equal(board.mask[:, :-8], ~board.mask[:, 8:])  # period 16
    assert (board.mask[:8, :8] == board.mask[0, 0]).all()
    disc = sb.make_pattern("disc", 128, radius=30)
    assert disc.mask.sum() == pytest.approx(np.pi * 30**2, rel=0.02)
    assert disc.mask[64, 64] and not disc.mask[0, 0] and not disc.mask[64, 64 + 31]
    moved = sb.make_pattern("disc", 128, radius=10, centre=(20.0, 100.0))
    assert moved.mask[20, 100] and not moved.mask[64, 64]
    with pytest.raises(ValueError, match="unknown pattern"):
        sb.make_pattern("spiral")
    with pytest.raises(ValueError):
        sb.make_pattern("line", width=0)


def test_lines_and_colours():
    line = sb.line_through(50.0, 60.0, 90.0, 20.0)  # pointing up
    assert (line.y0, line.x0, line.y1, line.x1) == pytest.approx((60.0, 60.0, 40.0, 60.0))
    assert line.length == pytest.approx(20.0) and line.centre == pytest.approx((50.0, 60.0))
    assert sb.hex_to_rgb("#ff8001") == (255, 128, 1)
    with pytest.raises(ValueError):
        sb.hex_to_rgb("red")
    in_map = sb.map_line(line, 4)
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
    p = sb.make_pattern("edge", 96, angle=90)
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
        assert view.outside[m] == int(beyond.sum())
    s = step.scale
    nearest = np.repeat(np.repeat(view.input_map, s, 0), s, 1)[:oh, :ow]
    np.testing.assert_allclose(view.maps["nearest"], nearest, atol=1e-5)
    assert (view.zmin, view.zmax) == (view.input_map.min(), view.input_map.max())
    assert view.outside["nearest"] == 0 and view.outside["bilinear"] == 0
    assert view.projection == "colours"
    left, right = view.input_map[:, :2], view.input_map[:, -3:-1]  # A side low, B side high
    assert np.median(left) < 0.5 < np.median(right)


def test_profile_samples_each_crossed_pixel_once(edge_view):
    p, step, view = edge_view
    so = step.stride_out
    row_line = sb.line_through(45.0, 48.0, 0.0, 60.0)  # horizontal, left to right
    prof = sb.profile_along(view, row_line)
    assert (prof.pixels[:, 0] == 45 // so).all()
    np.testing.assert_array_equal(np.diff(prof.pixels[:, 1]), 1)
    np.testing.assert_allclose(np.diff(prof.distance), so)
    np.testing.assert_array_equal(prof.pattern_values, prof.distance > 0)  # the edge at x = 48
    for m, values in prof.values.items():
        np.testing.assert_array_equal(values, view.maps[m][prof.pixels[:, 0], prof.pixels[:, 1]])
        assert prof.steepest[m] == pytest.approx(np.abs(np.diff(values)).max())
    src = prof.pixels // step.scale
    np.testing.assert_array_equal(prof.input_values, view.input_map[src[:, 0], src[:, 1]])
    diagonal = sb.profile_along(view, sb.line_through(40.0, 40.0, 30.0, 200.0))  # past the image
    steps = np.abs(np.diff(diagonal.pixels, axis=0))
    assert steps.max() <= 1 and (steps.sum(axis=1) > 0).all()  # neighbours, no repeats
    oh, ow = step.visible_output_hw()
    assert diagonal.pixels.min() >= 0 and (diagonal.pixels < (oh, ow)).all()
    assert len(sb.profile_along(view, sb.line_through(-50.0, -50.0, 0.0, 10.0)).pixels) == 0


def test_kernels_along_the_line(edge_view):
    p, step, view = edge_view
    prof = sb.profile_along(view, sb.line_through(45.0, 48.0, 0.0, 60.0))
    ks = sb.kernels_along(view, prof, count=4)
    assert len(ks) == 4
    jump = int(np.argmax(np.abs(np.diff(prof.input_values)))) + 1
    assert [k.pixel for k in ks] == [tuple(px) for px in prof.pixels[jump - 2 : jump + 2]]
    geo = step.geometry
    for kv in ks:
        np.testing.assert_allclose(kv.kernel, geo.kernel_at(step.carafe.kernels, *kv.pixel))
        assert kv.sub_pixel == geo.sub_pixel(*kv.pixel)
        assert kv.high_side.shape == (geo.k, geo.k)


def test_flat_mask_matches_the_image_under_each_window(tiny_model):
    p = sb.make_pattern("edge", 128, angle=90)
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
    from carafe.inspect.subpixel import _pair_difference

    assert _pair_difference(kernels.reshape(4, 25)) == pytest.approx(5 / 16)


def test_roughness_is_zero_on_a_ramp_and_sees_a_texture():
    ramp = np.add.outer(np.arange(8.0), 2 * np.arange(8.0))
    everywhere = np.ones((8, 8), bool)
    assert _roughness(ramp, everywhere) == pytest.approx(0.0)
    texture = ramp + 0.1 * (np.indices((8, 8)).sum(0) % 2)
    assert _roughness(texture, everywhere) == pytest.approx(0.2)


def test_flat_region_with_the_shipped_model():
    from carafe.inspect.catalog import load_model

    p = sb.make_pattern("disc", 192, radius=40)
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
    p = sb.make_pattern("line", 96, angle=90, width=6)  # thinner than one input pixel (8 px)
    step = analyze(tiny_model, p.image).steps[-1]
    view = sb.sandbox_view(step, p.image, p.mask)
    assert view.projection == "pca" and "colour B's side high" in view.projection_note
    on_line = view.input_map[:, 44 // step.stride_in]  # the input column holding the line
    assert np.median(on_line) > np.median(view.input_map[:, 1])
    flat = sb.make_pattern("edge", 96, colour_a=A, colour_b=A)
    one = sb.sandbox_view(step, flat.image, flat.mask)
    assert one.mask is None and "one colour only" in one.projection_note
