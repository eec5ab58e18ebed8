"""The Sandbox's DySample panel: the DySample twin, a separate model, on the same pattern.

The twin has its own backbone and FPN, so its features are not CARAFE's: its step is reduced to
one number per pixel *the same way* (:func:`carafe.inspect.sandbox.view.projection_for`: 0 = colour
A's mean feature, 1 = colour B's, measured on the same input-map pixels, the Sandbox's one count
of one-colour windows), not onto CARAFE's axis. Its maps have the same sizes as CARAFE's (same
image, same strides), so they share the profile's output pixels and the border frame.

DySample's output pixel is a bilinear sample of its input map at a learned point, clamped to the
map (border padding), so it too is a weighted average with weights summing to 1: an output
beyond its own input map's range is counted, split into border frame and interior like
CARAFE's. No drawing and no Streamlit here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from carafe.inspect.records import StepAnalysis
from carafe.inspect.sandbox.profile import Profile
from carafe.inspect.sandbox.view import (
    OutsideCount,
    SandboxView,
    count_outside,
    project,
    projection_for,
)

__all__ = ["SamplingOnLine", "TwinView", "sampling_along", "twin_view"]


@dataclass
class TwinView:
    """One step of the twin model on the Sandbox's image, reduced like :class:`SandboxView`."""

    name: str  # the upsampler kind, e.g. "dysample"
    step: StepAnalysis  # the twin's own step (its own features)
    input_map: np.ndarray  # (h, w) its projected input, visible part
    output_map: np.ndarray  # (sh, sw) its projected output, visible part
    zmin: float  # its own input map's range (what a weighted average cannot leave)
    zmax: float
    outside: OutsideCount  # output pixels beyond [zmin, zmax], frame / interior
    projection: str  # "colours" or "pca"
    projection_note: str
    points: np.ndarray | None  # (G, sh, sw, 2) sampling points (x, y) in input-map pixels


def twin_view(
    twin_step: StepAnalysis,
    view: SandboxView,
    image: np.ndarray,
    mask: np.ndarray | None,
    points: np.ndarray | None = None,
) -> TwinView:
    """Reduce the twin's ``twin_step`` (the same FPN step as ``view``'s) on the same image.

    points: the step's entry of :func:`carafe.inspect.sampling.dysample_points` (optional).
    """
    geo = view.step.geometry
    if twin_step.input.shape[1:] != view.step.input.shape[1:] or (
        twin_step.stride_in,
        twin_step.stride_out,
    ) != (view.step.stride_in, view.step.stride_out):
        raise ValueError("the twin's step does not match the Sandbox step's geometry")
    vh, vw = geo.visible_input_hw()
    oh, ow = view.step.visible_output_hw()
    origin, axis, kind, note = projection_for(
        twin_step.input, (vh, vw), twin_step.stride_in, image, mask, view.pixels
    )
    inp = project(twin_step.input, origin, axis)[:vh, :vw]
    out = project(twin_step.output, origin, axis)[:oh, :ow]
    zmin, zmax = float(inp.min()), float(inp.max())
    zmax = max(zmax, zmin + 1e-9)
    return TwinView(
        name=twin_step.kind,
        step=twin_step,
        input_map=inp,
        output_map=out,
        zmin=zmin,
        zmax=zmax,
        outside=count_outside(out, zmin, zmax, view.frame),
        projection=kind,
        projection_note=note,
        points=None if points is None else np.asarray(points)[:, :oh, :ow],
    )


@dataclass
class SamplingOnLine:
    """Where the twin's output pixels on the profile line sample its input map.

    Coordinates are (x, y) in input-map pixels with pixel centres at integers (as the map is
    drawn): ``start`` is where the pixel's point sits before any learned offset (its sub-pixel
    centre: bilinear interpolation), ``points`` (n, G, 2) where it samples, one point per group.
    """

    pixels: np.ndarray  # (n, 2) output pixel (y, x), the profile's
    start: np.ndarray  # (n, 2)
    points: np.ndarray  # (n, G, 2)

    @property
    def moved(self) -> np.ndarray:
        """(n,) mean distance of each pixel's points from its start, in input-map pixels."""
        return np.hypot(*np.moveaxis(self.points - self.start[:, None], -1, 0)).mean(axis=1)


def sampling_along(twin: TwinView, profile: Profile) -> SamplingOnLine | None:
    """The twin's sampling points at the profile's output pixels (None without points)."""
    if twin.points is None:
        return None
    s = twin.step.scale
    y, x = profile.pixels[:, 0], profile.pixels[:, 1]
    # DySample's points are in input pixels with pixel j spanning [j, j+1) minus ½: the same
    # frame as a heatmap with centres at integers; a sub-pixel's centre is (a + ½)/s − ½
    start = np.stack([x // s + ((x % s) + 0.5) / s - 0.5, y // s + ((y % s) + 0.5) / s - 0.5], 1)
    points = np.moveaxis(twin.points[:, y, x], 0, 1).astype(np.float64)  # (n, G, 2)
    return SamplingOnLine(profile.pixels, start.astype(np.float64), points)
