"""Where CARAFE's output differs from another upsampler's, in numbers (Compare page).

The difference maps "CARAFE − baseline" are split into three regions of the output map:

* **border frame**: output pixels whose k×k window reaches past the real image (into the op's
  zero padding or the area the model padded the image with). CARAFE's kernels may put weight
  there and read zeros, while interpolation repeats the border value.
* **object edges**: the other pixels whose window holds two classes of the predicted
  segmentation (sampled at the centres of the input-map pixels, as
  :mod:`carafe.inspect.pixel` does): where a content-aware kernel can choose a side.
* **elsewhere**: the rest.

:func:`split_energy` counts the share of the difference energy (sum of squared differences)
and the share of the pixels in each region; :func:`carafe.inspect.compare.words.split_sentence`
words the result. Plain numpy, no drawing.
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
    "EDGES",
    "ELSEWHERE",
    "REGIONS",
    "DifferenceSplit",
    "RegionShare",
    "border_padding_weight",
    "difference_regions",
    "split_energy",
]

BORDER, EDGES, ELSEWHERE = 0, 1, 2
#: Region names, indexed by the labels :func:`difference_regions` returns.
REGIONS = ("border frame", "object edges", "elsewhere")


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
