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
