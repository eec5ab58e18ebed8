"""One output pixel of an analysed step: its kernel (with the taps that read zero padding),
where to start exploring, and which windows lie on one colour of the image. Plain numbers and arrays for :mod:`carafe.inspect`; no drawing."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from carafe.inspect.records import StepAnalysis
from carafe.inspect.summaries import block_reduce, window_reduce
from carafe.ops.geometry import Geometry, pixel_centre, taps_inside_map

__all__ = [
    "FLAT_TOLERANCE",
    "PADDING_NOTE",
    "KernelView",
    "boundary_windows",
    "flat_mask",
    "kernel_view",
    "padding_weight_map",
    "start_pixel",
    "window_spread",
]

#: A window is flat when every RGB channel of the image under it spans at most this (of 255).
FLAT_TOLERANCE = 8
#: Kernel weight on zero padding below this is not worth a sentence.
PADDING_NOTE = 0.01


def boundary_windows(segmentation: np.ndarray | None, geo: Geometry, out_hw) -> np.ndarray:
    """(h, w) bool: output pixels whose window area on the image holds two predicted classes."""
    oh, ow = out_hw
    if segmentation is None:
        return np.zeros((oh, ow), bool)
    si = geo.stride_in
    h, w = segmentation.shape
    vh, vw = geo.visible_input_hw()
    # class of every input-map pixel (sampled at its centre), then "window holds two classes"
    cy = np.minimum(pixel_centre(np.arange(vh), si), h - 1)
    cx = np.minimum(pixel_centre(np.arange(vw), si), w - 1)
    src = segmentation[np.ix_(cy, cx)]
    mixed = np.zeros((geo.H, geo.W), bool)
    mixed[:vh, :vw] = window_reduce(src, geo.k, np.min, None) != window_reduce(
        src, geo.k, np.max, None
    )
    sy = np.arange(oh) // geo.s
    sx = np.arange(ow) // geo.s
    return mixed[np.ix_(sy, sx)]


def window_spread(step: StepAnalysis, image: np.ndarray) -> np.ndarray:
    """(H, W) over the input map: the largest range (max − min, of 255) of one RGB channel of
    the image under the pixel's k×k window; NaN where the window passes the image."""
    geo = step.geometry
    spread = np.zeros((geo.H, geo.W))
    for c in range(image.shape[2]):
        channel = image[..., c].astype(np.float64)
        lo = window_reduce(
            block_reduce(channel, geo.stride_in, (geo.H, geo.W), np.min), geo.k, np.min
        )
        hi = window_reduce(
            block_reduce(channel, geo.stride_in, (geo.H, geo.W), np.max), geo.k, np.max
        )
        spread = np.fmax(spread, hi - lo) if c else hi - lo
    return spread


def flat_mask(step: StepAnalysis, image: np.ndarray, tol: int = FLAT_TOLERANCE) -> np.ndarray:
    """(H, W) bool: input pixels whose k×k window lies in the image, on one colour (± tol)."""
    with np.errstate(invalid="ignore"):
        return window_spread(step, image) <= tol  # NaN (window past the image) compares False


def start_pixel(
    step: StepAnalysis, group: int = 0, segmentation: np.ndarray | None = None
) -> tuple[int, int]:
    """The output pixel to start at: its kernel leans most, among pixels whose whole k×k window
    lies inside the real image (no zero padding, no padded area), preferring pixels at a
    boundary of ``segmentation``. When no window fits (a very thin image), the pixel with the
    least kernel weight outside the image.
    """
    d = step.carafe
    if d is None:
        raise ValueError(f"step {step.index} uses {step.kind!r}, not CARAFE: no kernels")
    geo = step.geometry
    oh, ow = step.visible_output_hw()
    lean = np.hypot(d.com_dy[group], d.com_dx[group])[:oh, :ow].astype(np.float64)
    inside = geo.window_fully_in_image()[:oh, :ow]
    if inside.any():
        boundary = boundary_windows(segmentation, geo, (oh, ow)) & inside
        pool = boundary if boundary.any() else inside
        score = np.where(pool, lean, -np.inf)
    else:
        score = -padding_weight_map(step, group)[:oh, :ow] + 1e-3 * lean / (lean.max() or 1.0)
    oy, ox = np.unravel_index(int(np.argmax(score)), score.shape)
    return int(oy), int(ox)


def padding_weight_map(step: StepAnalysis, group: int = 0) -> np.ndarray:
    """(h, w): every output pixel's kernel weight on taps outside the real image."""
    d = step.carafe
    geo = step.geometry
    k, out_hw = geo.k, d.kernels.shape[-2:]
    kernels = d.kernels[group * k * k : (group + 1) * k * k].astype(np.float64)
    outside = ~taps_inside_map(k, geo.s, *geo.visible_input_hw(), out_hw=out_hw)
    return (kernels * outside).sum(axis=0)


@dataclass
class KernelView:
    """One output pixel's kernel as the Explore page shows it."""

    y: int
    x: int
    group: int
    source: tuple[int, int]
    kernel: np.ndarray  # (k, k)
    outside: np.ndarray  # (k, k) bool: tap reads zero padding / the padded image area
    padding_weight: float  # kernel weight on those taps
    weight_sum: float
    entropy: float
    peak: float
    lean: tuple[float, float]  # (dy, dx) centre of mass from the window centre
    window_box: tuple[int, int, int, int]  # image pixels of the window (may pass the image)
    map_window: tuple[int, int, int, int]  # input-map pixels of the window
    output_box: tuple[int, int, int, int]  # image pixels of the output pixel


def kernel_view(step: StepAnalysis, y: int, x: int, group: int = 0) -> KernelView:
    """Everything about output pixel (y, x)'s group-``group`` kernel that the app shows."""
    d = step.carafe
    if d is None:
        raise ValueError(f"step {step.index} uses {step.kind!r}, not CARAFE: no kernels")
    geo = step.geometry
    kernel = geo.kernel_at(d.kernels, y, x, group).astype(np.float64)
    win = geo.window(y, x)
    return KernelView(
        y=int(y),
        x=int(x),
        group=int(group),
        source=win.source,
        kernel=kernel,
        outside=win.outside_image,
        padding_weight=float(kernel[win.outside_image].sum()),
        weight_sum=float(kernel.sum()),
        entropy=float(d.entropy[group, y, x]),
        peak=float(d.peak[group, y, x]),
        lean=(float(d.com_dy[group, y, x]), float(d.com_dx[group, y, x])),
        window_box=geo.window_box(y, x),
        map_window=geo.map_window(y, x),
        output_box=geo.output_box(y, x),
    )
