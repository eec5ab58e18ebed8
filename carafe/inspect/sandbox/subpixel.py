"""CARAFE's s×s sub-pixel kernels in flat areas: do they differ, and how much texture follows.

Each input pixel (i, j) gets s² kernels from the content encoder, one per output pixel
(s·i + a, s·j + b) of its s×s block. In a flat area the content under every window is the same,
so any difference between those s² kernels is a difference of *position* (sub-pixel a, b), not
of content. Where the input features are not exactly constant, different kernels give the s²
outputs of one block different values: a texture repeating every s output pixels.

:func:`flat_region` measures this on an analysed step: which input pixels are flat (the image
under their whole k×k window is one colour, within a tolerance), how much their s² kernels
differ, how much the same sub-pixel's kernel differs between neighbouring flat pixels (a
content-free control), where each sub-pixel's kernel leans, bilinear's numbers for the same
questions, and each method's roughness there (mean |second difference| of its output along
rows and columns: 0 for any smooth ramp, large for a texture that repeats every s pixels), and
how much of each method's variation inside the s×s blocks repeats the same way in every block
(``repeating``: a grid texture proper, rather than variation that follows the features).
No drawing, no Streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from carafe.inspect.kernel_compare import bilinear_kernels
from carafe.inspect.pixel import FLAT_TOLERANCE, flat_mask
from carafe.inspect.records import StepAnalysis
from carafe.inspect.summaries import window_reduce
from carafe.ops.geometry import kernel_lean

__all__ = ["FlatRegion", "flat_region"]


@dataclass
class FlatRegion:
    """Sub-pixel kernel measures over the flat input pixels of one step (see module doc).

    Differences are total-variation distances ½·Σ_taps |w − w'| in [0, 1]: the share of the
    kernel weight that sits on other taps. ``lean``: (s, s, 2) mean centre of mass (dy, dx) of
    sub-pixel (a, b)'s kernel, in input pixels from the window centre. ``roughness``: method ->
    mean |second difference| of its projected output along rows and columns, over the output
    pixels of flat input pixels. ``repeating``: method -> the share of its variation inside the
    s×s blocks of flat pixels that is the same in every block (see :func:`_repeating_share`);
    None where the output does not vary inside its blocks (nearest, an exactly flat map).
    """

    mask: np.ndarray  # (H, W) bool over the input map: flat pixels used
    pixels: int
    subpixel_difference: float
    neighbour_difference: float | None  # None when no two flat pixels touch
    bilinear_subpixel_difference: float
    lean: np.ndarray
    bilinear_lean: np.ndarray
    roughness: dict[str, float]
    input_spread: float  # mean (max − min) of the projected input under a flat window
    repeating: dict[str, float | None] | None = None


def _repeating_share(blocks: np.ndarray) -> float | None:
    """Of the variation inside s×s blocks ((n, s²) values), the share that repeats the same
    way in every block: |mean over blocks of (value − block mean)|² / mean |value − block mean|².
    1 for a pure grid texture (every block the same offsets), about 1/n for offsets that change
    from block to block; None where no block varies."""
    deviation = blocks - blocks.mean(axis=1, keepdims=True)
    total = float((deviation**2).sum(axis=1).mean())
    if total <= 1e-12:
        return None
    return float((deviation.mean(axis=0) ** 2).sum() / total)


def _tv(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return 0.5 * np.abs(a - b).sum(axis=-1)


def _roughness(values: np.ndarray, where: np.ndarray) -> float:
    """Mean |second difference| of ``values`` along rows and columns, where three pixels in a
    row (or column) all lie in ``where``."""
    parts = []
    for v, m in ((values, where), (values.T, where.T)):
        d2 = v[:, :-2] - 2 * v[:, 1:-1] + v[:, 2:]
        parts.append(np.abs(d2[m[:, :-2] & m[:, 1:-1] & m[:, 2:]]))
    both = np.concatenate(parts)
    return float(both.mean()) if both.size else 0.0


def _pair_difference(kernels: np.ndarray) -> float:
    """Mean TV distance over the pairs of the s² kernels; kernels (..., s², k²)."""
    pairs = list(combinations(range(kernels.shape[-2]), 2))
    if not pairs:
        return 0.0
    return float(np.mean([_tv(kernels[..., p, :], kernels[..., q, :]).mean() for p, q in pairs]))


def flat_region(
    step: StepAnalysis,
    image: np.ndarray,
    projected_input: np.ndarray,
    projected_outputs: dict[str, np.ndarray],
    tol: int = FLAT_TOLERANCE,
    flat: np.ndarray | None = None,
) -> FlatRegion | None:
    """Sub-pixel kernel measures over ``step``'s flat input pixels (None when there are none).

    projected_input: (H, W) and projected_outputs: method -> (sh, sw) one-number maps (the
    Sandbox's projection), for the spread of the outputs and of the input under the windows.
    flat: (H, W) bool, the flat input pixels to use, when the caller has counted them already
    (the Sandbox counts them once, per colour, and quotes that count); default
    :func:`flat_mask` restricted to pixels whose s² outputs are all visible.
    """
    d = step.carafe
    geo = step.geometry
    k, s = geo.k, geo.s
    oh, ow = step.visible_output_hw()
    if flat is not None:
        mask = np.array(flat, dtype=bool)
    else:
        mask = flat_mask(step, image, tol)
        mask[oh // s :, :] = False  # every one of the s² outputs must be visible
        mask[:, ow // s :] = False
    iy, ix = np.nonzero(mask)
    if iy.size == 0:
        return None
    a, b = np.divmod(np.arange(s * s), s)
    oy, ox = s * iy[:, None] + a[None], s * ix[:, None] + b[None]  # (n, s²) output pixels
    taps = d.kernels[: k * k].astype(np.float64)  # group 0
    kernels = np.moveaxis(taps[:, oy, ox], 0, -1)  # (n, s², k²)
    index = -np.ones(mask.shape, np.int64)
    index[iy, ix] = np.arange(iy.size)
    neighbour = []
    for dy, dx in ((0, 1), (1, 0)):
        both = mask[: mask.shape[0] - dy, : mask.shape[1] - dx] & mask[dy:, dx:]
        first = index[: mask.shape[0] - dy, : mask.shape[1] - dx][both]
        second = index[dy:, dx:][both]
        neighbour.append(_tv(kernels[first], kernels[second]).ravel())
    neighbour = np.concatenate(neighbour)
    bil = bilinear_kernels(k, s).reshape(s * s, k * k)
    flat_out = np.zeros((oh, ow), bool)
    flat_out[oy, ox] = True
    rough = {m: _roughness(v[:oh, :ow], flat_out) for m, v in projected_outputs.items()}
    repeating = {m: _repeating_share(v[oy, ox]) for m, v in projected_outputs.items()}
    win_hi = window_reduce(projected_input, k, np.max)[iy, ix]
    win_lo = window_reduce(projected_input, k, np.min)[iy, ix]
    return FlatRegion(
        mask=mask,
        pixels=int(iy.size),
        subpixel_difference=_pair_difference(kernels),
        neighbour_difference=float(neighbour.mean()) if neighbour.size else None,
        bilinear_subpixel_difference=_pair_difference(bil),
        lean=kernel_lean(kernels.reshape(*kernels.shape[:-1], k, k)).mean(axis=0).reshape(s, s, 2),
        bilinear_lean=kernel_lean(bil.reshape(*bil.shape[:-1], k, k)).reshape(s, s, 2),
        roughness=rough,
        input_spread=float(np.mean(win_hi - win_lo)),
        repeating=repeating,
    )
