"""One output pixel, three ways to fill it: CARAFE's kernel beside bilinear's and nearest's.

The paper's Fig. 5, live: bilinear interpolation and nearest neighbour are also weighted sums
of the input pixels around the source pixel, with fixed weights. Written as k×k kernels on the
same window as CARAFE's, the three can be compared tap by tap: how much weight lands on the
pixel's own object (by the predicted segmentation), how much on zero padding, and what output
value each gives. Plain arrays for the app; no drawing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from carafe.inspect.records import StepAnalysis
from carafe.nn.interpolation import bilinear_kernel_1d, bilinear_taps_1d
from carafe.ops.geometry import Geometry, pixel_centre

__all__ = [
    "MethodKernel",
    "PixelComparison",
    "bilinear_kernel",
    "bilinear_kernels",
    "compare_pixel",
    "nearest_kernel",
]

METHOD_NAMES = {"carafe": "CARAFE", "bilinear": "Bilinear", "nearest": "Nearest"}


def bilinear_kernel(geo: Geometry, y: int, x: int) -> np.ndarray:
    """(k, k): the weights bilinear interpolation gives output pixel (y, x), on its window.

    At most four taps are non-zero; they always lie inside the map (bilinear clamps at the
    border instead of reading zero padding). Needs k >= 3.
    """
    if geo.k < 3:
        raise ValueError(f"bilinear's taps need a window of at least 3×3, got k = {geo.k}")
    sy, sx = geo.source_pixel(y, x)
    r = geo.radius
    kernel = np.zeros((geo.k, geo.k))
    for row, wy in bilinear_taps_1d(y, geo.s, geo.H):
        for col, wx in bilinear_taps_1d(x, geo.s, geo.W):
            kernel[row - sy + r, col - sx + r] += wy * wx
    return kernel


def bilinear_kernels(k: int, s: int) -> np.ndarray:
    """(s, s, k, k): the weights bilinear interpolation puts on the k×k window of sub-pixel
    (a, b), away from the border (:func:`carafe.alignment.bilinear_kernel_1d`)."""
    rows = [bilinear_kernel_1d(k, s, a).numpy() for a in range(s)]
    return np.stack([np.stack([np.outer(ra, rb) for rb in rows]) for ra in rows])


def nearest_kernel(geo: Geometry, y: int, x: int) -> np.ndarray:
    """(k, k): nearest neighbour copies the source pixel, the centre tap."""
    kernel = np.zeros((geo.k, geo.k))
    kernel[geo.radius, geo.radius] = 1.0
    return kernel


@dataclass(frozen=True)
class MethodKernel:
    """One method's kernel for the compared pixel.

    own_share: weight on taps whose predicted class is the output pixel's own (None without a
    segmentation). padding_weight: weight on taps outside the real image. value: the output
    value of the compared channel (for CARAFE, the model's own output).
    """

    method: str
    display_name: str
    kernel: np.ndarray
    own_share: float | None
    padding_weight: float
    value: float


@dataclass(frozen=True)
class PixelComparison:
    """Output pixel (y, x) of one step, its window, and the three methods' kernels.

    window_labels: (k, k) predicted class under each tap (at the tap's centre on the image),
    -1 outside the image; own_label: the class at the output pixel's centre.
    """

    y: int
    x: int
    channel: int
    source: tuple[int, int]
    window_labels: np.ndarray | None
    own_label: int | None
    methods: list[MethodKernel]


def _window_values(plane: np.ndarray, geo: Geometry, y: int, x: int) -> np.ndarray:
    """(k, k) input values under the window; zero outside the map (CARAFE's zero padding)."""
    win = geo.window(y, x)
    values = np.zeros((geo.k, geo.k))
    rows, cols = np.meshgrid(win.rows, win.cols, indexing="ij")
    values[win.inside] = plane[rows[win.inside], cols[win.inside]]
    return values


def _window_labels(segmentation: np.ndarray, geo: Geometry, y: int, x: int) -> np.ndarray:
    win = geo.window(y, x)
    si = geo.stride_in
    h, w = segmentation.shape
    iy = np.minimum(pixel_centre(win.rows, si), h - 1)
    ix = np.minimum(pixel_centre(win.cols, si), w - 1)
    labels = np.full((geo.k, geo.k), -1, dtype=np.int64)
    rows, cols = np.meshgrid(np.clip(iy, 0, h - 1), np.clip(ix, 0, w - 1), indexing="ij")
    labels[win.in_image] = segmentation[rows, cols][win.in_image]
    return labels


def compare_pixel(
    step: StepAnalysis,
    y: int,
    x: int,
    channel: int,
    segmentation: np.ndarray | None = None,
    group: int | None = None,
) -> PixelComparison:
    """CARAFE's, bilinear's and nearest's kernels and values for output pixel (y, x).

    ``step`` must be a CARAFE step (its kernels are compared); ``channel`` is the feature
    channel whose values are shown; ``group`` defaults to that channel's group.
    """
    if step.carafe is None:
        raise ValueError(f"step {step.index} upsamples with {step.kind}: no CARAFE kernels")
    geo = step.geometry
    oh, ow = step.output_shape
    if not (0 <= y < oh and 0 <= x < ow):
        raise ValueError(f"output pixel ({y}, {x}) is outside the {oh}×{ow} output map")
    g = geo.group_of_channel(channel) if group is None else group
    values = _window_values(step.input[channel], geo, y, x)
    outside = geo.window(y, x).outside_image
    labels = own = None
    if segmentation is not None:
        labels = _window_labels(segmentation, geo, y, x)
        cy, cx = geo.image_centre(y, x)
        own = int(
            segmentation[min(cy, segmentation.shape[0] - 1), min(cx, segmentation.shape[1] - 1)]
        )
    kernels = {
        "carafe": geo.kernel_at(step.carafe.kernels, y, x, g).astype(np.float64),
        "bilinear": bilinear_kernel(geo, y, x),
        "nearest": nearest_kernel(geo, y, x),
    }
    methods = []
    for name, kernel in kernels.items():
        value = (
            float(step.output[channel, y, x])
            if name == "carafe"
            else float((kernel * values).sum())
        )
        methods.append(
            MethodKernel(
                name,
                METHOD_NAMES[name],
                kernel,
                None if labels is None else float(kernel[labels == own].sum()),
                float(kernel[outside].sum()),
                value,
            )
        )
    return PixelComparison(y, x, channel, geo.source_pixel(y, x), labels, own, methods)
