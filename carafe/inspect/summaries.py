"""Small numeric summaries the app shows: differences, agreement, PCA colours. Numpy only."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "HIGH_PERCENTILE",
    "LOW_PERCENTILE",
    "PcaBasis",
    "agreement",
    "block_reduce",
    "max_abs_difference",
    "pca_basis",
    "pca_colours",
    "pca_project",
    "pca_rgb",
    "rms_difference",
    "window_reduce",
]


def window_reduce(a: np.ndarray, k: int, fn, pad: float | None = np.nan) -> np.ndarray:
    """``fn`` (np.min, np.max, ...) over the k×k neighbourhood of every pixel of an (H, W) map.

    Past the map the neighbourhood reads ``pad`` (NaN by default, so a NaN-propagating ``fn``
    marks windows that leave the map); ``pad=None`` repeats the edge pixels instead.
    """
    r = (k - 1) // 2
    padded = np.pad(a, r, mode="edge") if pad is None else np.pad(a, r, constant_values=pad)
    return fn(np.lib.stride_tricks.sliding_window_view(padded, (k, k)), axis=(2, 3))


def block_reduce(values: np.ndarray, stride: int, hw, how=np.mean) -> np.ndarray:
    """(h, w) image values -> (H, W) map: ``how`` over each stride × stride block.

    NaN where a map pixel covers no image pixel (the model's padding past the image).
    """
    h, w = values.shape
    H, W = int(hw[0]), int(hw[1])
    nh, nw = -(-h // stride), -(-w // stride)
    padded = np.full((nh * stride, nw * stride), np.nan)
    padded[:h, :w] = values
    blocks = padded.reshape(nh, stride, nw, stride)
    name = {np.mean: np.nanmean, np.min: np.nanmin, np.max: np.nanmax}[how]
    out = np.full((H, W), np.nan)
    out[: min(H, nh), : min(W, nw)] = name(blocks, axis=(1, 3))[:H, :W]
    return out


def rms_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Root-mean-square difference of two equally shaped maps."""
    return float(np.sqrt(np.mean((a.astype(np.float64) - b) ** 2)))


def max_abs_difference(a, b) -> float:
    """Largest absolute difference (model value vs hand recomputation)."""
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


def agreement(seg_a: np.ndarray, seg_b: np.ndarray) -> float:
    """Fraction of pixels where two segmentations give the same class."""
    return float(np.mean(seg_a == seg_b))


LOW_PERCENTILE, HIGH_PERCENTILE = 1.0, 99.0  # the fitted map's range mapped to colours 0 and 1


@dataclass(frozen=True)
class PcaBasis:
    """Three principal components of a (C, h, w) map and the colour scaling they share.

    mean (C,); components (3, C), rows of unit length (zero rows when the map has fewer than
    three directions of variation), sign fixed so the largest loading is positive; low / span
    (3,): coordinate ``low`` maps to colour 0 and ``low + span`` to 1 (the fitted map's 1st and
    99th percentiles); explained (3,): each component's fraction of the map's variance.
    """

    mean: np.ndarray
    components: np.ndarray
    low: np.ndarray
    span: np.ndarray
    explained: np.ndarray


def pca_basis(fit: np.ndarray, visible_hw: tuple[int, int] | None = None) -> PcaBasis:
    """The basis of a (C, h, w) map, fitted on (and centred by the mean of) its first
    ``visible_hw`` rows/columns (default: all of it)."""
    c = fit.shape[0]
    vh, vw = visible_hw or fit.shape[1:]
    pixels = fit[:, :vh, :vw].reshape(c, -1).astype(np.float64)
    mean = pixels.mean(axis=1)
    centred = pixels - mean[:, None]
    u, sv, _ = np.linalg.svd(centred, full_matrices=False)
    n = min(3, u.shape[1])
    components = np.zeros((3, c))
    components[:n] = u[:, :n].T
    for row in components[:n]:  # deterministic sign: largest loading positive
        if row[np.argmax(np.abs(row))] < 0:
            row *= -1
    total = float((sv**2).sum())
    explained = np.zeros(3)
    if total > 0:
        explained[:n] = sv[:n] ** 2 / total
    coords = components @ centred
    low = np.percentile(coords, LOW_PERCENTILE, axis=1)
    high = np.percentile(coords, HIGH_PERCENTILE, axis=1)
    span = np.where(high - low > 1e-12, high - low, 1.0)
    return PcaBasis(mean, components, low, span, explained)


def pca_colours(maps: np.ndarray, basis: PcaBasis) -> np.ndarray:
    """(H, W, 3) float64: a (C, H, W) map's scaled PCA coordinates, not clipped (the fitted
    map's 1st–99th percentiles run from 0 to 1)."""
    c, h, w = maps.shape
    flat = maps.reshape(c, -1).astype(np.float64) - basis.mean[:, None]
    coords = (basis.components @ flat - basis.low[:, None]) / basis.span[:, None]
    return coords.T.reshape(h, w, 3)


def pca_project(maps: np.ndarray, basis: PcaBasis) -> np.ndarray:
    """(H, W, 3) float in [0, 1]: a (C, H, W) map in the basis's colours (clipped)."""
    return np.clip(pca_colours(maps, basis), 0.0, 1.0)


def pca_rgb(maps: list[np.ndarray], fit_index: int = 0) -> list[np.ndarray]:
    """Project (C, H, W) maps onto the top-3 principal components of ``maps[fit_index]``.

    All maps share one basis and one normalisation (1st-99th percentile of the fitted map), so
    colours are comparable across upsamplers. Returns (H, W, 3) uint8 images.
    """
    basis = pca_basis(maps[fit_index])
    return [(pca_project(m, basis) * 255).round().astype(np.uint8) for m in maps]
