"""Small numeric summaries the app shows: differences, agreement, PCA colours. Numpy only."""

from __future__ import annotations

import numpy as np

__all__ = [
    "agreement",
    "block_reduce",
    "max_abs_difference",
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


def pca_rgb(maps: list[np.ndarray], fit_index: int = 0) -> list[np.ndarray]:
    """Project (C, H, W) maps onto the top-3 principal components of ``maps[fit_index]``.

    All maps share one basis and one normalisation (1st-99th percentile of the fitted map), so
    colours are comparable across upsamplers. Returns (H, W, 3) uint8 images.
    """
    ref = maps[fit_index].reshape(maps[fit_index].shape[0], -1).astype(np.float64)
    mean = ref.mean(axis=1, keepdims=True)
    u, _, _ = np.linalg.svd(ref - mean, full_matrices=False)
    basis = u[:, :3]
    if basis.shape[1] < 3:
        basis = np.pad(basis, ((0, 0), (0, 3 - basis.shape[1])))
    for j in range(basis.shape[1]):  # deterministic sign: largest loading positive
        if basis[np.argmax(np.abs(basis[:, j])), j] < 0:
            basis[:, j] *= -1
    proj_ref = basis.T @ (ref - mean)
    lo = np.percentile(proj_ref, 1, axis=1, keepdims=True)
    hi = np.percentile(proj_ref, 99, axis=1, keepdims=True)
    span = np.where(hi - lo > 1e-12, hi - lo, 1.0)
    out = []
    for m in maps:
        flat = m.reshape(m.shape[0], -1).astype(np.float64)
        proj = (basis.T @ (flat - mean) - lo) / span
        rgb = np.clip(proj, 0, 1).T.reshape(m.shape[1], m.shape[2], 3)
        out.append((rgb * 255).round().astype(np.uint8))
    return out
