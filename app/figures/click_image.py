"""The clickable image (Explore, the whole network): the picture the browser shows, drawn here
as pixels, the component that shows it (:func:`click_image`, frontend in ``click_frontend/``)
and the map from a click back to the image pixel under the mouse.

The browser shows the canvas at an exact zoom (1, 2, 3, ... CSS pixels per canvas pixel; 1/2
only for canvases too big for 1x), and the component names the canvas pixel under a click from
the event's client position minus the picture's bounding rectangle, scaled by natural /
displayed size and floored: exact at fractional page offsets, on the last row and column, and
when the frame shrinks the picture. A click selects the output pixel under the cursor,
boundaries included. (A plotly figure cannot: its clicks report the nearest marker.)
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import streamlit.components.v1 as components
from PIL import Image

from figures.images import overlay

#: The canvas is zoomed to fit in about this many CSS pixels (the image column at 1440 px).
FIT_WIDTH, FIT_HEIGHT = 620, 440  # 440: the picture's bottom stays above the fold at 900 px
#: A canvas up to this side that does not fit even at zoom 2 is shown at 1x (512-px images
#: with their margin); only larger ones at 1/2.
MAX_ONE_TO_ONE = 720
COMPONENT_NAME = "carafe_click_image"
_component = components.declare_component(
    COMPONENT_NAME, path=str(Path(__file__).resolve().parent / "click_frontend")
)
PAD_GREY = (128, 128, 128)  # outside the image: zero padding (or the area the model padded)
#: The selected output pixel: white inside black inside white, readable on any photo.
MARK_COLOURS = ((255, 255, 255), (0, 0, 0), (255, 255, 255))
WINDOW_COLOURS = ((0, 229, 255), (0, 0, 0))  # the dashed source window: cyan on black


@dataclass(frozen=True)
class ClickCanvas:
    """The image (``image_hw``) with a grey ``margin`` of canvas pixels on every side, drawn at
    ``zoom`` CSS pixels per canvas pixel (``rgb`` is already zoomed when zoom > 1)."""

    rgb: np.ndarray
    image_hw: tuple[int, int]
    margin: int
    zoom: Fraction

    @property
    def css_width(self) -> int:
        """The width (CSS pixels) the browser must show ``rgb`` at for the exact zoom."""
        return int(self.rgb.shape[1] * min(self.zoom, 1))

    def image_pixel(self, x: float, y: float) -> tuple[int, int] | None:
        """The image pixel (row, col) under CSS position (x, y) in the shown picture (at
        ``css_width``; fractions count), or None when the click is in the grey margin."""
        by = math.floor(Fraction(y) / self.zoom)  # the unzoomed canvas pixel
        bx = math.floor(Fraction(x) / self.zoom)
        return self._image_pixel_of_canvas(by, bx)

    def _image_pixel_of_canvas(self, by: int, bx: int) -> tuple[int, int] | None:
        """Unzoomed canvas pixel (by, bx) -> image pixel, None in the margin."""
        row, col = by - self.margin, bx - self.margin
        h, w = self.image_hw
        return (row, col) if 0 <= row < h and 0 <= col < w else None

    def pixel_of_event(self, event) -> tuple[int, int] | None:
        """The image pixel (row, col) a :func:`click_image` event names (its canvas pixel
        ``row``, ``col``), or None for no event or a click in the grey margin."""
        if not event:
            return None
        if "row" in event and "col" in event:
            up = int(self.zoom) if self.zoom >= 1 else 1  # ``rgb`` pixels per canvas pixel
            return self._image_pixel_of_canvas(int(event["row"]) // up, int(event["col"]) // up)
        if "x" in event and "y" in event:  # an older event: CSS position
            return self.image_pixel(event["x"], event["y"])
        return None


def _zoom(canvas_hw: tuple[int, int]) -> Fraction:
    """The largest integer zoom that fits, else 1/2 (exact for boxes on even coordinates)."""
    fit = min(FIT_WIDTH // canvas_hw[1], FIT_HEIGHT // canvas_hw[0])
    if fit >= 1:
        return Fraction(fit)
    if max(canvas_hw) <= MAX_ONE_TO_ONE:
        return Fraction(1)
    return Fraction(1, 2)


def frame(canvas: np.ndarray, box, colours, width: int, dash: int = 0) -> None:
    """Draw nested outlines of ``box`` = (y0, x0, y1, x1) in canvas pixels (half-open), the
    first colour outermost, each ``width`` pixels; ``dash`` > 0 leaves gaps of that length."""
    h, w = canvas.shape[:2]
    y0, x0, y1, x1 = box
    for i, colour in enumerate(colours):
        t0, l0 = y0 + i * width, x0 + i * width
        b1, r1 = y1 - i * width, x1 - i * width
        if b1 - t0 < 2 * width or r1 - l0 < 2 * width:
            return
        for top, bottom, left, right in (
            (t0, t0 + width, l0, r1),
            (b1 - width, b1, l0, r1),
            (t0, b1, l0, l0 + width),
            (t0, b1, r1 - width, r1),
        ):
            ys = np.arange(max(top, 0), min(bottom, h))
            xs = np.arange(max(left, 0), min(right, w))
            if dash:  # keep every other run of `dash` pixels along the line
                along = xs if right - left > bottom - top else ys
                along = along[(along // dash) % 2 == 0]
                ys, xs = (ys, along) if right - left > bottom - top else (along, xs)
            canvas[np.ix_(ys, xs)] = colour


def click_canvas(image, seg, alpha: float, view, margin: int) -> ClickCanvas:
    """The picture Explore shows: image (segmentation blended in), grey margin, the selected
    output pixel's box (``view.output_box``) marked in white/black/white with ticks reaching
    out from it, and its source window (``view.window_box``) dashed. Boxes are in image pixels;
    ``margin`` (image pixels) should cover how far a window reaches past the image."""
    h, w = image.shape[:2]
    canvas, zoom, up = zoomed_base(overlay(image, seg, alpha), margin)
    line = max(1, up) if zoom >= 1 else 2

    def scaled(box):
        return tuple((v + margin) * up for v in box)

    frame(canvas, scaled(view.window_box), WINDOW_COLOURS, line, dash=4 * line)
    y0, x0, y1, x1 = scaled(view.output_box)
    ring = len(MARK_COLOURS) * line
    frame(canvas, (y0 - ring, x0 - ring, y1 + ring, x1 + ring), MARK_COLOURS, line)
    # ticks: four short bars pointing at the pixel from outside its frame, seen from afar
    cy, cx, reach = (y0 + y1) // 2, (x0 + x1) // 2, 6 * line
    for ty0, tx0, ty1, tx1 in (
        (y0 - ring - reach, cx - line, y0 - ring, cx + line),
        (y1 + ring, cx - line, y1 + ring + reach, cx + line),
        (cy - line, x0 - ring - reach, cy + line, x0 - ring),
        (cy - line, x1 + ring, cy + line, x1 + ring + reach),
    ):
        canvas[max(ty0, 0) : max(ty1, 0), max(tx0, 0) : max(tx1, 0)] = MARK_COLOURS[1]
    return finish(canvas, (h, w), margin, zoom)


def zoomed_base(rgb: np.ndarray, margin: int) -> tuple[np.ndarray, Fraction, int]:
    """``rgb`` inside a grey ``margin`` (image pixels), zoomed for the browser: (canvas, zoom,
    canvas pixels per image pixel). Draw marks on it, then :func:`finish` it."""
    h, w = rgb.shape[:2]
    base = np.empty((h + 2 * margin, w + 2 * margin, 3), np.uint8)
    base[:] = PAD_GREY
    base[margin : margin + h, margin : margin + w] = rgb
    zoom = _zoom(base.shape[:2])
    up = int(zoom) if zoom >= 1 else 1
    canvas = np.repeat(np.repeat(base, up, axis=0), up, axis=1) if up > 1 else base
    return canvas, zoom, up


def finish(canvas: np.ndarray, image_hw, margin: int, zoom: Fraction) -> ClickCanvas:
    """The :class:`ClickCanvas` of a canvas from :func:`zoomed_base` (an even size keeps the
    1/2 zoom exact)."""
    if zoom < 1 and canvas.shape[1] % 2:
        canvas = np.pad(canvas, ((0, canvas.shape[0] % 2), (0, 1), (0, 0)), constant_values=128)
    return ClickCanvas(canvas, tuple(image_hw), margin, zoom)


def click_image(canvas: ClickCanvas, *, key: str, on_click=None, image_format: str = "JPEG"):
    """Show ``canvas`` at its exact zoom (``css_width``) in the click component; returns the
    last click's event ({"row", "col"}: canvas pixel; "x", "y": the same in CSS pixels at
    ``css_width``, for :meth:`ClickCanvas.image_pixel`), or None. Read the image pixel with
    :meth:`ClickCanvas.pixel_of_event`."""
    buffer = io.BytesIO()
    picture = Image.fromarray(canvas.rgb)
    if image_format == "PNG":
        picture.save(buffer, format="PNG", compress_level=1)
    else:
        picture.save(buffer, format="JPEG", quality=92)
    mime = "png" if image_format == "PNG" else "jpeg"
    src = f"data:image/{mime};base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    (rows, cols), up = canvas.image_hw, int(canvas.zoom) if canvas.zoom >= 1 else 1
    # where the image lies on the picture, as data-* attributes (read by the browser tests)
    geometry = {"margin": canvas.margin, "up": up, "rows": rows, "cols": cols}
    return _component(
        src=src,
        width=canvas.css_width,
        geometry=geometry,
        key=key,
        on_change=on_click,
        default=None,
    )
