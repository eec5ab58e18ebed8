"""The Sandbox's one-number maps: one FPN step's upsamplers reduced to one colour scale.

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
map's range; an output beyond it has put weight on zero padding (the border) or, for deconv,
weights that do not sum to 1. :attr:`SandboxView.outside` counts those pixels per method, split
into the border frame (output pixels whose k×k window reaches past the image) and the interior.

The input-map pixels whose whole k×k window lies on one colour are counted once
(:func:`one_colour_pixels`); the projection's colour means and the flat-area measures
(:mod:`carafe.inspect.sandbox.subpixel`) both use that set, so the page quotes one number for it.

Sizes on the page are written H×W (rows × columns), see :func:`size_hw`. The profile along a
line is :mod:`carafe.inspect.sandbox.profile`'s, the patterns
:mod:`carafe.inspect.sandbox.patterns`'. No drawing and no Streamlit here (the page's figures
are in app/figures/sandbox.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from carafe.inspect.pixel import FLAT_TOLERANCE, flat_mask
from carafe.inspect.records import StepAnalysis
from carafe.inspect.sandbox.subpixel import FlatRegion, flat_region
from carafe.inspect.summaries import block_reduce, window_reduce
from carafe.ops.geometry import taps_inside_map

__all__ = [
    "METHODS",
    "SIZE_CONVENTION",
    "UPLOAD_SIDE",
    "OneColourPixels",
    "OutsideCount",
    "SandboxView",
    "border_frame",
    "count_outside",
    "one_colour_pixels",
    "project",
    "projection_for",
    "sandbox_view",
    "size_hw",
    "two_colours",
]

#: Upsamplers shown, in order: the model's own CARAFE output and three baselines.
METHODS = ("carafe", "bilinear", "nearest", "deconv")

#: How every size on the Sandbox page is written.
SIZE_CONVENTION = "H×W, rows × columns"

#: Images for the Sandbox are downscaled to this long side: small maps, quick answers.
UPLOAD_SIDE = 256


def size_hw(hw) -> str:
    """A size as the page writes it, rows first: (171, 256) -> '171×256'."""
    return f"{int(hw[0])}×{int(hw[1])}"


def _count(n: int, one: str, many: str | None = None) -> str:
    """'no pixel' / '1 pixel' / '1,234 pixels'."""
    if n == 0:
        return f"no {one}"
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


@dataclass(frozen=True)
class OneColourPixels:
    """Input-map pixels whose whole k×k window lies in the image, on one colour.

    With a two-colour pattern ``on_a`` / ``on_b`` are the pixels whose window is all colour A /
    all colour B; without one (an upload, a flat image) ``on_b`` is None and ``on_a`` holds the
    windows that are one colour within :data:`FLAT_TOLERANCE`. Pixels whose s² outputs are not
    all visible are left out. This is the one count the page quotes for "whole window on one
    colour": the colour means of the projection and the flat-area measures both use it.
    """

    k: int
    on_a: np.ndarray  # (H, W) bool
    on_b: np.ndarray | None  # (H, W) bool, None without two pattern colours

    @property
    def mask(self) -> np.ndarray:
        """Every counted pixel, whichever colour."""
        return self.on_a if self.on_b is None else self.on_a | self.on_b

    @property
    def a(self) -> int:
        return int(self.on_a.sum())

    @property
    def b(self) -> int | None:
        return None if self.on_b is None else int(self.on_b.sum())

    @property
    def total(self) -> int:
        return int(self.mask.sum())

    def sentence(self) -> str:
        """The count in words, e.g. '506 input-map pixels have their whole 5×5 window on
        colour A and none on colour B'."""
        k = f"{self.k}×{self.k}"
        if self.on_b is None:
            if self.total == 0:
                return f"no input-map pixel has its whole {k} window on one colour"
            return (
                f"{_count(self.total, 'input-map pixel')} "
                f"{'has its' if self.total == 1 else 'have their'} whole {k} window on one "
                f"colour (every RGB channel within ±{FLAT_TOLERANCE})"
            )
        a, b = self.a, self.b
        if a == 0 and b == 0:
            return f"no input-map pixel has its whole {k} window on one colour"
        first, second = (("A", a), ("B", b)) if a else (("B", b), ("A", a))
        verb = "has its" if first[1] == 1 else "have their"
        rest = "none" if second[1] == 0 else f"{second[1]:,}"
        return (
            f"{_count(first[1], 'input-map pixel')} {verb} whole {k} window on colour "
            f"{first[0]} and {rest} on colour {second[0]}"
        )


def two_colours(image: np.ndarray, mask: np.ndarray | None) -> bool:
    """Whether ``mask`` splits ``image`` into two different colours (not a flat image)."""
    if mask is None:
        return False
    return bool(mask.any() and not mask.all() and not (image == image[:1, :1]).all())


def _usable(step: StepAnalysis) -> np.ndarray:
    """(H, W) bool: input pixels whose s² output pixels are all visible."""
    geo = step.geometry
    oh, ow = step.visible_output_hw()
    out = np.zeros((geo.H, geo.W), bool)
    out[: oh // geo.s, : ow // geo.s] = True
    return out


def one_colour_pixels(
    step: StepAnalysis, image: np.ndarray, mask: np.ndarray | None = None
) -> OneColourPixels:
    """Count (see :class:`OneColourPixels`) the input pixels of ``step`` whose whole k×k window
    lies on one colour of ``image`` (colour B on ``mask``). Windows reaching past the image
    never count."""
    geo = step.geometry
    usable = _usable(step)
    if not two_colours(image, mask):
        return OneColourPixels(geo.k, flat_mask(step, image) & usable, None)
    share = mask.astype(np.float64)
    lo = window_reduce(block_reduce(share, geo.stride_in, (geo.H, geo.W), np.min), geo.k, np.min)
    hi = window_reduce(block_reduce(share, geo.stride_in, (geo.H, geo.W), np.max), geo.k, np.max)
    with np.errstate(invalid="ignore"):  # NaN: the window reaches past the image
        on_b, on_a = lo == 1.0, hi == 0.0
    return OneColourPixels(geo.k, on_a & usable, on_b & usable)


@dataclass(frozen=True)
class OutsideCount:
    """Output pixels of one method beyond the input map's range, split by where they are."""

    frame: int  # in the border frame: the pixel's k×k window reaches past the image
    interior: int  # the rest

    @property
    def total(self) -> int:
        return self.frame + self.interior


def border_frame(step: StepAnalysis) -> np.ndarray:
    """(oh, ow) bool over the visible output: pixels whose k×k window reaches past the image
    (zero padding or the model's padding of the image), k = the step's CARAFE kernel size."""
    oh, ow = step.visible_output_hw()
    return ~step.geometry.window_fully_in_image()[:oh, :ow]


def count_outside(values: np.ndarray, lo: float, hi: float, frame: np.ndarray) -> OutsideCount:
    """Pixels of ``values`` beyond [lo, hi] (with float32 slack), in and outside ``frame``."""
    slack = 1e-6 * max(1.0, hi - lo)  # float32 rounding of a weighted average
    beyond = (values < lo - slack) | (values > hi + slack)
    return OutsideCount(int((beyond & frame).sum()), int((beyond & ~frame).sum()))


def _weight_past_image(step: StepAnalysis, frame: np.ndarray) -> float | None:
    """Mean share of CARAFE's kernel weight on taps past the image, over the frame pixels."""
    if step.carafe is None or not frame.any():
        return None
    geo = step.geometry
    vh, vw = geo.visible_input_hw()
    oh, ow = frame.shape
    inside = taps_inside_map(geo.k, geo.s, vh, vw)[:, :oh, :ow]
    kernels = step.carafe.kernels[:, :oh, :ow].reshape(geo.G, geo.taps, oh, ow)
    past = (kernels.astype(np.float64) * ~inside[None]).sum(axis=1).mean(axis=0)
    return float(past[frame].mean())


@dataclass
class SandboxView:
    """One step of one image, every map reduced to one number per pixel (see the module doc)."""

    step: StepAnalysis
    input_map: np.ndarray  # (h, w) projected input, visible part
    maps: dict[str, np.ndarray]  # method -> (sh, sw) projected output, visible part
    zmin: float  # one colour scale for every map: the input map's range
    zmax: float
    outside: dict[str, OutsideCount]  # method -> output pixels beyond [zmin, zmax]
    projection: str  # "colours" or "pca"
    projection_note: str  # one sentence for the page
    flat: FlatRegion | None
    mask: np.ndarray | None  # (H, W) the pattern's B pixels; None for an upload or one colour
    origin: np.ndarray  # (C,) the feature vector drawn as 0 (see :func:`project`)
    axis: np.ndarray  # (C,) origin + axis is drawn as 1
    pixels: OneColourPixels | None = None  # the one count of one-colour windows
    frame: np.ndarray | None = None  # (sh, sw) bool, the border frame (:func:`border_frame`)
    frame_weight_past_image: float | None = None  # CARAFE's mean kernel weight past the image

    @property
    def methods(self) -> list[str]:
        return [m for m in METHODS if m in self.maps]


def project(features: np.ndarray, origin: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """(C, H, W) -> (H, W): (f − origin)·axis / |axis|², so origin -> 0 and origin + axis -> 1."""
    flat = features.reshape(features.shape[0], -1).astype(np.float64)
    norm = float(axis @ axis) or 1.0
    out = (axis @ (flat - origin[:, None])) / norm
    return out.reshape(features.shape[1:])


def _block_pure(mask: np.ndarray, stride: int, hw) -> tuple[np.ndarray, np.ndarray]:
    """(on_a, on_b): input-map pixels whose own stride × stride image block is one colour."""
    share = np.nan_to_num(block_reduce(mask.astype(np.float64), stride, hw, np.mean), nan=-1.0)
    return share == 0.0, share == 1.0


def projection_for(
    feat: np.ndarray,
    visible_hw: tuple[int, int],
    stride_in: int,
    image: np.ndarray,
    mask: np.ndarray | None,
    pixels: OneColourPixels,
):
    """(origin, axis, kind, note) of the one-number reduction of a (C, H, W) input map.

    With two pattern colours: 0 = colour A's mean feature and 1 = colour B's, measured on the
    pixels whose whole window lies on that colour (``pixels``, the page's one count); when one
    colour has none, on the pixels whose own image block is one colour; when even those are
    missing, the first principal component (its sign making B's side high).
    """
    vh, vw = visible_hw
    reason = "none" if mask is None else "mixed"
    if mask is not None and not two_colours(image, mask):
        mask, reason = None, "one"
    channels = f"Each feature vector ({feat.shape[0]} channels)"
    if mask is not None:
        counted = pixels.sentence()
        if pixels.a and pixels.b:
            pure_a, pure_b = pixels.on_a, pixels.on_b
            where = f"on the pixels whose whole window lies on that colour ({counted})"
        else:
            pure_a, pure_b = _block_pure(mask, stride_in, feat.shape[1:])
            where = (
                f"on the {int(pure_a.sum()):,} and {int(pure_b.sum()):,} pixels whose own "
                f"{stride_in}×{stride_in} image block is one colour, because {counted}"
            )
        if pure_a.any() and pure_b.any():
            mu_a = feat[:, pure_a].astype(np.float64).mean(axis=1)
            mu_b = feat[:, pure_b].astype(np.float64).mean(axis=1)
            note = (
                f"{channels} is projected onto the line from colour A's mean feature (0) to "
                f"colour B's (1), measured {where}."
            )
            return mu_a, mu_b - mu_a, "colours", note
    flat = feat[:, :vh, :vw].reshape(feat.shape[0], -1).astype(np.float64)
    mean = flat.mean(axis=1)
    centred = flat - mean[:, None]
    # the C×C scatter matrix's top eigenvector: the same axis as an SVD of the C×(h·w) data,
    # at a fraction of the cost on a busy CPU
    _, vectors = np.linalg.eigh(centred @ centred.T)
    top = vectors[:, -1]
    axis = top * (1 if top[np.argmax(np.abs(top))] >= 0 else -1)
    proj = axis @ centred
    if mask is not None:  # the sign is arbitrary: make colour B's side the high one
        frac = block_reduce(mask.astype(np.float64), stride_in, feat.shape[1:], np.mean)
        frac = frac[:vh, :vw].ravel()
        high, low = proj[frac > 0], proj[frac == 0]  # blocks holding some B, and none
        if high.size and low.size and high.mean() < low.mean():
            axis, proj = -axis, -proj
    lo, hi = np.percentile(proj, [1, 99])
    span = hi - lo if hi - lo > 1e-9 else 1.0
    if reason == "mixed":
        block_a, block_b = _block_pure(mask, stride_in, feat.shape[1:])
        missing = " or ".join(c for c, m in (("A", block_a), ("B", block_b)) if not m.any())
        why = (
            f"{pixels.sentence()}, and no pixel's own {stride_in}×{stride_in} image block is "
            f"all colour {missing}; its sign makes colour B's side high"
        )
    else:
        why = {
            "none": "this image has no pattern colours to compare",
            "one": "the image has one colour only",
        }[reason]
    note = (
        f"{channels} is projected onto the input map's first principal component ({why}); 0 "
        "and 1 are its 1st and 99th percentiles."
    )
    return mean + lo * axis, span * axis, "pca", note


def sandbox_view(step: StepAnalysis, image: np.ndarray, mask: np.ndarray | None = None):
    """Reduce ``step`` (of ``image``, H×W×3 uint8) to the :class:`SandboxView` the page draws.

    mask: (H, W) bool, the pattern's colour-B pixels (None for an uploaded image).
    """
    if step.carafe is None:
        raise ValueError(f"step {step.index} uses {step.kind!r}, not CARAFE")
    pixels = one_colour_pixels(step, image, mask)
    vh, vw = step.geometry.visible_input_hw()
    origin, axis, kind, note = projection_for(
        step.input, (vh, vw), step.stride_in, image, mask, pixels
    )
    oh, ow = step.visible_output_hw()
    inp = project(step.input, origin, axis)[:vh, :vw]
    maps = {
        m: project(step.outputs[m], origin, axis)[:oh, :ow] for m in METHODS if m in step.outputs
    }
    zmin, zmax = float(inp.min()), float(inp.max())
    zmax = max(zmax, zmin + 1e-9)
    frame = border_frame(step)
    outside = {m: count_outside(v, zmin, zmax, frame) for m, v in maps.items()}
    flat = flat_region(step, image, project(step.input, origin, axis), maps, flat=pixels.mask)
    mask = mask if two_colours(image, mask) else None
    return SandboxView(
        step,
        inp,
        maps,
        zmin,
        zmax,
        outside,
        kind,
        note,
        flat,
        mask,
        origin,
        axis,
        pixels=pixels,
        frame=frame,
        frame_weight_past_image=_weight_past_image(step, frame),
    )
