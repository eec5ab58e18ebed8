"""The Sandbox's profile line: the pattern exactly along it, every method's value at the output
pixels it crosses, and CARAFE's kernels where it crosses the edge.

Lines and their coordinates are :mod:`carafe.inspect.sandbox.patterns`' (continuous image
pixels, pixel (i, j) covering [i, i+1) × [j, j+1)); the values are the one-number maps of
:func:`carafe.inspect.sandbox.view.sandbox_view`. No drawing and no Streamlit here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from carafe.inspect.kernel_compare import bilinear_kernels
from carafe.inspect.sandbox.patterns import Line
from carafe.inspect.sandbox.view import SandboxView

__all__ = [
    "KernelOnLine",
    "PatternAlong",
    "Profile",
    "kernels_along",
    "map_line",
    "pattern_along",
    "profile_along",
]


@dataclass
class PatternAlong:
    """The pattern (0 = A, 1 = B) along a line, exactly, from the image pixels it crosses.

    trace: (m, 2) points (distance from the line's centre in image px, value) of a polyline
    that holds each crossed pixel's value over the stretch of line inside it and, where the line
    only touches pixels (passes a corner or runs along an edge), rises to 1 if one of them is
    B; NaN off the image. touches_a / touches_b: the closed line meets a pixel of that colour.
    """

    trace: np.ndarray
    touches_a: bool
    touches_b: bool
    pieces_t: np.ndarray  # (p + 1,) break points along the line, t in [0, 1]
    pieces_value: np.ndarray  # (p,) the pattern in each piece (NaN off the image)


def _near_integer(v: np.ndarray) -> np.ndarray:
    return np.abs(v - np.round(v)) < 1e-9


def _breaks(line: Line) -> np.ndarray:
    """t in [0, 1] where the segment crosses an integer row or column line, with 0 and 1;
    crossings closer than 1e-9 merge (a lattice corner is one break, not two)."""
    ts = [np.array([0.0, 1.0])]
    for a0, a1 in ((line.y0, line.y1), (line.x0, line.x1)):
        if abs(a1 - a0) > 1e-12:
            lo, hi = sorted((a0, a1))
            grid = np.arange(np.ceil(lo), np.floor(hi) + 1)
            ts.append((grid - a0) / (a1 - a0))
    t = np.unique(np.clip(np.concatenate(ts), 0.0, 1.0))
    keep = np.ones(t.size, bool)
    keep[1:] = np.diff(t) * max(line.length, 1.0) > 1e-9
    return t[keep]


def pattern_along(mask: np.ndarray, line: Line) -> PatternAlong:
    """The pattern of ``mask`` ((H, W) bool, B = True) along ``line``, exactly: the line is cut
    where it crosses pixel boundaries, so a pattern thinner than any sampling step (a 1 px line
    at 45° is a chain of pixels touching at corners) is still met."""
    h, w = mask.shape
    t = _breaks(line)
    ys = line.y0 + t * (line.y1 - line.y0)
    xs = line.x0 + t * (line.x1 - line.x0)
    dist = (t - 0.5) * line.length

    def lookup(r, c):
        ok = (r >= 0) & (r < h) & (c >= 0) & (c < w)
        v = np.full(r.shape, np.nan)
        v[ok] = mask[r[ok], c[ok]]
        return v

    # each piece lies inside one pixel: the one holding its midpoint
    my, mx = (ys[:-1] + ys[1:]) / 2, (xs[:-1] + xs[1:]) / 2
    piece = lookup(np.floor(my).astype(np.int64), np.floor(mx).astype(np.int64))
    # a break point touches up to four pixels (two along each axis on a pixel boundary)
    touching = []
    for ry in (0, 1):
        for rx in (0, 1):
            r = np.where(_near_integer(ys), np.round(ys) - 1 + ry, np.floor(ys)).astype(np.int64)
            c = np.where(_near_integer(xs), np.round(xs) - 1 + rx, np.floor(xs)).astype(np.int64)
            touching.append(lookup(r, c))
    touching = np.stack(touching)
    point = np.fmax.reduce(touching, axis=0)  # NaN only where every touched pixel is off-image
    seen = np.concatenate([piece, touching.ravel()])
    seen = seen[~np.isnan(seen)]
    n = len(piece)
    trace = np.empty((3 * n + 1, 2))
    trace[0::3, 0], trace[0::3, 1] = dist, point
    trace[1::3, 0], trace[1::3, 1] = dist[:-1], piece
    trace[2::3, 0], trace[2::3, 1] = dist[1:], piece
    return PatternAlong(
        trace=trace,
        touches_a=bool((seen == 0).any()),
        touches_b=bool((seen == 1).any()),
        pieces_t=t,
        pieces_value=piece,
    )


@dataclass
class Profile:
    """Output pixels a line crosses, in order, with every method's projected value."""

    pixels: np.ndarray  # (n, 2) output pixel (y, x)
    distance: np.ndarray  # (n,) image px from the line's centre to the pixel centre, along it
    values: dict[str, np.ndarray]  # method -> (n,)
    input_values: np.ndarray  # (n,) the input map at each pixel's source pixel
    pattern_values: np.ndarray | None  # (n,) share of the line inside the pixel that is B
    steepest: dict[str, float]  # method -> largest |change| between neighbouring pixels
    input_steepest: float  # the input map's largest |change| between neighbouring pixels
    low: float  # the input's lowest / highest value on the line
    high: float
    pattern: PatternAlong | None = None  # the pattern along the line, exactly

    @property
    def crosses_pattern(self) -> bool:
        """The line runs over both colours of a pattern (decided on the image pixels it meets,
        not on the output pixels' centres: a thin line can pass between those)."""
        p = self.pattern
        return p is not None and p.touches_a and p.touches_b


@dataclass
class KernelOnLine:
    """CARAFE's kernel of one output pixel on the profile line."""

    pixel: tuple[int, int]
    sub_pixel: tuple[int, int]
    distance: float
    kernel: np.ndarray  # (k, k), group 0
    window: np.ndarray  # (k, k) projected input under the taps (NaN outside the map)
    high_side: np.ndarray  # (k, k) bool: the input there is above the middle of the line's range
    high_weight: float  # the kernel's weight on those taps
    bilinear_high_weight: float = float("nan")  # bilinear's sub-pixel kernel's weight on them
    on_high_side: bool = False  # the pixel's own source input lies above that middle


def _pieces(line: Line, stride: int):
    """(t, output pixel (p, 2), length) of the line cut at image-pixel boundaries; each piece
    lies inside one image pixel and so inside one output pixel of ``stride`` image px."""
    t = _breaks(line)
    mid = (t[:-1] + t[1:]) / 2
    iy = np.floor(line.y0 + mid * (line.y1 - line.y0)).astype(np.int64)
    ix = np.floor(line.x0 + mid * (line.x1 - line.x0)).astype(np.int64)
    return t, np.stack([iy // stride, ix // stride], axis=1), np.diff(t) * line.length


def _crossed_pixels(view: SandboxView, line: Line) -> np.ndarray:
    """Output pixels (visible part) the line passes through, in order, without repeats."""
    oh, ow = view.step.visible_output_hw()
    _, pixels, length = _pieces(line, view.step.stride_out)
    ok = (length > 0) & (pixels >= 0).all(axis=1) & (pixels[:, 0] < oh) & (pixels[:, 1] < ow)
    pixels = pixels[ok]
    if len(pixels) == 0:
        return pixels.reshape(0, 2)
    new = np.ones(len(pixels), bool)
    new[1:] = (pixels[1:] != pixels[:-1]).any(axis=1)
    return pixels[new]


def _steepest(values: np.ndarray) -> float:
    return float(np.abs(np.diff(values)).max()) if len(values) > 1 else 0.0


def map_line(line: Line, stride: int) -> Line:
    """``line`` in the pixel coordinates of a map with ``stride`` image pixels per map pixel,
    pixel centres at integers (as a heatmap draws them)."""
    return Line(*(v / stride - 0.5 for v in (line.y0, line.x0, line.y1, line.x1)))


def _pattern_share(mask: np.ndarray, line: Line, stride: int, pixels: np.ndarray) -> np.ndarray:
    """(n,) for each profile pixel, the share of the line inside it (and inside the image)
    that runs over colour B."""
    t, owner, length = _pieces(line, stride)
    h, w = mask.shape
    mid = (t[:-1] + t[1:]) / 2
    iy = np.floor(line.y0 + mid * (line.y1 - line.y0)).astype(np.int64)
    ix = np.floor(line.x0 + mid * (line.x1 - line.x0)).astype(np.int64)
    inside = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
    b = np.zeros(len(iy))
    b[inside] = mask[iy[inside], ix[inside]]
    share = np.zeros(len(pixels))
    for i, (y, x) in enumerate(pixels):
        mine = inside & (owner[:, 0] == y) & (owner[:, 1] == x)
        total = length[mine].sum()
        share[i] = (length[mine] * b[mine]).sum() / total if total > 0 else 0.0
    return share


def profile_along(view: SandboxView, line: Line, extra: dict | None = None) -> Profile:
    """Every method's value at the output pixels ``line`` crosses (each pixel once, in order).

    Values are the pixels' own (no interpolation along the line, which would blur what the
    profile is there to show). With a two-colour pattern, also the pattern itself along the
    line, exactly (:func:`pattern_along`), and per pixel the share of the line that is B.
    extra: name -> (sh, sw) further maps on the same output grid (another model's output).
    """
    geo = view.step.geometry
    pixels = _crossed_pixels(view, line)
    cy, cx = geo.image_centre(pixels[:, 0], pixels[:, 1]) if len(pixels) else ([], [])
    cy, cx = np.asarray(cy, np.float64) + 0.5, np.asarray(cx, np.float64) + 0.5  # pixel centres
    uy, ux = (line.y1 - line.y0), (line.x1 - line.x0)
    norm = np.hypot(uy, ux) or 1.0
    my, mx = line.centre
    distance = ((cy - my) * uy + (cx - mx) * ux) / norm
    maps = dict(view.maps) | dict(extra or {})
    values = {m: a[pixels[:, 0], pixels[:, 1]] for m, a in maps.items()}
    source = np.array([geo.source_pixel(y, x) for y, x in pixels], np.int64).reshape(-1, 2)
    input_values = view.input_map[source[:, 0], source[:, 1]]
    pattern_values = pattern = None
    if view.mask is not None:
        pattern = pattern_along(view.mask, line)
        pattern_values = _pattern_share(view.mask, line, view.step.stride_out, pixels)
    low = float(input_values.min()) if len(pixels) else 0.0
    high = float(input_values.max()) if len(pixels) else 0.0
    return Profile(
        pixels=pixels,
        distance=distance,
        values=values,
        input_values=input_values,
        pattern_values=pattern_values,
        steepest={m: _steepest(v) for m, v in values.items()},
        input_steepest=_steepest(input_values),
        low=low,
        high=high,
        pattern=pattern,
    )


def kernels_along(view: SandboxView, profile: Profile, count: int = 8) -> list[KernelOnLine]:
    """CARAFE's kernels at ``count`` consecutive profile pixels around the input's largest jump
    along the line (where the line crosses an edge), group 0."""
    n = len(profile.pixels)
    if n == 0:
        return []
    jumps = np.abs(np.diff(profile.input_values)) if n > 1 else np.zeros(1)
    centre = int(np.argmax(jumps)) + 1 if jumps.max() > 0 else n // 2
    start = int(np.clip(centre - count // 2, 0, max(0, n - count)))
    geo = view.step.geometry
    d = view.step.carafe
    full = np.full((geo.H, geo.W), np.nan)
    vh, vw = view.input_map.shape
    full[:vh, :vw] = view.input_map
    middle = (profile.low + profile.high) / 2
    bilinear = bilinear_kernels(geo.k, geo.s)  # away from the border, by sub-pixel
    out = []
    for i in range(start, min(n, start + count)):
        y, x = (int(v) for v in profile.pixels[i])
        win = geo.window(y, x)
        rows, cols = np.clip(win.rows, 0, geo.H - 1), np.clip(win.cols, 0, geo.W - 1)
        window = np.where(win.in_image, full[np.ix_(rows, cols)], np.nan)
        kernel = geo.kernel_at(d.kernels, y, x, 0).astype(np.float64)
        high = np.nan_to_num(window, nan=-np.inf) > middle
        a, b = geo.sub_pixel(y, x)
        out.append(
            KernelOnLine(
                pixel=(y, x),
                sub_pixel=geo.sub_pixel(y, x),
                distance=float(profile.distance[i]),
                kernel=kernel,
                window=window,
                high_side=high,
                high_weight=float(kernel[high].sum()),
                bilinear_high_weight=float(bilinear[a, b][high].sum()),
                on_high_side=bool(profile.input_values[i] > middle),
            )
        )
    return out
