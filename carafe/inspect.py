"""Turn (model, image) into plain numpy arrays for display: what CARAFE computes, step by step.

``analyze(model, image)`` runs the segmentation model once and returns an :class:`Analysis`:
the segmentation plus, for every top-down FPN upsampling step, the input map, the model's own
output, every baseline upsampler applied to the same input, and (for CARAFE steps) the
compressed channels, encoder logits, kernel logits, kernels and kernel statistics.
``carafe.explain.explain_pixel`` recomputes one output value by hand from those arrays.

No Streamlit and no plotting here: the app only draws what this module returns.

Baselines (Compare page): nearest and bilinear have no parameters. Deconv and pixel shuffle are
learned; when the model's own step is of that kind its output is used, otherwise they get a
fixed, documented initialisation (:func:`carafe.nn.build_baseline`, :func:`baseline_note`).
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch

from carafe import sandbox
from carafe.catalog import (
    METRICS_FILE,
    PAPER_CARAFE,
    RANDOM_INIT,
    MetricsView,
    ModelCost,
    Table,
    benchmark_table,
    cost_table,
    display_name,
    load_metrics,
    load_model,
    metrics_view,
    model_cost,
    model_names,
    paper_check,
    twin_names,
)
from carafe.geometry import Geometry
from carafe.kernel_compare import compare_pixel
from carafe.nn import UPSAMPLER_KINDS, UPSAMPLERS, CARAFEPack, build_baseline
from carafe.pixel import KernelView, kernel_view, padding_weight_map, start_pixel
from carafe.sampling import SamplingView, dysample_positions, sampling_view
from carafe.summaries import agreement, max_abs_difference, pca_rgb, rms_difference

__all__ = [
    "METRICS_FILE",
    "PAPER_CARAFE",
    "RANDOM_INIT",
    "UPSAMPLER_KINDS",
    "Analysis",
    "SamplingView",
    "CarafeDetails",
    "KernelView",
    "MetricsView",
    "ModelCost",
    "StepAnalysis",
    "Table",
    "agreement",
    "analyze",
    "baseline_note",
    "baseline_outputs",
    "benchmark_table",
    "channel_energy",
    "compare_pixel",
    "cost_table",
    "dysample_points",
    "display_name",
    "kernel_statistics",
    "kernel_view",
    "load_metrics",
    "load_model",
    "max_abs_difference",
    "metrics_view",
    "model_cost",
    "model_names",
    "operator_backend",
    "padding_weight_map",
    "paper_check",
    "pca_rgb",
    "rms_difference",
    "sandbox",
    "sampling_at",
    "segment",
    "start_pixel",
    "toy_step",
    "twin_names",
]


def baseline_note(kind: str) -> str:
    """What the Compare page's ``kind`` panel shows (trained, or a fixed initialisation)."""
    return UPSAMPLERS[kind].baseline_note


def operator_backend() -> str:
    """The CARAFE op's backend ("cpp", "cuda+cpp" or "reference (why)")."""
    from carafe.ops import backend

    return backend()


@dataclass
class CarafeDetails:
    """Everything one CARAFEPack computed for one image (batch dimension dropped)."""

    up_kernel: int
    up_group: int
    encoder_kernel: int
    encoder_dilation: int
    compressed: np.ndarray  # (Cm, h, w) channel-compressor output
    encoder_logits: np.ndarray  # (G·k²·s², h, w) raw content-encoder output
    kernel_logits: np.ndarray  # (G·k², sh, sw) after pixel shuffle, before softmax
    kernels: np.ndarray  # (G·k², sh, sw) after softmax (the reassembly kernels)
    op_output: np.ndarray  # (C, sh, sw) the op's output, before the FPN crop
    entropy: np.ndarray  # (G, sh, sw) in nats; log(k²) = uniform kernel
    peak: np.ndarray  # (G, sh, sw) largest tap weight
    com_dy: np.ndarray  # (G, sh, sw) centre of mass offset, in input pixels
    com_dx: np.ndarray
    compressor_weight: np.ndarray  # (Cm, C)
    compressor_bias: np.ndarray  # (Cm,)
    encoder_weight: np.ndarray  # (G·k²·s², Cm, k_enc, k_enc)
    encoder_bias: np.ndarray
    compressed_order: np.ndarray  # channel indices of `compressed`, highest energy first


@dataclass
class StepAnalysis:
    """One ×s upsampling step of the FPN top-down path."""

    index: int
    kind: str
    scale: int
    source_level: int
    target_level: int
    stride_in: int  # image pixels per input-map pixel
    stride_out: int  # image pixels per output-map pixel
    input: np.ndarray  # (C, h, w)
    output: np.ndarray  # (C, sh', sw') the model's output (cropped to the finer level)
    outputs: dict[str, np.ndarray] = field(default_factory=dict)  # every kind, same input
    carafe: CarafeDetails | None = None
    channel_order: np.ndarray | None = None  # input channels, highest energy first
    image_hw: tuple[int, int] | None = None  # the real image; maps beyond it are padding

    @property
    def output_shape(self) -> tuple[int, int]:
        return tuple(self.output.shape[-2:])

    @property
    def geometry(self) -> Geometry:
        """This step's :class:`carafe.geometry.Geometry` (k = 1, G = 1 without CARAFE)."""
        c, h, w = self.input.shape
        d = self.carafe
        return Geometry(
            k=d.up_kernel if d else 1,
            G=d.up_group if d else 1,
            s=self.scale,
            C=c,
            H=h,
            W=w,
            stride_in=self.stride_in,
            stride_out=self.stride_out,
            image_hw=self.image_hw,
        )

    def visible_output_hw(self) -> tuple[int, int]:
        """Rows/columns of the (cropped) output map that cover the real image."""
        return self.geometry.visible_output_hw(self.output_shape)


@dataclass
class Analysis:
    """Result of :func:`analyze`: plain arrays only (picklable, cacheable)."""

    image: np.ndarray  # (H, W, 3) uint8, what the model saw
    segmentation: np.ndarray | None  # (H, W) int class index, None without a head
    confidence: np.ndarray | None  # (H, W) softmax probability of that class
    class_names: list[str]
    steps: list[StepAnalysis]  # coarsest first, as applied
    backend: str
    seconds: float = 0.0
    pad_multiple: int = 1  # the model zero-pads the image to a multiple of this (its strides[-1])


def _np(t: torch.Tensor) -> np.ndarray:
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
    offsets = np.arange(k, dtype=np.float64) - (k - 1) / 2
    com_dy = (p.sum(axis=2) * offsets[None, :, None, None]).sum(axis=1)
    com_dx = (p.sum(axis=1) * offsets[None, :, None, None]).sum(axis=1)
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
    if own_kind is not None and own_output is not None and own_kind != "carafe":
        outs[own_kind] = own_output
    h, w = (
        own_output.shape[-2:]
        if own_output is not None
        else (x.shape[-2] * scale, x.shape[-1] * scale)
    )
    return {k: _np(v[0, :, :h, :w]) for k, v in outs.items()}


def channel_energy(maps: np.ndarray) -> np.ndarray:
    """Mean square value of every channel of a (C, H, W) map."""
    return (maps.astype(np.float64) ** 2).mean(axis=(1, 2))


def _energy_order(a: np.ndarray) -> np.ndarray:
    return np.argsort(-channel_energy(a), kind="stable")


def _carafe_details(module: CARAFEPack, parts, crop_hw) -> CarafeDetails:
    k, g = module.up_kernel, module.up_group
    oh, ow = int(crop_hw[0]), int(crop_hw[1])
    kernels = _np(parts.kernels[0, :, :oh, :ow])
    stats = kernel_statistics(kernels, k, g)
    compressed = _np(parts.compressed[0])
    return CarafeDetails(
        up_kernel=k,
        up_group=g,
        encoder_kernel=module.encoder_kernel,
        encoder_dilation=module.encoder_dilation,
        compressed=compressed,
        encoder_logits=_np(parts.encoder_logits[0]),
        kernel_logits=_np(parts.kernel_logits[0, :, :oh, :ow]),
        kernels=kernels,
        op_output=_np(parts.output[0]),
        entropy=stats[0],
        peak=stats[1],
        com_dy=stats[2],
        com_dx=stats[3],
        compressor_weight=_np(module.channel_compressor.weight[:, :, 0, 0]),
        compressor_bias=_np(module.channel_compressor.bias),
        encoder_weight=_np(module.content_encoder.weight),
        encoder_bias=_np(module.content_encoder.bias),
        compressed_order=_energy_order(compressed),
    )


def _image_tensor(image: np.ndarray) -> torch.Tensor:
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
    with _torch_threads(threads):
        return _analyze(model, image, baselines)


@contextmanager
def _torch_threads(n: int | None):
    previous = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@torch.no_grad()
def _analyze(model, image: np.ndarray, baselines: bool) -> Analysis:
    start = time.perf_counter()
    x = _image_tensor(image)
    result = model.forward_with_intermediates(x)
    segmentation = confidence = None
    if result.logits is not None:  # the model crops its logits to the image
        prob, seg = result.logits.softmax(dim=1).max(dim=1)
        segmentation, confidence = seg[0].numpy().astype(np.int32), _np(prob[0])
    steps = []
    for rec in result.steps:
        scale = int(getattr(rec.module, "scale_factor", 2))
        inp, out = rec.input, rec.output
        details = None
        if rec.carafe is not None:
            details = _carafe_details(rec.module, rec.carafe, out.shape[-2:])
        outputs = baseline_outputs(inp, scale, rec.kind, out) if baselines else {}
        outputs[rec.kind] = _np(out[0])
        inp_np = _np(inp[0])
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
                carafe=details,
                channel_order=_energy_order(inp_np),
                image_hw=(int(image.shape[0]), int(image.shape[1])),
            )
        )
    return Analysis(
        image=image,
        segmentation=segmentation,
        confidence=confidence,
        class_names=list(getattr(model, "class_names", []) or []),
        steps=steps,
        backend=operator_backend(),
        seconds=time.perf_counter() - start,
        pad_multiple=int(getattr(model, "size_divisor", 1)),
    )


@torch.no_grad()
def segment(model, image: np.ndarray, threads: int | None = 1) -> np.ndarray | None:
    """Class index per pixel (H, W) or None when the model has no segmentation head."""
    if getattr(model, "head", None) is None:
        return None
    with _torch_threads(threads):
        logits = model(_image_tensor(image))  # cropped to the image by the model
    return logits.argmax(dim=1)[0].numpy().astype(np.int32)


def dysample_points(model, image: np.ndarray, threads: int | None = 1) -> list:
    """Where a DySample model samples, per FPN step (coarsest first; None for other kinds):
    (G, h', w', 2) points as (x, y) in input-map pixels (see :mod:`carafe.sampling`)."""
    _image_tensor(image)  # same checks as analyze
    with _torch_threads(threads):
        return dysample_positions(model, np.array(image, copy=True))  # writable for torch


def sampling_at(positions: np.ndarray, step: StepAnalysis, y: int, x: int) -> SamplingView:
    """DySample's sampling of output pixel (y, x), written on the k×k window that ``step``'s
    CARAFE kernel covers (same source pixel, same k), so the two can be drawn side by side.

    ``positions``: one entry of :func:`dysample_points` for a model with ``step``'s geometry.
    """
    geo = step.geometry
    return sampling_view(
        positions,
        (geo.H, geo.W),
        int(y),
        int(x),
        scale=geo.s,
        k=geo.k,
        visible_input_hw=geo.visible_input_hw(),
    )


def toy_step(trained_like: bool = True, seed: int = 0) -> StepAnalysis:
    """The 6×6 toy of the How it works page (see :mod:`carafe.toy`)."""
    from carafe.toy import make_toy_step

    return make_toy_step(trained_like=trained_like, seed=seed)
