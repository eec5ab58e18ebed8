"""What the model does at the image border, measured on held-out scenes.

CARAFE reads a k×k window of the input map around each output pixel's source pixel; near the
border part of that window is the op's zero padding. These measures say how much weight the
trained kernels put there and what it costs or buys:

* :func:`ring_statistics`: per step of a kernel upsampler (CARAFE, FADE, SAPA), over the outermost ring of output pixels,
  the median kernel weight on zero padding, the share of those kernels whose centre of mass
  leans outward (towards the padding), and the output's magnitude on the ring relative to the
  rest of the map, for CARAFE and for bilinear interpolation of the same input;
* :func:`band_scores`: mIoU and pixel accuracy on the band of ``BAND`` image pixels along the
  border and on the interior, for any model;
* :func:`renormalised_inside`: the what-if in which every CARAFE kernel's padding weight is given
  back to its taps inside the map (``CARAFEPack.renormalise_inside``).
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F

from carafe.nn import UPSAMPLERS
from carafe.ops.geometry import kernel_lean, taps_inside_map
from carafe.training.metrics import mean_iou

__all__ = [
    "BAND",
    "band_scores",
    "border_band",
    "border_measures",
    "renormalised_inside",
    "ring_statistics",
]

BAND = 8  # image pixels along the border that count as "the border band"


def border_band(height: int, width: int, band: int = BAND) -> torch.Tensor:
    """(H, W) bool: image pixels within ``band`` pixels of the image border."""
    rows, cols = torch.arange(height), torch.arange(width)
    near_y = (rows < band) | (rows >= height - band)
    near_x = (cols < band) | (cols >= width - band)
    return near_y[:, None] | near_x[None, :]


def _ring(h: int, w: int) -> np.ndarray:
    """(h, w) bool: the outermost ring of a map."""
    ring = np.zeros((h, w), bool)
    ring[[0, -1], :] = True
    ring[:, [0, -1]] = True
    return ring


def _outward_normals(h: int, w: int) -> np.ndarray:
    """(h, w, 2) the (dy, dx) direction out of the map at each pixel of its outer ring (corners
    point diagonally out); zero inside."""
    normal = np.zeros((h, w, 2))
    normal[0, :, 0] -= 1
    normal[-1, :, 0] += 1
    normal[:, 0, 1] -= 1
    normal[:, -1, 1] += 1
    return normal


@torch.no_grad()
def ring_statistics(model, images: torch.Tensor, batch_size: int = 50) -> list[dict] | None:
    """Border-ring measures of every step (coarsest first) of a model whose upsampler kind has
    the "border" measure (kernels family: CARAFE, FADE, SAPA); None for other models.

    images: (N, 3, H, W) uint8 whose size is a multiple of the model's coarsest stride (so every
    map lies wholly on the image). Per step: ``padding_weight_median`` (median over ring
    pixels, images and groups of the kernel weight on zero padding), ``outward_share`` (share
    of ring kernels whose lean points out of the map), ``lean_outward_median`` (median lean
    along the outward direction, in input pixels), and ``ring_magnitude_ratio`` /
    ``bilinear_ring_magnitude_ratio`` (mean |output| on the ring over the mean |output| on the
    rest of the map, for CARAFE's output and for bilinear interpolation of the same input).
    """
    if "border" not in UPSAMPLERS[model.neck.upsample_kind].measures:
        return None
    model.eval()
    collected: dict[int, dict[str, list]] = {}
    for start in range(0, images.shape[0], batch_size):
        x = images[start : start + batch_size].float() / 255.0
        for step in model.forward_with_intermediates(x).steps:
            if step.details is None:
                continue
            acc = collected.setdefault(
                step.index,
                {
                    "padding": [],
                    "outward": [],
                    "ring": [],
                    "rest": [],
                    "bil_ring": [],
                    "bil_rest": [],
                },
            )
            module = step.module
            k, g, s = module.up_kernel, module.up_group, step.scale
            h, w = step.input.shape[-2:]
            oh, ow = step.output.shape[-2:]
            kernels = step.details.kernels[..., :oh, :ow].double()  # (N, G·k², oh, ow)
            kernels = kernels.reshape(kernels.shape[0], g, k * k, oh, ow)
            outside = ~torch.from_numpy(taps_inside_map(k, s, h, w)[:, :oh, :ow])
            ring = torch.from_numpy(_ring(oh, ow))
            padding = (kernels * outside).sum(2)[..., ring]  # (N, G, ring pixels)
            acc["padding"].append(padding.flatten())
            lean = kernel_lean(
                kernels.numpy()
                .reshape(*kernels.shape[:2], k, k, oh, ow)
                .transpose(0, 1, 4, 5, 2, 3)
            )
            along = torch.from_numpy((lean * _outward_normals(oh, ow)).sum(-1))[..., ring]
            acc["outward"].append(along.flatten())  # lean along the outward direction
            bilinear = F.interpolate(
                step.input, scale_factor=s, mode="bilinear", align_corners=False
            )
            for name, out in (("", step.output), ("bil_", bilinear[..., :oh, :ow])):
                magnitude = out.abs().mean(1)  # (N, oh, ow)
                acc[name + "ring"].append(magnitude[:, ring].flatten())
                acc[name + "rest"].append(magnitude[:, ~ring].flatten())
    result = []
    for index in sorted(collected, reverse=True):  # coarsest first, as the FPN applies them
        acc = {key: torch.cat(values) for key, values in collected[index].items()}
        result.append(
            {
                "step_index": index,
                "padding_weight_median": float(acc["padding"].median()),
                "outward_share": float((acc["outward"] > 0).double().mean()),
                "lean_outward_median": float(acc["outward"].median()),
                "ring_magnitude_ratio": float(acc["ring"].mean() / acc["rest"].mean()),
                "bilinear_ring_magnitude_ratio": float(
                    acc["bil_ring"].mean() / acc["bil_rest"].mean()
                ),
            }
        )
    return result


@torch.no_grad()
def band_scores(
    model, images: torch.Tensor, labels: torch.Tensor, band: int = BAND, batch_size: int = 50
) -> dict:
    """{"band": {...}, "interior": {...}}: mIoU (%) and pixel accuracy (%) of ``model`` on the
    image pixels within ``band`` pixels of the border and on the others."""
    model.eval()
    k = model.num_classes
    near = border_band(images.shape[-2], images.shape[-1], band)
    confusion = {
        "band": torch.zeros(k, k, dtype=torch.long),
        "interior": torch.zeros(k, k, dtype=torch.long),
    }
    for start in range(0, images.shape[0], batch_size):
        pred = model(images[start : start + batch_size].float() / 255.0).argmax(1)
        truth = labels[start : start + batch_size]
        for region, where in (("band", near), ("interior", ~near)):
            pairs = truth[:, where] * k + pred[:, where]
            confusion[region] += torch.bincount(pairs.flatten(), minlength=k * k).view(k, k)
    scores = {}
    for region, matrix in confusion.items():
        miou, _ = mean_iou(matrix)
        scores[region] = {
            "miou": 100 * miou,
            "pixel_accuracy": 100 * float(matrix.diag().sum() / matrix.sum()),
            "pixels": int(matrix.sum()),
        }
    return scores


@contextmanager
def renormalised_inside(model):
    """Within the block, every upsampler that offers the what-if (``renormalise_inside``, CARAFE's)
    gives its padding weight back to the taps inside the map (renormalised); restored after."""
    modules = [m for m in model.neck.upsample_modules if hasattr(m, "renormalise_inside")]
    before = [m.renormalise_inside for m in modules]
    for m in modules:
        m.renormalise_inside = True
    try:
        yield model
    finally:
        for m, flag in zip(modules, before, strict=True):
            m.renormalise_inside = flag


def border_measures(model, images: torch.Tensor, labels: torch.Tensor) -> dict:
    """Everything above for one model: ``ring`` (kernel upsamplers, else None), ``band`` and
    ``interior`` scores, and for CARAFE models the same scores with the padding weight given
    back (``renormalised``)."""
    measures = {"ring": ring_statistics(model, images), **band_scores(model, images, labels)}
    if any(hasattr(m, "renormalise_inside") for m in model.neck.upsample_modules):
        with renormalised_inside(model):
            measures["renormalised"] = band_scores(model, images, labels)
    return measures
