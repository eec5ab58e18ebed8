"""The Sandbox page's numbers: one FPN step's upsamplers on one colour scale, a profile along a
line, the kernels on that line, and how CARAFE's s×s sub-pixel kernels differ in flat areas.

``sandbox_view(step, image, mask)`` reduces the step's input map and every upsampler's output to
one number per pixel by the same affine projection of the feature vector:

* with a two-colour pattern (``mask`` = the B pixels), onto the line from colour A's mean feature
  to colour B's mean feature (measured on input-map pixels well inside each colour): 0 = A's
  mean feature, 1 = B's;
* otherwise onto the input map's first principal component, 0 and 1 at its 1st and 99th
  percentile.

Nearest, bilinear, CARAFE and the bilinear-initialised deconv each output, away from the border,
a weighted average of input features whose weights sum to 1, so projecting before or after
upsampling gives the same value: the one-number picture shows what the method does. Such an
average stays within the range of the values it averages, so every map is drawn on the input
map's range; an output beyond it has put weight on zero padding (the border) and is counted in
:attr:`SandboxView.outside`.

Patterns (:mod:`carafe.patterns`) and the flat-area measures (:mod:`carafe.subpixel`) are
re-exported here; the app reaches this module as ``carafe.inspect.sandbox``. No drawing and no
Streamlit here (the page's figures are in app/sandbox_figures.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from carafe.inspect.patterns import (
    PATTERNS,
    Line,
    Pattern,
    direction,
    hex_to_rgb,
    line_through,
    make_pattern,
)
from carafe.inspect.records import StepAnalysis
from carafe.inspect.subpixel import FLAT_TOLERANCE, FlatRegion, block_reduce, flat_region

__all__ = [
    "FLAT_TOLERANCE",
    "METHODS",
    "PATTERNS",
    "FlatRegion",
    "KernelOnLine",
    "Line",
    "Pattern",
    "Profile",
    "SandboxView",
    "direction",
    "hex_to_rgb",
    "kernels_along",
    "line_through",
    "make_pattern",
    "map_line",
    "profile_along",
    "project",
    "sandbox_view",
]

#: Upsamplers shown, in order: the model's own CARAFE output and three baselines.
METHODS = ("carafe", "bilinear", "nearest", "deconv")


@dataclass
class SandboxView:
    """One step of one image, every map reduced to one number per pixel (see the module doc)."""

    step: StepAnalysis
    input_map: np.ndarray  # (h, w) projected input, visible part
    maps: dict[str, np.ndarray]  # method -> (sh, sw) projected output, visible part
    zmin: float  # one colour scale for every map: the input map's range
    zmax: float
    outside: dict[str, int]  # method -> output pixels beyond [zmin, zmax] (drawn at the ends)
    projection: str  # "colours" or "pca"
    projection_note: str  # one sentence for the page
    flat: FlatRegion | None
    mask: np.ndarray | None  # (H, W) the pattern's B pixels; None for an upload or one colour
    origin: np.ndarray  # (C,) the feature vector drawn as 0 (see :func:`project`)
    axis: np.ndarray  # (C,) origin + axis is drawn as 1

    @property
    def methods(self) -> list[str]:
        return [m for m in METHODS if m in self.maps]


@dataclass
class Profile:
    """Output pixels a line crosses, in order, with every method's projected value."""

    pixels: np.ndarray  # (n, 2) output pixel (y, x)
    distance: np.ndarray  # (n,) image px from the line's centre to the pixel centre, along it
    values: dict[str, np.ndarray]  # method -> (n,)
    input_values: np.ndarray  # (n,) the input map at each pixel's source pixel
    pattern_values: np.ndarray | None  # (n,) 1 where the image is B at the pixel centre, else 0

    @property
    def crosses_pattern(self) -> bool:
        """The line runs over both colours of a pattern."""
        v = self.pattern_values
        return v is not None and bool(v.min() < 0.5 < v.max())

    steepest: dict[str, float]  # method -> largest |change| between neighbouring pixels
    input_steepest: float  # the input map's largest |change| between neighbouring pixels
    low: float  # the input's lowest / highest value on the line
    high: float


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


def project(features: np.ndarray, origin: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """(C, H, W) -> (H, W): (f − origin)·axis / |axis|², so origin -> 0 and origin + axis -> 1."""
    flat = features.reshape(features.shape[0], -1).astype(np.float64)
    norm = float(axis @ axis) or 1.0
    out = (axis @ (flat - origin[:, None])) / norm
    return out.reshape(features.shape[1:])


def _pure(frac: np.ndarray, value: float) -> np.ndarray:
    """Input-map pixels whose block and 8 neighbours are all ``value`` (0 = A, 1 = B)."""
    ok = np.nan_to_num(frac, nan=-1.0) == value
    padded = np.pad(ok, 1, constant_values=False)
    h, w = ok.shape
    out = ok.copy()
    for dy in range(3):
        for dx in range(3):
            out &= padded[dy : dy + h, dx : dx + w]
    return out if out.any() else ok


def two_colours(image: np.ndarray, mask: np.ndarray) -> bool:
    """Whether ``mask`` splits ``image`` into two different colours (not a flat image)."""
    return bool(mask.any() and not mask.all() and not (image == image[:1, :1]).all())


def _projection(step: StepAnalysis, image: np.ndarray, mask: np.ndarray | None):
    """(origin, axis, kind, note) of the one-number reduction of ``step``'s features."""
    feat = step.input
    vh, vw = step.geometry.visible_input_hw()
    reason = "none" if mask is None else "mixed"
    if mask is not None and not two_colours(image, mask):
        mask, reason = None, "one"
    if mask is not None:
        frac = block_reduce(mask.astype(np.float64), step.stride_in, feat.shape[1:], np.mean)
        pure_a, pure_b = _pure(frac, 0.0), _pure(frac, 1.0)
        if pure_a.any() and pure_b.any():
            mu_a = feat[:, pure_a].astype(np.float64).mean(axis=1)
            mu_b = feat[:, pure_b].astype(np.float64).mean(axis=1)
            note = (
                f"Each feature vector ({feat.shape[0]} channels) is projected onto the line from "
                f"colour A's mean feature (0) to colour B's (1), measured on {int(pure_a.sum())} "
                f"and {int(pure_b.sum())} input-map pixels well inside each colour."
            )
            return mu_a, mu_b - mu_a, "colours", note
    flat = feat[:, :vh, :vw].reshape(feat.shape[0], -1).astype(np.float64)
    mean = flat.mean(axis=1)
    u, _, _ = np.linalg.svd(flat - mean[:, None], full_matrices=False)
    axis = u[:, 0] * (1 if u[np.argmax(np.abs(u[:, 0])), 0] >= 0 else -1)
    proj = axis @ (flat - mean[:, None])
    if mask is not None:  # the sign is arbitrary: make colour B's side the high one
        frac = block_reduce(mask.astype(np.float64), step.stride_in, feat.shape[1:], np.mean)
        frac = frac[:vh, :vw].ravel()
        high, low = proj[frac > 0], proj[frac == 0]  # blocks holding some B, and none
        if high.size and low.size and high.mean() < low.mean():
            axis, proj = -axis, -proj
    lo, hi = np.percentile(proj, [1, 99])
    span = hi - lo if hi - lo > 1e-9 else 1.0
    why = {
        "none": "this image has no pattern colours to compare",
        "one": "the image has one colour only",
        "mixed": "at this step no input-map pixel lies wholly inside one of the two colours; "
        "its sign makes colour B's side high",
    }[reason]
    note = (
        f"Each feature vector ({feat.shape[0]} channels) is projected onto the input map's first "
        f"principal component ({why}); 0 and 1 are its 1st and 99th percentiles."
    )
    return mean + lo * axis, span * axis, "pca", note


def sandbox_view(step: StepAnalysis, image: np.ndarray, mask: np.ndarray | None = None):
    """Reduce ``step`` (of ``image``, H×W×3 uint8) to the :class:`SandboxView` the page draws.

    mask: (H, W) bool, the pattern's colour-B pixels (None for an uploaded image).
    """
    if step.carafe is None:
        raise ValueError(f"step {step.index} uses {step.kind!r}, not CARAFE")
    origin, axis, kind, note = _projection(step, image, mask)
    vh, vw = step.geometry.visible_input_hw()
    oh, ow = step.visible_output_hw()
    inp = project(step.input, origin, axis)[:vh, :vw]
    maps = {
        m: project(step.outputs[m], origin, axis)[:oh, :ow] for m in METHODS if m in step.outputs
    }
    zmin, zmax = float(inp.min()), float(inp.max())
    zmax = max(zmax, zmin + 1e-9)
    slack = 1e-6 * max(1.0, zmax - zmin)  # float32 rounding of a weighted average
    outside = {m: int(((v < zmin - slack) | (v > zmax + slack)).sum()) for m, v in maps.items()}
    flat = flat_region(step, image, project(step.input, origin, axis), maps)
    mask = mask if mask is not None and two_colours(image, mask) else None
    return SandboxView(step, inp, maps, zmin, zmax, outside, kind, note, flat, mask, origin, axis)


def _crossed_pixels(view: SandboxView, line: Line, samples_per_pixel: int = 4) -> np.ndarray:
    """Output pixels (visible part) the line passes through, in order, without repeats."""
    geo = view.step.geometry
    oh, ow = view.step.visible_output_hw()
    n = max(2, int(np.ceil(line.length * samples_per_pixel / geo.stride_out)) + 1)
    t = np.linspace(0.0, 1.0, n)
    ys = np.floor(line.y0 + t * (line.y1 - line.y0)).astype(np.int64)
    xs = np.floor(line.x0 + t * (line.x1 - line.x0)).astype(np.int64)
    inside = (ys >= 0) & (xs >= 0)
    hits = [geo.output_pixel_at(y, x) for y, x in zip(ys[inside], xs[inside], strict=True)]
    pixels = np.array([p for p in hits if p[0] < oh and p[1] < ow], np.int64).reshape(-1, 2)
    if len(pixels) == 0:
        return pixels
    new = np.ones(len(pixels), bool)
    new[1:] = (pixels[1:] != pixels[:-1]).any(axis=1)
    return pixels[new]


def _steepest(values: np.ndarray) -> float:
    return float(np.abs(np.diff(values)).max()) if len(values) > 1 else 0.0


def map_line(line: Line, stride: int) -> Line:
    """``line`` in the pixel coordinates of a map with ``stride`` image pixels per map pixel,
    pixel centres at integers (as a heatmap draws them)."""
    return Line(*(v / stride - 0.5 for v in (line.y0, line.x0, line.y1, line.x1)))


def profile_along(view: SandboxView, line: Line) -> Profile:
    """Every method's value at the output pixels ``line`` crosses (each pixel once, in order).

    Values are the pixels' own (no interpolation along the line, which would blur what the
    profile is there to show). With a two-colour pattern, also the pattern itself (0 = A, 1 = B)
    at each pixel's centre.
    """
    geo = view.step.geometry
    pixels = _crossed_pixels(view, line)
    cy, cx = geo.image_centre(pixels[:, 0], pixels[:, 1]) if len(pixels) else ([], [])
    cy, cx = np.asarray(cy, np.float64) + 0.5, np.asarray(cx, np.float64) + 0.5  # pixel centres
    uy, ux = (line.y1 - line.y0), (line.x1 - line.x0)
    norm = np.hypot(uy, ux) or 1.0
    my, mx = line.centre
    distance = ((cy - my) * uy + (cx - mx) * ux) / norm
    values = {m: a[pixels[:, 0], pixels[:, 1]] for m, a in view.maps.items()}
    source = np.array([geo.source_pixel(y, x) for y, x in pixels], np.int64).reshape(-1, 2)
    input_values = view.input_map[source[:, 0], source[:, 1]]
    pattern_values = None
    mask = view.mask
    if mask is not None and len(pixels):
        iy = np.clip(np.floor(cy).astype(np.int64), 0, mask.shape[0] - 1)
        ix = np.clip(np.floor(cx).astype(np.int64), 0, mask.shape[1] - 1)
        pattern_values = mask[iy, ix].astype(np.float64)
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
    out = []
    for i in range(start, min(n, start + count)):
        y, x = (int(v) for v in profile.pixels[i])
        win = geo.window(y, x)
        rows, cols = np.clip(win.rows, 0, geo.H - 1), np.clip(win.cols, 0, geo.W - 1)
        window = np.where(win.in_image, full[np.ix_(rows, cols)], np.nan)
        kernel = geo.kernel_at(d.kernels, y, x, 0).astype(np.float64)
        high = np.nan_to_num(window, nan=-np.inf) > middle
        out.append(
            KernelOnLine(
                pixel=(y, x),
                sub_pixel=geo.sub_pixel(y, x),
                distance=float(profile.distance[i]),
                kernel=kernel,
                window=window,
                high_side=high,
                high_weight=float(kernel[high].sum()),
            )
        )
    return out
