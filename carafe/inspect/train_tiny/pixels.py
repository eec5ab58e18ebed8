"""The pixels of a tiny run worth looking at, chosen from the data, with CARAFE's kernels there
and what lies under them: every edge pixel (beside-the-edge ones first) and one pixel in a flat
area, and how CARAFE's kernels compare with bilinear's weights over the edge pixels. No
Streamlit and no plotting here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from carafe.nn.interpolation import bilinear_kernel_1d
from carafe.ops.geometry import Geometry

__all__ = [
    "EDGE_CONTRAST",
    "MATCH_TOLERANCE",
    "MIN_BLEED",
    "MIN_BLEND",
    "EdgeGroup",
    "EdgeSummary",
    "PixelKernels",
    "choose_pixels",
    "edge_group",
    "pixel_kernels",
]

#: A tap "has the pixel's colour" when no colour channel differs by more than this.
MATCH_TOLERANCE = 0.05
#: A source pixel this close to the pixel's colour (share of the contrast) is of its colour.
MIN_BLEND = 0.1
#: An edge pixel is one where bilinear takes at least this weight from the other colour.
MIN_BLEED = 0.1
#: A clean edge's two colours differ by at least this in some channel.
EDGE_CONTRAST = 0.3


@dataclass
class PixelKernels:
    """CARAFE's kernels at one output pixel of the shown picture, with what lies under them.

    role: "edge" or "flat". pixel: output (y, x); source: its input pixel (⌊y/s⌋, ⌊x/s⌋);
    sub_pixel: (y mod s, x mod s). kernels: (G, k, k), one per group. block: (s, s, G, k, k),
    the s² kernels the source pixel predicts (block[a, b] for output (s·sy + a, s·sx + b)).
    window: (y0, x0, y1, x1) the k×k input window in picture pixels (half-open, clipped to the
    picture). taps: (k, k, 3) input colours under the taps (NaN outside the map). truth: (3,)
    the full-resolution colour of the pixel. matching: (k, k) taps within MATCH_TOLERANCE of
    it. weight_on_match: the kernels' weight on those taps, averaged over the three colour
    channels, each with its group's kernel (groups holding only features do not count);
    bilinear_on_match: bilinear's weight there (None for k = 1, too small for bilinear's taps).
    reassembled: (3,) the colour the kernels make of the taps (each colour channel with its
    group's kernel); bilinear_colour: (3,) what bilinear's weights make of them (or None).
    spread: the largest difference of a colour channel between two taps inside the map.
    beside: for an edge pixel, whether its source pixel has its own colour (the edge passes
    beside it) or not (the edge crosses it); None for other pixels.
    """

    role: str
    pixel: tuple[int, int]
    source: tuple[int, int]
    sub_pixel: tuple[int, int]
    kernels: np.ndarray
    block: np.ndarray
    window: tuple[int, int, int, int]
    taps: np.ndarray
    truth: np.ndarray
    matching: np.ndarray
    weight_on_match: float
    bilinear_on_match: float | None
    reassembled: np.ndarray
    bilinear_colour: np.ndarray | None
    spread: float
    beside: bool | None = None  # edge pixels: the source pixel has the pixel's own colour

    @property
    def n_matching(self) -> int:
        return int(self.matching.sum())

    @property
    def miss(self) -> float:
        """How far the kernels' colour is from the true colour (largest channel difference)."""
        return float(np.abs(self.reassembled - self.truth).max())

    @property
    def bilinear_miss(self) -> float | None:
        """The same for bilinear's weights (None without them)."""
        if self.bilinear_colour is None:
            return None
        return float(np.abs(self.bilinear_colour - self.truth).max())


def _bilinear_kernel(k: int, s: int, a: int, b: int) -> np.ndarray | None:
    """Bilinear's weights on the k×k taps for sub-pixel (a, b), away from the border."""
    if k < 3:
        return None
    return np.outer(bilinear_kernel_1d(k, s, a).numpy(), bilinear_kernel_1d(k, s, b).numpy())


def pixel_kernels(
    role: str, geometry: Geometry, kernels: np.ndarray, low: np.ndarray, target: np.ndarray, y, x
) -> PixelKernels:
    """The :class:`PixelKernels` of output pixel (y, x) from a picture's kernels (G·k², H, W),
    its input (h, w, 3) and its full-resolution picture (H, W, 3)."""
    g, k, s = geometry.G, geometry.k, geometry.s
    y, x = int(y), int(x)
    win = geometry.window(y, x)
    sy, sx = win.source
    a, b = geometry.sub_pixel(y, x)
    per_pixel = kernels.reshape(g, k, k, *kernels.shape[1:])
    rows = np.clip(win.rows, 0, geometry.H - 1)
    cols = np.clip(win.cols, 0, geometry.W - 1)
    taps = low[rows[:, None], cols[None, :]].astype(np.float64)
    taps[~win.inside] = np.nan
    truth = target[y, x].astype(np.float64)
    with np.errstate(invalid="ignore"):
        matching = np.all(np.abs(taps - truth) <= MATCH_TOLERANCE, axis=-1) & win.inside
    mine = per_pixel[..., y, x]
    block = per_pixel[..., s * sy : s * sy + s, s * sx : s * sx + s]  # (G, k, k, s, s)
    inside = taps[win.inside]
    bil = _bilinear_kernel(k, s, a, b)
    zeroed = np.nan_to_num(taps)  # zero padding, as the op reads it
    colour_groups = [geometry.group_of_channel(c) for c in range(taps.shape[-1])]
    reassembled = np.array(
        [(mine[gi] * zeroed[..., c]).sum() for c, gi in enumerate(colour_groups)]
    )
    window = (
        max(int(win.rows[0]) * s, 0),
        max(int(win.cols[0]) * s, 0),
        min((int(win.rows[-1]) + 1) * s, geometry.H * s),
        min((int(win.cols[-1]) + 1) * s, geometry.W * s),
    )
    return PixelKernels(
        role=role,
        pixel=(y, x),
        source=(sy, sx),
        sub_pixel=(a, b),
        kernels=np.ascontiguousarray(mine),
        block=np.ascontiguousarray(np.moveaxis(block, (3, 4), (0, 1))),
        window=window,
        taps=taps,
        truth=truth,
        matching=matching,
        weight_on_match=float(np.mean([(mine[gi] * matching).sum() for gi in colour_groups])),
        bilinear_on_match=None if bil is None else float((bil * matching).sum()),
        reassembled=reassembled,
        bilinear_colour=None if bil is None else (bil[..., None] * zeroed).sum(axis=(0, 1)),
        spread=float(np.ptp(inside, axis=0).max()) if len(inside) else 0.0,
    )


def _window_stats(geometry: Geometry, low: np.ndarray, target: np.ndarray):
    """Per output pixel (H, W): the window lies inside the map; the colour spread of its
    window; which taps have the pixel's true colour (H, W, k, k); how far the source pixel's
    colour is from it, as a share of the window's contrast (0 = its own colour, 0.5 = a
    half-and-half blend); and whether the window is a clean edge (every tap a blend of the true
    colour A and one other colour B, the tap furthest from A, with A and B well apart)."""
    k, s, r = geometry.k, geometry.s, geometry.radius
    h, w = low.shape[:2]
    padded = np.pad(low.astype(np.float64), ((r, r), (r, r), (0, 0)), constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, (k, k), axis=(0, 1))
    # windows: (h, w, 3, k, k) -> the same for each of the s×s outputs of an input pixel
    win = np.repeat(np.repeat(windows, s, axis=0), s, axis=1)
    inside = np.zeros((h, w), bool)
    inside[r : h - r, r : w - r] = True
    inside = np.repeat(np.repeat(inside, s, axis=0), s, axis=1)
    spread = np.nanmax(win, axis=(3, 4)) - np.nanmin(win, axis=(3, 4))
    spread = spread.max(axis=-1)
    with np.errstate(invalid="ignore"):
        close = np.abs(win - target[..., None, None]) <= MATCH_TOLERANCE
    same = close.all(axis=2)  # (H, W, k, k) taps of the pixel's true colour
    source = np.repeat(np.repeat(low, s, axis=0), s, axis=1)
    blend = np.abs(source - target).max(axis=-1)
    # Clean edge: each tap lies on the segment from A (the truth) to B (the furthest tap).
    a = target[..., None, None].astype(np.float64)
    taps = win.reshape(*win.shape[:3], -1)
    distance = np.abs(taps - a[..., 0]).max(axis=2)  # NaN for taps outside the map
    far = np.argmax(np.nan_to_num(distance, nan=-1.0), axis=-1)
    ab = np.take_along_axis(taps, far[:, :, None, None], axis=-1)[..., None] - a
    t = np.clip(
        ((win - a) * ab).sum(axis=2, keepdims=True)
        / np.maximum((ab**2).sum(axis=2, keepdims=True), 1e-12),
        0,
        1,
    )
    off_segment = np.nanmax(np.abs(win - (a + t * ab)), axis=(2, 3, 4))
    contrast = np.abs(ab).max(axis=(2, 3, 4))
    clean = (off_segment <= MATCH_TOLERANCE) & (contrast >= EDGE_CONTRAST)
    return inside, spread, same, blend / np.maximum(contrast, 1e-12), clean


def _bilinear_bleed(geometry: Geometry, same: np.ndarray) -> np.ndarray:
    """(H, W): the weight bilinear's taps put on input pixels not of the true colour (zeros
    where its taps do not fit the window, k = 1)."""
    k, s = geometry.k, geometry.s
    h, w = same.shape[:2]
    if k < 3:
        return np.zeros((h, w))
    per_sub = np.array([[_bilinear_kernel(k, s, a, b) for b in range(s)] for a in range(s)])
    tiled = np.tile(per_sub, (h // s, w // s, 1, 1))  # (H, W, k, k): sub-pixel (y % s, x % s)
    return (tiled * ~same).sum(axis=(2, 3))


def choose_pixels(geometry: Geometry, low: np.ndarray, target: np.ndarray):
    """(edge pixels (n, 2), beside (n,) bool, flat pixel) of the picture, from the data.

    Edge pixels: those whose window lies inside the map, is a clean edge between two colours
    and holds taps of the true colour, and where bilinear's fixed weights take at least
    MIN_BLEED from the other colour (there an upsampler must choose); failing that, fewer of
    these conditions. beside: the source pixel has the pixel's own colour (the edge passes
    beside it, not through it). Order: beside first, then the most bilinear bleeding, then
    nearest the centre. Flat: the pixel nearest the centre among those whose window has the
    least colour spread.
    """
    inside, spread, same, blend, clean = _window_stats(geometry, low, target)
    matches = same.sum(axis=(2, 3))
    bleed = _bilinear_bleed(geometry, same)
    hh, ww = spread.shape
    yy, xx = np.mgrid[:hh, :ww]
    centre = (yy - (hh - 1) / 2) ** 2 + (xx - (ww - 1) / 2) ** 2
    some = inside & (matches > 0) & (matches < geometry.taps)
    tiers = (some & clean & (bleed >= MIN_BLEED), some & clean, some)
    candidates = next((c for c in tiers if c.any()), np.ones_like(some))
    ys, xs = np.nonzero(candidates)
    beside = blend[ys, xs] < MIN_BLEND
    order = np.lexsort((centre[ys, xs], -np.round(bleed[ys, xs], 2), ~beside))
    edges = np.stack([ys[order], xs[order]], axis=1)
    masked = np.where(inside, spread, np.inf) if inside.any() else spread
    flattest = masked <= masked.min() + 1e-9
    flat = np.unravel_index(int(np.argmin(np.where(flattest, centre, np.inf))), masked.shape)
    return edges, beside[order], flat


@dataclass(frozen=True)
class EdgeGroup:
    """CARAFE against bilinear over a set of edge pixels (see PixelKernels.miss)."""

    pixels: int
    carafe_closer: int  # pixels where CARAFE's kernels come closer to the true colour
    carafe_miss: float  # mean miss over the pixels
    bilinear_miss: float | None  # None when bilinear's taps do not fit the window (k = 1)


@dataclass(frozen=True)
class EdgeSummary:
    """The edge pixels of the picture in two groups: beside the edge (the source pixel has
    the pixel's own colour) and across it (the edge crosses the source pixel)."""

    beside: EdgeGroup
    across: EdgeGroup


def edge_group(edges: list[PixelKernels]) -> EdgeGroup:
    if not edges:
        return EdgeGroup(0, 0, 0.0, None)
    carafe_miss = float(np.mean([e.miss for e in edges]))
    if edges[0].bilinear_miss is None:
        return EdgeGroup(len(edges), 0, carafe_miss, None)
    return EdgeGroup(
        pixels=len(edges),
        carafe_closer=sum(e.miss < e.bilinear_miss for e in edges),
        carafe_miss=carafe_miss,
        bilinear_miss=float(np.mean([e.bilinear_miss for e in edges])),
    )
