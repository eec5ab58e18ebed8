"""One image point traced through every top-down step of the network: CARAFE's kernel of the
output pixel under it at each step, and where DySample's points sample. Plain records for the
app; no Streamlit, no drawing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from carafe.inspect.pixel import KernelView, kernel_view
from carafe.inspect.records import Analysis, StepAnalysis
from carafe.inspect.sampling import SamplingView, sampling_at

__all__ = ["TracedKernel", "TracedSampling", "map_to_image", "trace_kernels", "trace_sampling"]


def _clip_point(step: StepAnalysis, iy: int, ix: int) -> tuple[int, int]:
    h, w = step.image_hw
    return int(np.clip(iy, 0, h - 1)), int(np.clip(ix, 0, w - 1))


def _output_pixel(step: StepAnalysis, iy: int, ix: int) -> tuple[int, int]:
    """The output pixel of ``step`` under image pixel (iy, ix), kept inside the visible map."""
    oy, ox = step.geometry.output_pixel_at(iy, ix)
    oh, ow = step.visible_output_hw()
    return min(oy, oh - 1), min(ox, ow - 1)


@dataclass(frozen=True)
class TracedKernel:
    """One CARAFE step's kernel at the output pixel under an image point."""

    position: int  # in Analysis.steps
    name: str  # "P5→P4"
    stride_in: int
    stride_out: int
    point: tuple[int, int]  # the image pixel (row, col), inside the image
    view: KernelView  # output pixel, source pixel, kernel, entropy, peak, padding weight
    window_px: int  # side of the k×k window in image pixels: k · stride_in
    spread_px: float  # kernel-weighted mean distance of its taps from the window centre, image px
    max_entropy: float  # log(k²): a uniform kernel's entropy

    @property
    def pixel(self) -> tuple[int, int]:
        return self.view.y, self.view.x


def trace_kernels(analysis: Analysis, iy: int, ix: int, group: int = 0) -> list[TracedKernel]:
    """For image pixel (iy, ix) (clipped into the image): at every CARAFE step, the output
    pixel that covers it and that pixel's group-``group`` kernel (coarsest step first).

    Steps of other kinds are left out (they predict no kernel).
    """
    out = []
    for pos, step in enumerate(analysis.steps):
        if step.carafe is None:
            continue
        py, px = _clip_point(step, iy, ix)
        view = kernel_view(step, *_output_pixel(step, py, px), group)
        k = view.kernel.shape[0]
        r = (k - 1) // 2
        dy, dx = np.mgrid[-r : r + 1, -r : r + 1]
        distance = np.hypot(dy, dx) * step.stride_in  # taps are stride_in image pixels apart
        out.append(
            TracedKernel(
                position=pos,
                name=step.levels,
                stride_in=step.stride_in,
                stride_out=step.stride_out,
                point=(py, px),
                view=view,
                window_px=k * step.stride_in,
                spread_px=float((view.kernel * distance).sum() / view.kernel.sum()),
                max_entropy=float(np.log(k * k)),
            )
        )
    return out


def map_to_image(u, stride: int):
    """A continuous map coordinate (pixel centres at integers) in image pixels (centres at
    integers too): map pixel i spans image pixels [i·stride, (i+1)·stride)."""
    return (np.asarray(u, np.float64) + 0.5) * stride - 0.5


@dataclass(frozen=True)
class TracedSampling:
    """One DySample step's sampling points at the output pixel under an image point."""

    position: int
    name: str
    stride_in: int
    stride_out: int
    point: tuple[int, int]  # the image pixel (row, col)
    pixel: tuple[int, int]  # the output pixel under it
    output_box: tuple[int, int, int, int]  # image pixels [y0, y1) × [x0, x1) of that pixel
    view: SamplingView  # source pixel, start, points (x, y) and offsets in input-map pixels
    start_px: tuple[float, float]  # (x, y) of the start in image pixels
    points_px: np.ndarray  # (G, 2) the points (x, y) in image pixels
    offsets_px: np.ndarray  # (G, 2) each point's move (dx, dy) in image pixels

    @property
    def mean_move_px(self) -> float:
        """How far the points moved from the start on average, in image pixels."""
        return float(np.hypot(*self.offsets_px.T).mean())


def trace_sampling(
    analysis: Analysis, points: list[np.ndarray | None], iy: int, ix: int
) -> list[TracedSampling]:
    """For image pixel (iy, ix): at every step with DySample points (one entry of
    :func:`carafe.inspect.sampling.dysample_points` per step of a model with ``analysis``'s
    geometry), where the output pixel under it samples, in map and image pixels."""
    if len(points) != len(analysis.steps):
        raise ValueError(f"{len(points)} point arrays for {len(analysis.steps)} steps")
    out = []
    for pos, (step, pts) in enumerate(zip(analysis.steps, points, strict=True)):
        if pts is None:
            continue
        if pts.shape[1:3] != step.output_shape:
            raise ValueError(
                f"points of {pts.shape[1]}×{pts.shape[2]} for the {step.levels} step's "
                f"{step.output_shape[0]}×{step.output_shape[1]} map: another image?"
            )
        py, px = _clip_point(step, iy, ix)
        oy, ox = _output_pixel(step, py, px)
        view = sampling_at(pts, step, oy, ox)
        si = step.stride_in
        out.append(
            TracedSampling(
                position=pos,
                name=step.levels,
                stride_in=si,
                stride_out=step.stride_out,
                point=(py, px),
                pixel=(oy, ox),
                output_box=step.geometry.output_box(oy, ox),
                view=view,
                start_px=tuple(float(v) for v in map_to_image(view.start, si)),
                points_px=map_to_image(view.points, si),
                offsets_px=np.asarray(view.offsets, np.float64) * si,
            )
        )
    return out
