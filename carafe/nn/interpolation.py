"""Interpolation weights, in one place: which input pixels bilinear interpolation reads and with
what weights, along one axis (``F.interpolate``, align_corners=False, PyTorch's border clamping)
and at a free point (``grid_sample`` with ``padding_mode="border"``, as DySample samples).

The display layer and the alignment measures write bilinear's and DySample's weights as kernels
from these functions, so CARAFE's kernels are compared with exactly what the baselines compute.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

__all__ = [
    "SampleTap",
    "bilinear_kernel_1d",
    "bilinear_point_taps",
    "bilinear_taps_1d",
    "sampling_taps",
]


def bilinear_taps_1d(out_index: int, scale: int, size: int) -> list[tuple[int, float]]:
    """Input indices and weights F.interpolate(bilinear, align_corners=False) uses along one
    axis of a map of ``size`` pixels for output index ``out_index``, with PyTorch's clamping at
    the border (two entries; they may name the same index)."""
    src = max((out_index + 0.5) / scale - 0.5, 0.0)
    low = min(math.floor(src), size - 1)
    high = min(low + 1, size - 1)
    frac = src - low if low < size - 1 else 0.0
    return [(low, 1.0 - frac), (high, frac)]


def bilinear_kernel_1d(k: int, scale: int, phase: int) -> torch.Tensor:
    """(k,) weights bilinear interpolation puts on the taps -r..r around the source pixel.

    Output index ``scale * i + phase`` samples input coordinate i + (phase + 0.5) / scale - 0.5
    (align_corners=False), away from the map border.
    """
    r = (k - 1) // 2
    if r < 1:
        raise ValueError(f"a {k}x{k} window cannot hold bilinear's taps at scale {scale}")
    weights = torch.zeros(k, dtype=torch.float64)
    # On a map of k pixels with the source pixel at its centre no tap reaches the border.
    for tap, weight in bilinear_taps_1d(scale * r + phase, scale, k):
        weights[tap] += weight
    return weights


def bilinear_point_taps(
    x: torch.Tensor, y: torch.Tensor, height: int, width: int
) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """The four (row, col, weight) taps of bilinear samples at points (x, y), elementwise.

    Coordinates are in input pixels (pixel j's centre is j). Points outside the map are clamped
    to its border first (``padding_mode="border"``), so the weights sum to 1; at the last row or
    column two taps name the same pixel (one of them with weight 0).
    """
    x = x.to(torch.float64).clamp(0, width - 1)
    y = y.to(torch.float64).clamp(0, height - 1)
    col, row = x.floor(), y.floor()
    fx, fy = x - col, y - row
    col, row = col.long(), row.long()
    taps = []
    for dr, wy in ((0, 1 - fy), (1, fy)):
        for dc, wx in ((0, 1 - fx), (1, fx)):
            taps.append(
                ((row + dr).clamp(max=height - 1), (col + dc).clamp(max=width - 1), wy * wx)
            )
    return taps


@dataclass(frozen=True)
class SampleTap:
    """One of the (at most four) input pixels a bilinear point sample reads, and its weight."""

    row: int
    col: int
    weight: float


def sampling_taps(x: float, y: float, height: int, width: int) -> list[SampleTap]:
    """The input pixels and weights of a bilinear sample at (x, y) in input pixel coordinates.

    One point of :func:`bilinear_point_taps`, with taps on the same pixel merged and taps of
    zero weight left out. Reading a DySample point this way turns it into a sparse kernel
    comparable with CARAFE's k x k kernels.
    """
    weights: dict[tuple[int, int], float] = {}
    for row, col, weight in bilinear_point_taps(
        torch.tensor(float(x)), torch.tensor(float(y)), height, width
    ):
        key = (int(row), int(col))
        weights[key] = weights.get(key, 0.0) + float(weight)
    return [SampleTap(r, c, w) for (r, c), w in weights.items() if w > 0]
