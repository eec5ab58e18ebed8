"""Turn (model, image) into plain numpy arrays for display: what CARAFE computes, step by step.

``analyze(model, image)`` runs the segmentation model once and returns an
:class:`~carafe.inspect.records.Analysis`: the segmentation plus, for every top-down FPN
upsampling step, the input map, the model's own output, every baseline upsampler applied to the
same input, and, from the same pass, each step's kernels and kernel statistics (any kernel
upsampler: CARAFE with its compressed channels and encoder logits, FADE with its gate, SAPA), or
its sampling points (a point sampler such as DySample), and the guide a guided kind read. :func:`carafe.inspect.explain.explain_pixel` recomputes one
output value by hand from those arrays.

No Streamlit and no plotting here: the app only draws what this module returns.

Baselines (Compare page): nearest and bilinear have no parameters. Deconv and pixel shuffle are
learned; when the model's own step is of that kind its output is used, otherwise they get a
fixed, documented initialisation (:func:`carafe.nn.build_baseline`,
:func:`carafe.inspect.catalog.baseline_note`).
"""

from __future__ import annotations

import contextlib
import time

import numpy as np
import torch

from carafe.inspect.records import Analysis, KernelDetails, StepAnalysis
from carafe.nn import SUBJECT_KIND, UPSAMPLERS, build_baseline
from carafe.ops import backend
from carafe.ops.geometry import kernel_lean
from carafe.tools.timing import torch_threads

__all__ = [
    "analyze",
    "baseline_outputs",
    "carafe_details",
    "kernel_details",
    "channel_energy",
    "energy_order",
    "image_tensor",
    "kernel_statistics",
    "segment",
    "threads_for_call",
    "to_numpy",
]


def threads_for_call(n: int | None):
    """torch intra-op threads for a block (restored afterwards); None keeps the setting."""
    return contextlib.nullcontext() if n is None else torch_threads(n)


def to_numpy(t: torch.Tensor) -> np.ndarray:
    """A tensor as a contiguous float32 numpy array (detached, on the CPU)."""
    return np.ascontiguousarray(t.detach().to(torch.float32).cpu().numpy())


def kernel_statistics(kernels: np.ndarray, k: int, groups: int):
    """Entropy, peak weight and centre-of-mass offset of every kernel.

    kernels: (G·k², H, W) normalised over the k² taps. Returns four (G, H, W) arrays: entropy in
    nats (0 = one tap takes everything, log k² = uniform), peak weight, and the centre-of-mass
    offset (dy, dx) from the window centre in input pixels (positive = down / right).
    """
    p = kernels.reshape(groups, k, k, *kernels.shape[1:]).astype(np.float64)
    entropy = -(p * np.log(np.clip(p, 1e-12, None))).sum(axis=(1, 2))
    peak = p.max(axis=(1, 2))
    com_dy, com_dx = np.moveaxis(kernel_lean(np.moveaxis(p, (1, 2), (-2, -1))), -1, 0)
    return tuple(a.astype(np.float32) for a in (entropy, peak, com_dy, com_dx))


@torch.no_grad()
def baseline_outputs(
    x: torch.Tensor, scale: int, own_kind: str | None = None, own_output: torch.Tensor | None = None
) -> dict[str, np.ndarray]:
    """Upsample ``x`` (1, C, h, w) by every kind with an untrained baseline
    (:func:`carafe.nn.build_baseline`; see :func:`baseline_note`).

    The model's own output is used for ``own_kind``. Every result is cropped to ``own_output``'s
    size when given (the FPN crops to the finer level).
    """
    c = x.shape[1]
    outs: dict[str, torch.Tensor] = {}
    for kind, entry in UPSAMPLERS.items():
        if entry.baseline is None or kind == own_kind:
            continue
        try:
            outs[kind] = build_baseline(kind, c, scale)(x)
        except ValueError:  # e.g. deconv exists for s = 2 only
            continue
    if own_kind is not None and own_output is not None and own_kind != SUBJECT_KIND:
        outs[own_kind] = own_output
    h, w = (
        own_output.shape[-2:]
        if own_output is not None
        else (x.shape[-2] * scale, x.shape[-1] * scale)
    )
    return {k: to_numpy(v[0, :, :h, :w]) for k, v in outs.items()}


def channel_energy(maps: np.ndarray) -> np.ndarray:
    """Mean square value of every channel of a (C, H, W) map."""
    return (maps.astype(np.float64) ** 2).mean(axis=(1, 2))


def energy_order(a: np.ndarray) -> np.ndarray:
    """Channel indices of a (C, H, W) map, highest energy first (ties keep their order)."""
    return np.argsort(-channel_energy(a), kind="stable")


def kernel_details(kind: str, module, parts, crop_hw) -> KernelDetails:
    """A kernel upsampler's intermediates for one image as numpy records, cropped to ``crop_hw``.

    ``parts`` is what ``module.forward_with_intermediates`` returned in the model's own pass. The
    generic fields come from ``parts.kernels`` / ``kernel_logits`` / ``output``; CARAFE's
    compressor and encoder, and FADE's gate, are kept when the parts and module have them.
    """
    k, g = module.up_kernel, module.up_group
    oh, ow = int(crop_hw[0]), int(crop_hw[1])
    kernels = to_numpy(parts.kernels[0, :, :oh, :ow])
    stats = kernel_statistics(kernels, k, g)
    details = KernelDetails(
        kind=kind,
        up_kernel=k,
        up_group=g,
        kernel_logits=to_numpy(parts.kernel_logits[0, :, :oh, :ow]),
        kernels=kernels,
        op_output=to_numpy(parts.output[0]),
        entropy=stats[0],
        peak=stats[1],
        com_dy=stats[2],
        com_dx=stats[3],
    )
    if getattr(parts, "compressed", None) is not None:  # CARAFE's kernel prediction
        compressed = to_numpy(parts.compressed[0])
        details.encoder_kernel = module.encoder_kernel
        details.encoder_dilation = module.encoder_dilation
        details.compressed = compressed
        details.encoder_logits = to_numpy(parts.encoder_logits[0])
        details.compressor_weight = to_numpy(module.channel_compressor.weight[:, :, 0, 0])
        details.compressor_bias = to_numpy(module.channel_compressor.bias)
        details.encoder_weight = to_numpy(module.content_encoder.weight)
        details.encoder_bias = to_numpy(module.content_encoder.bias)
        details.compressed_order = energy_order(compressed)
    if getattr(parts, "gate", None) is not None:
        details.gate = to_numpy(parts.gate[0, :, :oh, :ow])
    return details


def carafe_details(module, parts, crop_hw) -> KernelDetails:
    """:func:`kernel_details` of a CARAFEPack step."""
    return kernel_details(SUBJECT_KIND, module, parts, crop_hw)


def image_tensor(image: np.ndarray) -> torch.Tensor:
    """An H×W×3 uint8 image as a (1, 3, H, W) float tensor in [0, 1] (checked, copied)."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be an H×W×3 uint8 array, got {image.dtype} {image.shape}")
    return (
        torch.from_numpy(np.array(image, dtype=np.uint8, copy=True)).permute(2, 0, 1)[None].float()
        / 255.0
    )


def analyze(model, image: np.ndarray, baselines: bool = True, threads: int | None = 1) -> Analysis:
    """Run ``model`` on ``image`` (H×W×3 uint8) and return everything the app shows.

    ``model`` is a :class:`carafe.models.SegmentationModel` (or anything with the same
    ``forward_with_intermediates`` / ``neck.upsample_modules`` interface). ``threads``: torch
    intra-op threads for this call (restored afterwards; None keeps the current setting). One
    thread is the default because the small shipped model is fastest single-threaded on a
    2-core CPU (0.15 s vs 0.3 s for 512×512, and 10× slower with two threads when the cores
    are busy), and concurrent app sessions then do not fight over the cores.
    """
    with threads_for_call(threads):
        return _analyze(model, image, baselines)


@torch.no_grad()
def _analyze(model, image: np.ndarray, baselines: bool) -> Analysis:
    start = time.perf_counter()
    x = image_tensor(image)
    result = model.forward_with_intermediates(x)
    segmentation = confidence = None
    if result.logits is not None:  # the model crops its logits to the image
        prob, seg = result.logits.softmax(dim=1).max(dim=1)
        segmentation, confidence = seg[0].numpy().astype(np.int32), to_numpy(prob[0])
    steps = []
    for rec in result.steps:
        scale = rec.scale
        inp, out = rec.input, rec.output
        entry = UPSAMPLERS[rec.kind]
        details = points = guide = None
        if rec.details is not None and entry.family == "kernels":
            details = kernel_details(rec.kind, rec.module, rec.details, out.shape[-2:])
        if rec.details is not None and entry.family == "points":
            oh, ow = out.shape[-2:]
            points = rec.details.positions[0, :, :oh, :ow].numpy().astype(np.float32)
        if rec.guide is not None:
            guide = to_numpy(rec.guide[0])
        outputs = baseline_outputs(inp, scale, rec.kind, out) if baselines else {}
        outputs[rec.kind] = to_numpy(out[0])
        inp_np = to_numpy(inp[0])
        steps.append(
            StepAnalysis(
                index=int(rec.index),
                kind=rec.kind,
                scale=scale,
                source_level=int(rec.source_level),
                target_level=int(rec.target_level),
                stride_in=int(rec.stride_in),
                stride_out=int(rec.stride_out),
                input=inp_np,
                output=outputs[rec.kind],
                outputs=outputs,
                details=details,
                points=points,
                guide=guide,
                channel_order=energy_order(inp_np),
                image_hw=(int(image.shape[0]), int(image.shape[1])),
            )
        )
    return Analysis(
        image=image,
        segmentation=segmentation,
        confidence=confidence,
        class_names=list(getattr(model, "class_names", []) or []),
        steps=steps,
        backend=backend(),
        seconds=time.perf_counter() - start,
        pad_multiple=int(getattr(model, "size_divisor", 1)),
    )


@torch.no_grad()
def segment(model, image: np.ndarray, threads: int | None = 1) -> np.ndarray | None:
    """Class index per pixel (H, W) or None when the model has no segmentation head."""
    if getattr(model, "head", None) is None:
        return None
    with threads_for_call(threads):
        logits = model(image_tensor(image))  # cropped to the image by the model
    return logits.argmax(dim=1)[0].numpy().astype(np.int32)
