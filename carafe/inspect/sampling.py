"""Where a DySample model samples from, read as sparse kernels for the app. No drawing.

DySample gives each output pixel one sampling point per channel group; bilinear sampling
reads the (at most) four input pixels around it. Written on the same k×k window around the
output pixel's source pixel that CARAFE's kernel covers, that is a sparse kernel, so the two
upsamplers can be compared tap by tap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from carafe.inspect.analysis import analyze
from carafe.inspect.records import Analysis, StepAnalysis
from carafe.nn.interpolation import SampleTap, sampling_taps

__all__ = ["SamplingView", "dysample_points", "sampling_at", "sampling_view", "step_points"]


def step_points(analysis: Analysis) -> list[np.ndarray | None]:
    """Each step's sampling points from an :class:`Analysis` of a point-sampling model (one
    (G, h', w', 2) float32 array of (x, y) in input-map pixels per step, coarsest first, cropped
    to the output map the FPN keeps); None for steps without points."""
    return [step.points for step in analysis.steps]


def dysample_points(model, image: np.ndarray, threads: int | None = 1) -> list[np.ndarray | None]:
    """:func:`step_points` of ``model``'s analysis of an H×W×3 uint8 image (one pass)."""
    return step_points(analyze(model, image, baselines=False, threads=threads))


@dataclass(frozen=True)
class SamplingView:
    """One output pixel of a DySample step.

    source:     (row, col) of the source pixel ⌊y/s⌋, ⌊x/s⌋ in the input map.
    start:      (x, y) where the point starts before any learned offset (the sub-pixel's
                centre; untrained DySample samples there, which is bilinear interpolation).
    points:     (G, 2) the learned sampling points, (x, y) in input-map pixels.
    taps:       per group, the input pixels bilinear sampling reads at that point.
    kernel:     (k, k) the groups' taps averaged onto the k×k window around ``source``.
    outside_window: weight of taps beyond that window (0 when every point stays near).
    in_image:   (k, k) bool, the window's taps that cover real image pixels.
    """

    source: tuple[int, int]
    start: tuple[float, float]
    points: np.ndarray
    taps: list[list[SampleTap]]
    kernel: np.ndarray
    outside_window: float
    in_image: np.ndarray

    @property
    def offsets(self) -> np.ndarray:
        """(G, 2) each point's learned move from ``start``, (dx, dy) in input-map pixels."""
        return self.points - np.asarray(self.start)


def sampling_view(
    positions: np.ndarray,
    input_hw: tuple[int, int],
    y: int,
    x: int,
    scale: int = 2,
    k: int = 5,
    visible_input_hw: tuple[int, int] | None = None,
) -> SamplingView:
    """The sampling of output pixel (y, x) from ``positions`` (G, h', w', 2) of one step.

    input_hw: the input map's size (points are clamped to it, as DySample's border padding
    does). visible_input_hw: how much of the map covers the real image (default: all of it).
    """
    groups, oh, ow, _ = positions.shape
    if not (0 <= y < oh and 0 <= x < ow):
        raise ValueError(f"output pixel ({y}, {x}) is outside the {oh}×{ow} output map")
    h, w = input_hw
    sy, sx = y // scale, x // scale
    centre = (np.arange(scale) + 0.5) / scale - 0.5
    start = (sx + float(centre[x % scale]), sy + float(centre[y % scale]))
    r = (k - 1) // 2
    kernel = np.zeros((k, k))
    outside = 0.0
    taps = []
    for g in range(groups):
        px, py = (float(v) for v in positions[g, y, x])
        group_taps = sampling_taps(px, py, h, w)
        taps.append(group_taps)
        for tap in group_taps:
            dy, dx = tap.row - sy, tap.col - sx
            if abs(dy) <= r and abs(dx) <= r:
                kernel[dy + r, dx + r] += tap.weight / groups
            else:
                outside += tap.weight / groups
    vh, vw = visible_input_hw or (h, w)
    rows = np.arange(sy - r, sy + r + 1)
    cols = np.arange(sx - r, sx + r + 1)
    in_image = ((rows >= 0) & (rows < vh))[:, None] & ((cols >= 0) & (cols < vw))[None, :]
    return SamplingView(
        (sy, sx), start, positions[:, y, x].astype(np.float64), taps, kernel, outside, in_image
    )


def sampling_at(positions: np.ndarray, step: StepAnalysis, y: int, x: int) -> SamplingView:
    """DySample's sampling of output pixel (y, x), written on the k×k window that ``step``'s
    CARAFE kernel covers (same source pixel, same k), so the two can be drawn side by side.

    ``positions``: one entry of :func:`dysample_points` for a model with ``step``'s geometry.
    """
    geo = step.geometry
    return sampling_view(
        positions,
        (geo.H, geo.W),
        int(y),
        int(x),
        scale=geo.s,
        k=geo.k,
        visible_input_hw=geo.visible_input_hw(),
    )
