"""Explore's image-wide measure: do this image's kernels follow its own regions?

Labels exist only for the generated scenes; on a photo the model's classes (ellipse, star, …)
mean nothing. The photo's own regions still do: :func:`carafe.training.regions.photo_regions`
splits it without labels. At the finest CARAFE step, every output pixel whose source window
straddles two regions gets an own-region share per way of upsampling
(:func:`carafe.training.alignment.own_share_maps`); this module summarises them for the page,
picks a typical straddling pixel to start at, and words both from the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from carafe.inspect.imageio import sample_scene
from carafe.inspect.records import Analysis, StepAnalysis
from carafe.nn import UPSAMPLERS
from carafe.training.alignment import own_share_maps
from carafe.training.regions import photo_regions

__all__ = [
    "SAME_SHARE",
    "image_regions",
    "ImageAlignment",
    "image_alignment",
    "image_alignment_sentence",
    "pixel_alignment_sentence",
]

# Shares closer than this are "about the same" (a 5x5 kernel's weights are read to 0.01).
SAME_SHARE = 0.01


@dataclass(frozen=True)
class ImageAlignment:
    """Own-region shares of one CARAFE step of one image, at its straddling pixels."""

    step_index: int
    window: int  # k of the k x k kernels
    regions: int  # regions the label-free segmentation found (or objects and background)
    straddling: int  # output pixels whose window straddles two or more regions
    carafe: float  # mean own-region share of the model's kernels
    moved: float  # the same kernels moved to other straddling pixels (content-blind control)
    bilinear: float
    nearest: float
    carafe_ahead: float  # share of straddling pixels where CARAFE beats bilinear by SAME_SHARE
    carafe_behind: float  # ... where bilinear beats CARAFE by SAME_SHARE
    typical: tuple[int, int] | None  # (row, col) on the output map: the median CARAFE lead
    typical_carafe: float | None
    typical_bilinear: float | None
    regions_map: np.ndarray  # (H, W) region ids
    carafe_map: np.ndarray  # (oh, ow) own-region share per output pixel, NaN off the edges
    bilinear_map: np.ndarray
    true_labels: bool = False  # measured against the scene's true objects, not colour regions
    name: str = "CARAFE"  # the display name of the kind whose kernels are measured
    carafe_off: float | None = None  # of the weight off the centre tap, the part on the own part
    bilinear_off: float | None = None  # the same for bilinear's kernels

    def shares_at(self, row: int, col: int) -> tuple[float, float] | None:
        """(CARAFE, bilinear) own-region shares of output pixel (row, col); None unless its
        window straddles two regions."""
        h, w = self.carafe_map.shape
        if not (0 <= row < h and 0 <= col < w) or np.isnan(self.carafe_map[row, col]):
            return None
        return float(self.carafe_map[row, col]), float(self.bilinear_map[row, col])


def image_regions(image: np.ndarray, sample: str | None = None) -> tuple[np.ndarray, bool]:
    """(labels (H, W) int64, whether they are true objects) of an H×W×3 uint8 image: a shapes
    sample's true object masks (``sample``: its file name), else the label-free colour regions
    (:func:`carafe.training.regions.photo_regions`). Never a model's predicted classes."""
    scene = sample_scene(sample) if sample else None
    if scene is not None and scene[1].shape == image.shape[:2]:
        return scene[1].astype(np.int64), True
    return photo_regions(image), False


def _finest_carafe_step(analysis: Analysis) -> StepAnalysis | None:
    steps = [s for s in analysis.steps if s.carafe is not None]
    return steps[-1] if steps else None


def image_alignment(
    analysis: Analysis,
    seed: int = 0,
    labels: np.ndarray | None = None,
    true_labels: bool | None = None,
) -> ImageAlignment | None:
    """The measure for ``analysis``'s finest CARAFE step; None without CARAFE or straddling
    pixels (a flat image has one region). ``labels`` (H, W): the image's parts, by default its
    true object masks (a generated scene's), used instead of computing the label-free colour
    regions; ``true_labels=False`` says they are colour regions (:func:`image_regions`)."""
    step = _finest_carafe_step(analysis)
    if step is None:
        return None
    regions = photo_regions(analysis.image) if labels is None else labels.astype(np.int64)
    d = step.carafe
    k2 = d.up_kernel**2
    kernels = torch.from_numpy(d.kernels).view(d.up_group, k2, *d.kernels.shape[-2:]).mean(0)
    maps = own_share_maps(
        kernels[None],
        torch.from_numpy(regions)[None],
        step.stride_in,
        step.stride_out,
        step.scale,
        seed,
    )
    mask = maps["straddling"][0]
    n = int(mask.sum())
    if n == 0:
        return None
    carafe, bilinear = maps["kernels"][0][mask], maps["bilinear"][0][mask]

    def off_share(name: str) -> float | None:
        weight = float(maps[f"{name}_off_weight"][0][mask].sum())
        return float(maps[f"{name}_off_own"][0][mask].sum()) / weight if weight > 1e-9 else None

    moved = float(maps["moved"][0][mask].mean())
    lead = carafe - bilinear
    order = torch.argsort(lead)
    middle = int(order[(n - 1) // 2])
    rows, cols = mask.nonzero(as_tuple=True)
    return ImageAlignment(
        step_index=step.index,
        window=d.up_kernel,
        regions=int(regions.max()) + 1,
        straddling=n,
        carafe=float(carafe.mean()),
        moved=moved,
        bilinear=float(bilinear.mean()),
        nearest=float(maps["nearest"][0][mask].mean()),
        carafe_ahead=float((lead > SAME_SHARE).double().mean()),
        carafe_behind=float((lead < -SAME_SHARE).double().mean()),
        typical=(int(rows[middle]), int(cols[middle])),
        typical_carafe=float(carafe[middle]),
        typical_bilinear=float(bilinear[middle]),
        regions_map=regions,
        carafe_map=maps["kernels"][0].numpy(),
        bilinear_map=maps["bilinear"][0].numpy(),
        true_labels=labels is not None if true_labels is None else true_labels,
        name=UPSAMPLERS[step.kind].display_name,
        carafe_off=off_share("kernels"),
        bilinear_off=off_share("bilinear"),
    )


def _compare(a: float, b: float) -> str:
    if a > b + SAME_SHARE:
        return "more than"
    if a < b - SAME_SHARE:
        return "less than"
    return "about as much as"


def image_alignment_sentence(a: ImageAlignment) -> str:
    """What the kernels do at this image's region edges, from the numbers (two sentences)."""
    lead = _compare(a.carafe, a.bilinear)
    control = _compare(a.carafe, a.moved)
    what = "true object masks" if a.true_labels else f"{a.regions} colour regions"
    own = "object" if a.true_labels else "region"
    text = (
        f"At the {a.straddling:,} pixels where a {a.window}×{a.window} window straddles two "
        f"parts of this image ({what}), {a.name} puts {a.carafe:.2f} of its weight on the "
        f"pixel's own {own}: {lead} bilinear ({a.bilinear:.2f}) and {control} its own kernels "
        f"moved to other edge pixels ({a.moved:.2f}, a content-blind control). It beats "
        f"bilinear by over {SAME_SHARE:.2f} at {100 * a.carafe_ahead:.0f} % of them and trails "
        f"it at {100 * a.carafe_behind:.0f} %."
    )
    if a.carafe_off is not None and a.bilinear_off is not None:
        text += (
            f" Of the weight off the centre tap (which a centre spike cannot win), it puts "
            f"{a.carafe_off:.2f} on the own {own}, {_compare(a.carafe_off, a.bilinear_off)} "
            f"bilinear ({a.bilinear_off:.2f})."
        )
    return text


def pixel_alignment_sentence(
    a: ImageAlignment, row: int, col: int, carafe: float, bilinear: float
) -> str:
    """Whether the shown pixel is typical of the image's straddling pixels."""
    where = f"Output pixel ({row}, {col})"
    here = _compare(carafe, bilinear)
    typical = a.typical == (row, col)
    note = (
        f"it is the typical straddling pixel (the median {a.name} lead over bilinear)"
        if typical
        else "it is not the image's typical straddling pixel"
    )
    if here == "less than":
        how_often = f"as at {100 * a.carafe_behind:.0f} % of this image's straddling pixels"
    elif here == "more than":
        how_often = f"as at {100 * a.carafe_ahead:.0f} % of this image's straddling pixels"
    else:
        share = 1 - a.carafe_ahead - a.carafe_behind
        how_often = f"as at {100 * share:.0f} % of this image's straddling pixels"
    own = "object" if a.true_labels else "region"
    return (
        f"{where}: {a.name} puts {carafe:.2f} on its own {own}, {here} bilinear ({bilinear:.2f}), "
        f"{how_often}; {note}."
    )
