"""Segmentation metrics: mIoU and two boundary F-scores (plain tensor maths, no models).

Two boundary F-scores, because they answer different questions:

* :func:`boundary_f_scores` (class-agnostic, 1-pixel tolerance, this project's first measure):
  are the predicted region boundaries where the true ones are, whatever the classes?
* :func:`class_boundary_f` (Csurka, Larlus and Perronnin, BMVC 2013, as usually reported): per
  class, the boundary of that class's mask, with a tolerance of 0.75 % of the image diagonal
  (Euclidean); F per image and class, averaged over the images where the class appears (in the
  truth or the prediction), then over the classes.

In both, a boundary pixel is a pixel whose label differs from one of its 4-neighbours' (both
sides of an edge are boundary pixels; the image border is not a boundary).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = [
    "CLASS_BOUNDARY_TOLERANCE",
    "boundary_f_scores",
    "boundary_map",
    "class_boundary_f",
    "mean_iou",
]

CLASS_BOUNDARY_TOLERANCE = 0.0075  # fraction of the image diagonal (Csurka et al.)


def boundary_map(labels: torch.Tensor) -> torch.Tensor:
    """(N, H, W) labels -> bool (N, H, W): pixels whose label differs from a 4-neighbour's."""
    edge = torch.zeros(labels.shape, dtype=torch.bool, device=labels.device)
    dy = labels[:, 1:, :] != labels[:, :-1, :]
    dx = labels[:, :, 1:] != labels[:, :, :-1]
    edge[:, 1:, :] |= dy
    edge[:, :-1, :] |= dy
    edge[:, :, 1:] |= dx
    edge[:, :, :-1] |= dx
    return edge


def _dilate(mask: torch.Tensor, radius: float, euclidean: bool) -> torch.Tensor:
    """Grow a bool (N, H, W) mask by ``radius`` pixels (Chebyshev square or Euclidean disc)."""
    reach = math.floor(radius)
    if reach == 0:
        return mask
    offsets = torch.arange(-reach, reach + 1, dtype=torch.float32)
    footprint = torch.ones(2 * reach + 1, 2 * reach + 1)
    if euclidean:
        footprint = (offsets[:, None] ** 2 + offsets[None, :] ** 2 <= radius**2).float()
    grown = F.conv2d(mask[:, None].float(), footprint[None, None], padding=reach)
    return grown[:, 0] > 0


def _f_scores(pred_edges, true_edges, radius, euclidean) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image F (N,) and whether either map has any boundary (N,)."""
    hit_p = (pred_edges & _dilate(true_edges, radius, euclidean)).flatten(1).sum(1).float()
    hit_t = (true_edges & _dilate(pred_edges, radius, euclidean)).flatten(1).sum(1).float()
    n_p, n_t = pred_edges.flatten(1).sum(1).float(), true_edges.flatten(1).sum(1).float()
    precision = hit_p / n_p.clamp(min=1)
    recall = hit_t / n_t.clamp(min=1)
    f = 2 * precision * recall / (precision + recall).clamp(min=1e-12)
    return f, (n_p > 0) | (n_t > 0)


def boundary_f_scores(pred: torch.Tensor, target: torch.Tensor, tolerance: int = 1) -> torch.Tensor:
    """Class-agnostic boundary F per image (N,) of predicted vs true label maps (N, H, W).

    A boundary pixel counts as matched if one of the other map lies within ``tolerance`` pixels
    (Chebyshev distance). Images where neither map has a boundary score 1; where only one has, 0.
    """
    f, any_edge = _f_scores(boundary_map(pred), boundary_map(target), tolerance, False)
    return torch.where(any_edge, f, torch.ones_like(f))


def class_boundary_f(
    pred: torch.Tensor, target: torch.Tensor, num_classes: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-class boundary F (Csurka et al.) of label maps (N, H, W).

    Returns ``(score_sum, count)``, both (num_classes,): the sum over images of F for each class
    and the number of images where the class appears in the truth or the prediction, so that
    batches can be added up; the score of class c is ``score_sum[c] / count[c]``.
    """
    h, w = target.shape[-2:]
    radius = CLASS_BOUNDARY_TOLERANCE * math.hypot(h, w)
    score_sum = torch.zeros(num_classes, dtype=torch.float64)
    count = torch.zeros(num_classes, dtype=torch.long)
    for c in range(num_classes):
        in_pred, in_true = pred == c, target == c
        present = (in_pred | in_true).flatten(1).any(1)
        f, any_edge = _f_scores(boundary_map(in_pred), boundary_map(in_true), radius, True)
        # A class that fills the whole image in both maps has no boundary and is perfect.
        same_everywhere = (in_pred == in_true).flatten(1).all(1)
        f = torch.where(any_edge, f, same_everywhere.float())
        score_sum[c] = f[present].double().sum()
        count[c] = int(present.sum())
    return score_sum, count


def mean_iou(confusion: torch.Tensor) -> tuple[float, list[float | None]]:
    """mIoU and per-class IoU from a (K, K) confusion matrix (rows: truth, cols: prediction).

    A class absent from both the truth and the prediction has no IoU (None) and is left out of
    the mean, instead of counting as 0.
    """
    confusion = confusion.double()
    inter = confusion.diag()
    union = confusion.sum(0) + confusion.sum(1) - inter
    per_class = [float(i / u) if u > 0 else None for i, u in zip(inter, union, strict=True)]
    present = [v for v in per_class if v is not None]
    return (sum(present) / len(present) if present else float("nan")), per_class
