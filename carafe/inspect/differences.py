"""Where CARAFE's output differs from another upsampler's, in numbers and words (Compare page).

The difference maps "CARAFE − baseline" are split into three regions of the output map:

* **border frame**: output pixels whose k×k window reaches past the real image (into the op's
  zero padding or the area the model padded the image with). CARAFE's kernels may put weight
  there and read zeros, while interpolation repeats the border value.
* **object edges**: the other pixels whose window holds two classes of the predicted
  segmentation (sampled at the centres of the input-map pixels, as
  :mod:`carafe.inspect.pixel` does): where a content-aware kernel can choose a side.
* **elsewhere**: the rest.

:func:`split_energy` counts the share of the difference energy (sum of squared differences)
and the share of the pixels in each region; :func:`split_sentence` words the result. Plain
numpy, no drawing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# boundary_windows: the one home of "window holds two classes" (Explore starts there too)
from carafe.inspect.pixel import boundary_windows, padding_weight_map
from carafe.inspect.records import StepAnalysis
from carafe.ops.geometry import Geometry

__all__ = [
    "BORDER",
    "CONCENTRATED",
    "EDGES",
    "ELSEWHERE",
    "REGIONS",
    "DifferenceSplit",
    "RegionShare",
    "border_padding_weight",
    "difference_regions",
    "split_energy",
    "split_sentence",
    "twin_input_sentence",
    "twins_heading",
    "undefined_share_note",
]

BORDER, EDGES, ELSEWHERE = 0, 1, 2
#: Region names, indexed by the labels :func:`difference_regions` returns.
REGIONS = ("border frame", "object edges", "elsewhere")
#: A region "concentrates" the differences when its energy share is at least this many times
#: its area share (1 = no more than its size would give it).
CONCENTRATED = 1.25


@dataclass(frozen=True)
class RegionShare:
    """One region's part of the difference energy and of the map."""

    name: str
    energy_share: float  # fraction of the summed squared difference (nan when there is none)
    area_share: float  # fraction of the output pixels
    pixels: int

    @property
    def concentration(self) -> float:
        """Energy share over area share: 1 = as much as its size, >1 = concentrated here."""
        if self.pixels == 0 or math.isnan(self.energy_share):
            return math.nan
        return self.energy_share / self.area_share


@dataclass(frozen=True)
class DifferenceSplit:
    """The difference energy of one or more maps, split by region (see the module docstring)."""

    regions: tuple[RegionShare, ...]  # in the order of REGIONS
    energy: float  # total sum of squared differences
    pixels: int  # output pixels per map
    kernel_size: int  # k of the windows that define the regions

    def region(self, name: str) -> RegionShare:
        """The region called ``name`` (one of :data:`REGIONS`)."""
        return self.regions[REGIONS.index(name)]


def difference_regions(
    geo: Geometry, out_hw: tuple[int, int], segmentation: np.ndarray | None
) -> np.ndarray:
    """(h, w) int labels of the output map: BORDER, EDGES or ELSEWHERE (module docstring).

    ``out_hw``: the (cropped) output map's size; ``segmentation``: the predicted classes on
    the image (H, W), or None (then no pixel is an object edge). A pixel whose window both
    reaches past the image and holds two classes counts as border frame.
    """
    oh, ow = int(out_hw[0]), int(out_hw[1])
    border = ~geo.window_fully_in_image()[:oh, :ow]
    edges = boundary_windows(segmentation, geo, (oh, ow))
    labels = np.full((oh, ow), ELSEWHERE, np.int8)
    labels[edges] = EDGES
    labels[border] = BORDER  # last: the border frame wins where both hold
    return labels


def split_energy(diffs, labels: np.ndarray, kernel_size: int) -> DifferenceSplit:
    """Split the squared differences of ``diffs`` (arrays of shape (..., h, w)) by ``labels``.

    Every map counts: their squared differences are summed per pixel, so the shares describe
    all the panels together. Area shares are fractions of the h·w pixels.
    """
    per_pixel = np.zeros(labels.shape, np.float64)
    for d in diffs:
        sq = np.asarray(d, np.float64) ** 2
        per_pixel += sq.reshape(-1, *labels.shape).sum(axis=0)
    total = float(per_pixel.sum())
    regions = []
    for i, name in enumerate(REGIONS):
        inside = labels == i
        energy = float(per_pixel[inside].sum()) / total if total > 0 else math.nan
        regions.append(RegionShare(name, energy, float(inside.mean()), int(inside.sum())))
    return DifferenceSplit(tuple(regions), total, int(labels.size), int(kernel_size))


def border_padding_weight(step: StepAnalysis, labels: np.ndarray) -> float | None:
    """Mean kernel weight CARAFE puts on taps outside the image, over the border frame
    (all groups); None without CARAFE kernels or without a border frame."""
    if step.carafe is None or not (labels == BORDER).any():
        return None
    oh, ow = labels.shape
    maps = [padding_weight_map(step, g)[:oh, :ow] for g in range(step.carafe.up_group)]
    return float(np.mean([m[labels == BORDER].mean() for m in maps]))


_WHERE = {
    "border frame": "in the border frame",
    "object edges": "at object edges",
    "elsewhere": "elsewhere",
}
_WHAT = {  # what each region is, for the reader (k: the window size)
    "border frame": "pixels whose {k}×{k} window reaches past the image",
    "object edges": "window holds two predicted classes",
    "elsewhere": "",
}
_EMPTY = {  # said when a region has no pixel
    "border frame": "no window reaches past the image",
    "object edges": "no window holds two predicted classes",
    "elsewhere": "no other pixel",
}


def _part(r: RegionShare, k: int) -> str:
    what = _WHAT[r.name].format(k=k)
    if r.pixels == 0:
        return f"none {_WHERE[r.name]} ({_EMPTY[r.name]})"
    area = f"{what}: {r.area_share:.0%} of the pixels" if what else f"{r.area_share:.0%}"
    return f"{r.energy_share:.0%} {_WHERE[r.name]} ({area})"


def split_sentence(
    split: DifferenceSplit,
    what: str,
    padding_weight: float | None = None,
    segmentation: bool = True,
) -> str:
    """Say where the difference energy of ``what`` (e.g. "channel 5, all four panels") lies.

    Names every region's energy share and area share, then which regions concentrate the
    differences (energy share ≥ :data:`CONCENTRATED` × area share), most concentrated first.
    ``padding_weight`` (:func:`border_padding_weight`), when given and the border frame
    concentrates the differences, explains why. ``segmentation=False``: the model has no
    segmentation, so object edges are unknown (said instead of "no pixels").
    """
    if not split.energy > 0:
        return f"No difference at all in {what}: the maps are equal."
    k = split.kernel_size
    parts = [_part(r, k) for r in split.regions]
    if not segmentation:
        parts[EDGES] = "object edges unknown (this model has no segmentation)"
    text = f"Of the squared differences in {what}, {parts[0]}, {parts[1]} and {parts[2]}."
    dense = sorted(
        (r for r in split.regions if r.pixels and r.concentration >= CONCENTRATED),
        key=lambda r: -r.concentration,
    )
    names = {r.name for r in dense}
    if not dense:
        text += " They are spread about evenly: no region holds clearly more than its share."
    else:
        text += " They concentrate " + " and ".join(
            f"{_WHERE[r.name]} ({r.concentration:.1f}× its share of the pixels)" for r in dense
        )
        if segmentation and split.regions[EDGES].pixels and REGIONS[EDGES] not in names:
            text += ", not at object edges"
        text += "."
    if padding_weight is not None and REGIONS[BORDER] in names:
        text += (
            f" There CARAFE's kernels put {padding_weight:.0%} of their weight (mean) on taps "
            "outside the image, which read zeros: its output fades toward zero at the border."
        )
    return text


def twin_input_sentence(name: str, carafe_input: np.ndarray, twin_input: np.ndarray) -> str:
    """Say how the twin's input to this step compares with CARAFE's (RMS of the difference)."""
    if carafe_input.shape != twin_input.shape:
        return (
            f"The {name} twin's input map to this step has another shape "
            f"({twin_input.shape[1]}×{twin_input.shape[2]}, CARAFE's "
            f"{carafe_input.shape[1]}×{carafe_input.shape[2]}): compare outputs, not kernels."
        )
    diff = float(np.sqrt(np.mean((carafe_input.astype(np.float64) - twin_input) ** 2)))
    scale = float(np.sqrt(np.mean(carafe_input.astype(np.float64) ** 2)))
    if diff == 0:
        return (
            f"The {name} twin's input map to this step equals CARAFE's: the panels differ "
            "only by the upsampler."
        )
    return (
        f"The {name} twin is a separately trained model (its own backbone and FPN): its input "
        f"map to this step differs from CARAFE's (RMS difference {diff:.3g}; CARAFE's input "
        f"has RMS {scale:.3g}), and its channels are its own. So compare the outputs, not "
        "kernels: a difference mixes the two upsamplers with the two models' features."
    )


def twins_heading(model: str, twins: list[str]) -> str:
    """The segmentation heading, naming the twins actually shown ("A vs its B and C twins")."""
    if not twins:
        return f"Segmentation: {model} model"
    names = twins[0] if len(twins) == 1 else ", ".join(twins[:-1]) + f" and {twins[-1]}"
    return f"Segmentation: {model} model vs its {names} twin" + ("s" if len(twins) > 1 else "")


def undefined_share_note(rows: list[dict], value: str, label: str) -> str:
    """Why ``value`` is missing (None) in some rows of the kernel-alignment table.

    The off-centre share is own-object weight off the centre tap ÷ all weight off the centre
    tap; a kernel that puts no weight off the centre tap (nearest) makes it 0/0. Returns ""
    when every row has a value.
    """
    missing = list(dict.fromkeys(r[label] for r in rows if r.get(value) is None))
    if not missing:
        return ""
    names = "; ".join(missing)
    return (
        f"'{value}' is not defined for {names}: that kernel puts no weight off the centre tap, "
        "so the share of its off-centre weight on the own object is 0/0."
    )
