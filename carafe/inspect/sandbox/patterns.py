"""Test patterns for the Sandbox page: two-colour images whose geometry is known exactly.

Every pattern is an (H, W, 3) uint8 image painted in two colours, A (background) and B, plus
the boolean mask of the B pixels, so the page can say which side of an edge each pixel lies on.
Coordinates are continuous image coordinates: pixel (i, j) covers [i, i+1) × [j, j+1) and its
centre is (i + ½, j + ½); y grows downwards. Angles are in degrees, counter-clockwise from the
+x axis as seen on screen (90° points up).

No drawing and no Streamlit here; the page only draws what these functions return.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "PATTERNS",
    "Line",
    "Pattern",
    "direction",
    "hex_to_rgb",
    "line_through",
    "make_pattern",
]

#: Pattern kinds, in the order the page offers them.
PATTERNS = ("edge", "corner", "line", "checkerboard", "disc")

Colour = tuple[int, int, int]


@dataclass(frozen=True)
class Pattern:
    """A generated two-colour test image.

    mask: (H, W) bool, True where the image has colour B. ``across``: the direction (degrees)
    that crosses the pattern's boundary at ``anchor`` (y, x), for a default profile line.
    """

    kind: str
    image: np.ndarray
    mask: np.ndarray
    colour_a: Colour
    colour_b: Colour
    anchor: tuple[float, float]
    across: float
    description: str


@dataclass(frozen=True)
class Line:
    """A straight segment in continuous image coordinates, from (y0, x0) to (y1, x1)."""

    y0: float
    x0: float
    y1: float
    x1: float

    @property
    def length(self) -> float:
        return float(np.hypot(self.y1 - self.y0, self.x1 - self.x0))

    @property
    def centre(self) -> tuple[float, float]:
        return (self.y0 + self.y1) / 2, (self.x0 + self.x1) / 2


def direction(angle_deg: float) -> tuple[float, float]:
    """Unit vector (dy, dx) of an on-screen angle (counter-clockwise from +x, y down)."""
    a = np.deg2rad(float(angle_deg))
    return -float(np.sin(a)), float(np.cos(a))


def line_through(cy: float, cx: float, angle_deg: float, length: float) -> Line:
    """The segment of ``length`` image pixels centred on (cy, cx) pointing at ``angle_deg``."""
    dy, dx = direction(angle_deg)
    h = float(length) / 2
    return Line(cy - h * dy, cx - h * dx, cy + h * dy, cx + h * dx)


def hex_to_rgb(colour: str) -> Colour:
    """'#rrggbb' (a colour picker's value) -> (r, g, b) ints."""
    text = colour.strip().lstrip("#")
    if len(text) != 6:
        raise ValueError(f"expected a colour like '#1f77b4', got {colour!r}")
    return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)


def _signed_distance(yy, xx, cy, cx, normal_deg):
    """Distance of each point from the line through (cy, cx) whose normal is ``normal_deg``
    (rounded to 1e-9 px, so a pixel centre on the line is on it, whatever the float noise)."""
    ny, nx = direction(normal_deg)
    return np.round((yy - cy) * ny + (xx - cx) * nx, 9)


def make_pattern(
    kind: str,
    size: int = 256,
    angle: float = 75.0,
    width: float = 4.0,
    square: int = 16,
    radius: float = 48.0,
    centre: tuple[float, float] | None = None,
    colour_a: Colour = (40, 40, 40),
    colour_b: Colour = (235, 200, 40),
) -> Pattern:
    """A ``size`` × ``size`` two-colour pattern (B on ``mask``, A elsewhere).

    edge:         B on one side of a straight edge through ``centre`` that runs at ``angle``;
    corner:       B inside a right-angled corner at ``centre``, one side running at ``angle``;
    line:         a B line ``width`` pixels wide through ``centre``, running at ``angle``;
    checkerboard: squares of ``square`` pixels (period 2·square), B where row + col is odd;
    disc:         a B disc of ``radius`` pixels around ``centre``.

    A pixel is B when its centre lies inside the shape, so edges are hard (no anti-aliasing).
    """
    if kind not in PATTERNS:
        raise ValueError(f"unknown pattern {kind!r}; choose one of {PATTERNS}")
    size = int(size)
    if size < 8:
        raise ValueError(f"size must be at least 8 pixels, got {size}")
    cy, cx = centre if centre is not None else (size / 2, size / 2)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    normal = angle - 90.0  # the edge runs at `angle`; this points across it, to the B side
    if kind == "edge":
        mask = _signed_distance(yy, xx, cy, cx, normal) > 0
        across, what = normal, f"a straight edge running at {angle:g}°"
    elif kind == "corner":
        mask = (_signed_distance(yy, xx, cy, cx, normal) > 0) & (
            _signed_distance(yy, xx, cy, cx, angle) > 0
        )
        across, what = normal + 45.0, f"a right-angled corner, one side at {angle:g}°"
    elif kind == "line":
        if width <= 0:
            raise ValueError(f"width must be positive, got {width}")
        # half-open band [-w/2, w/2): a line on a pixel boundary covers exactly w pixel centres
        # across (an open band would give a 1 px line there no pixel at all)
        d = _signed_distance(yy, xx, cy, cx, normal)
        mask = (d >= -width / 2) & (d < width / 2)
        across, what = normal, f"a line {width:g} px wide running at {angle:g}°"
    elif kind == "checkerboard":
        if square < 1:
            raise ValueError(f"square must be at least 1 pixel, got {square}")
        rows, cols = np.mgrid[0:size, 0:size]
        mask = ((rows // int(square)) + (cols // int(square))) % 2 == 1
        across, what = 0.0, f"a checkerboard of {int(square)} px squares (period {2 * square} px)"
        cy = (int(cy) // int(square) + 0.5) * int(square)  # the profile runs along a row of squares
    else:
        if radius <= 0:
            raise ValueError(f"radius must be positive, got {radius}")
        mask = (yy - cy) ** 2 + (xx - cx) ** 2 < float(radius) ** 2
        across, what = 0.0, f"a disc of radius {radius:g} px"
    image = np.where(mask[..., None], np.array(colour_b, np.uint8), np.array(colour_a, np.uint8))
    return Pattern(
        kind=kind,
        image=np.ascontiguousarray(image, dtype=np.uint8),
        mask=mask,
        colour_a=tuple(int(v) for v in colour_a),
        colour_b=tuple(int(v) for v in colour_b),
        anchor=(float(cy), float(cx)),
        across=float(across % 360.0),
        description=what,
    )
