"""Explore's clickable image: a click at any CSS position names the image pixel under it,
pixel boundaries included, at every zoom; the marks sit where they say."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from figures.click_image import MARK_COLOURS, PAD_GREY, click_canvas


def _view(output_box, window_box):
    return SimpleNamespace(output_box=output_box, window_box=window_box)


@pytest.mark.parametrize(
    "hw, margin",
    [((40, 52), 8), ((120, 90), 16), ((300, 512), 64), ((512, 512), 16), ((97, 131), 32)],
)
def test_every_click_names_the_pixel_drawn_under_it(hw, margin):
    """Each image pixel is drawn in its own colour; the pixel a click names is the one whose
    colour the browser shows at that CSS position (every row and column, boundaries too)."""
    h, w = hw
    rows, cols = np.mgrid[0:h, 0:w]
    image = np.stack([rows % 256, cols % 256, (rows // 256) * 16 + cols // 256], -1).astype(
        np.uint8
    )
    # no marks in the way: the output pixel and its window far outside the picture
    canvas = click_canvas(image, None, 0.0, _view((-900, -900, -899, -899), (-900,) * 4), margin)
    step = 1 if canvas.zoom >= 1 else 2  # canvas pixels per CSS pixel
    assert canvas.css_width * step == canvas.rgb.shape[1]
    css_h, css_w = canvas.rgb.shape[0] // step, canvas.rgb.shape[1] // step
    x_mid, y_mid = css_w // 2, css_h // 2
    for y in range(css_h):
        shown = canvas.rgb[y * step, x_mid * step]
        pixel = canvas.image_pixel(x_mid, y)
        if pixel is None:
            assert tuple(shown) == PAD_GREY
        else:
            assert (shown[0], shown[2] // 16) == (pixel[0] % 256, pixel[0] // 256), (y, pixel)
    for x in range(css_w):
        shown = canvas.rgb[y_mid * step, x * step]
        pixel = canvas.image_pixel(x, y_mid)
        if pixel is not None:
            assert (shown[1], shown[2] % 16) == (pixel[1] % 256, pixel[1] // 256), (x, pixel)
    named = {canvas.image_pixel(x_mid, y) for y in range(css_h)} - {None}
    assert len(named) == (
        h if step == 1 else (h + 1) // 2
    )  # every row reachable (1/2: every other)


def test_marks_frame_the_output_pixel_and_the_margin_is_grey():
    image = np.full((64, 64, 3), 200, np.uint8)
    canvas = click_canvas(image, None, 0.0, _view((20, 24, 24, 28), (0, 0, 40, 40)), margin=8)
    z = int(canvas.zoom)
    rgb = canvas.rgb
    # the output pixel itself is untouched (the frame lies around it)
    inner = rgb[(20 + 8) * z : (24 + 8) * z, (24 + 8) * z : (28 + 8) * z]
    assert (inner == 200).all()
    # just outside it: the innermost frame colour, then black, then white
    y = (20 + 8) * z - 1
    x = (24 + 8) * z + 1
    assert tuple(rgb[y, x]) == MARK_COLOURS[-1]
    assert tuple(rgb[y - z, x]) == MARK_COLOURS[1]
    assert tuple(rgb[0, 0]) == PAD_GREY


def _picture_cell(client, rect_origin, rect_size, natural):
    """What the component's main.js computes (pictureCell): client position minus the bounding
    rectangle, scaled by natural / displayed size, floored and clamped."""
    return min(max(int(np.floor((client - rect_origin) * natural / rect_size)), 0), natural - 1)


@pytest.mark.parametrize(
    "hw, margin", [((40, 52), 8), ((512, 512), 16), ((512, 384), 64), ((440, 300), 32)]
)
def test_images_up_to_512_px_are_shown_at_1x_or_more(hw, margin):
    image = np.zeros((*hw, 3), np.uint8)
    canvas = click_canvas(image, None, 0.0, _view((-900, -900, -899, -899), (-900,) * 4), margin)
    assert canvas.zoom >= 1
    assert canvas.css_width == canvas.rgb.shape[1]


@pytest.mark.parametrize("origin", [0.0, 467.156, 13.5, 0.999])
@pytest.mark.parametrize("hw, margin", [((40, 52), 8), ((512, 512), 16), ((120, 90), 16)])
def test_an_event_names_the_pixel_at_fractional_offsets_and_the_last_row(origin, hw, margin):
    """The picture's rectangle starts at a fractional CSS position: a click anywhere inside an
    image pixel's CSS square (its first and last CSS pixel, the far edge of the last row and
    column) names that pixel."""
    h, w = hw
    image = np.zeros((h, w, 3), np.uint8)
    canvas = click_canvas(image, None, 0.0, _view((-900, -900, -899, -899), (-900,) * 4), margin)
    z = int(canvas.zoom)
    css_h, css_w = canvas.rgb.shape[:2]
    for row in (0, 1, h // 2, h - 1):
        for col in (0, w // 3, w - 1):
            for dy, dx in ((0.01, 0.01), (z - 0.01, z - 0.01), (0.5, z - 0.5)):
                cy = origin + (margin + row) * z + dy
                cx = origin + 7.25 + (margin + col) * z + dx
                event = {
                    "row": _picture_cell(cy, origin, css_h, css_h),
                    "col": _picture_cell(cx, origin + 7.25, css_w, css_w),
                }
                assert canvas.pixel_of_event(event) == (row, col), (row, col, dy, dx)
    # the far edge of the rectangle is the last image row/col's last CSS pixel (clamped)
    last = {"row": _picture_cell(origin + css_h, origin, css_h, css_h), "col": 0}
    assert last["row"] == css_h - 1
    assert canvas.pixel_of_event({"row": margin * z - 1, "col": margin * z}) is None  # margin
    assert canvas.pixel_of_event(None) is None


def test_a_shrunk_picture_still_names_the_pixel_under_the_click():
    """When the frame is narrower than the picture, the browser shrinks it; the natural /
    displayed scaling keeps every click exact."""
    image = np.zeros((512, 512, 3), np.uint8)
    canvas = click_canvas(image, None, 0.0, _view((-900, -900, -899, -899), (-900,) * 4), 16)
    natural = canvas.rgb.shape[1]
    shown = 401.3  # CSS px
    for col in (0, 1, 255, 511):
        x = 5.5 + (16 + col + 0.5) * shown / natural  # the centre of that pixel on screen
        event = {"row": 16 + 10, "col": _picture_cell(x, 5.5, shown, natural)}
        assert canvas.pixel_of_event(event) == (10, col)


def test_css_positions_with_fractions_name_the_same_pixel_as_events():
    """The event's x, y (CSS px at css_width) and its row, col agree (Explore's older path)."""
    image = np.zeros((97, 131, 3), np.uint8)
    canvas = click_canvas(image, None, 0.0, _view((-900, -900, -899, -899), (-900,) * 4), 32)
    z = int(canvas.zoom)
    for row, col in ((0, 0), (96, 130), (50, 7)):
        r, c = (32 + row) * z + z - 1, (32 + col) * z
        assert canvas.image_pixel(c + 0.75, r + 0.75) == (row, col)
        assert canvas.pixel_of_event({"row": r, "col": c}) == (row, col)
