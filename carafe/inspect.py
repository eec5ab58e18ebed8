"""Turn (model, image) into plain numpy arrays for display: what CARAFE computes, step by step.

``analyze(model, image)`` runs the segmentation model once and returns an :class:`Analysis`:
the segmentation plus, for every top-down FPN upsampling step, the input map, the model's own
output, every baseline upsampler applied to the same input, and (for CARAFE steps) the
compressed channels, encoder logits, kernel logits, kernels and kernel statistics.
``carafe.explain.explain_pixel`` recomputes one output value by hand from those arrays.

No Streamlit and no plotting here: the app only draws what this module returns.

Baselines (Compare page): nearest and bilinear have no parameters. Deconv and pixel shuffle are
learned; when the model's own step is of that kind its output is used, otherwise they get a
fixed, documented initialisation (see :data:`BASELINE_NOTES`).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from carafe.nn import UPSAMPLER_KINDS, CARAFEPack, build_upsampler

__all__ = [
    "BASELINE_NOTES",
    "Analysis",
    "CarafeDetails",
    "StepAnalysis",
    "agreement",
    "analyze",
    "baseline_outputs",
    "channel_energy",
    "kernel_statistics",
    "max_abs_difference",
    "pca_rgb",
    "rms_difference",
    "segment",
    "strongest_lean",
    "toy_step",
]

BASELINE_NOTES = {
    "carafe": "CARAFE: the model's own trained upsampler (content-aware kernels).",
    "nearest": "Nearest neighbour: copies each source pixel s×s times (no parameters).",
    "bilinear": "Bilinear interpolation, align_corners=False (no parameters).",
    "deconv": "Deconvolution (3×3, stride 2, as in mmdetection) initialised to the bilinear "
    "kernel [½, 1, ½]⊗[½, 1, ½] per channel: untrained, fixed weights.",
    "pixel_shuffle": "Pixel shuffle (3×3 conv to C·s² channels, then shuffle) with ICNR "
    "initialisation: every sub-pixel gets the same 3×3 binomial blur, so it "
    "starts as blur + nearest: untrained, fixed weights.",
}


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

    @property
    def output_shape(self) -> tuple[int, int]:
        return tuple(self.output.shape[-2:])


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


def _bilinear_deconv(channels: int) -> torch.nn.Module:
    deconv = build_upsampler("deconv", channels, 2)
    with torch.no_grad():
        deconv.weight.zero_()
        tap = torch.tensor([0.5, 1.0, 0.5])
        idx = torch.arange(channels)
        deconv.weight[idx, idx] = torch.outer(tap, tap)
        deconv.bias.zero_()
    return deconv


def _icnr_pixel_shuffle(channels: int, s: int) -> torch.nn.Module:
    ps = build_upsampler("pixel_shuffle", channels, s)
    conv = ps.upsample_conv
    with torch.no_grad():
        conv.weight.zero_()
        blur = torch.tensor([1.0, 2.0, 1.0])
        blur = torch.outer(blur, blur) / 16
        kk = conv.weight.shape[-1]
        pad = (kk - 3) // 2
        for c in range(channels):  # ICNR: the same sub-kernel for all s² sub-pixels of c
            conv.weight[c * s * s : (c + 1) * s * s, c, pad : pad + 3, pad : pad + 3] = blur
        conv.bias.zero_()
    return ps


@torch.no_grad()
def baseline_outputs(
    x: torch.Tensor, scale: int, own_kind: str | None = None, own_output: torch.Tensor | None = None
) -> dict[str, np.ndarray]:
    """Upsample ``x`` (1, C, h, w) by every non-CARAFE kind; see :data:`BASELINE_NOTES`.

    The model's own output is used for ``own_kind``. Every result is cropped to ``own_output``'s
    size when given (the FPN crops to the finer level).
    """
    c = x.shape[1]
    outs: dict[str, torch.Tensor] = {
        "nearest": F.interpolate(x, scale_factor=scale, mode="nearest"),
        "bilinear": F.interpolate(x, scale_factor=scale, mode="bilinear", align_corners=False),
    }
    if scale == 2:
        outs["deconv"] = _bilinear_deconv(c)(x)
    outs["pixel_shuffle"] = _icnr_pixel_shuffle(c, scale)(x)
    if own_kind is not None and own_output is not None and own_kind != "carafe":
        outs[own_kind] = own_output
    h, w = own_output.shape[-2:] if own_output is not None else outs["nearest"].shape[-2:]
    return {k: _np(v[0, :, :h, :w]) for k, v in outs.items() if k in UPSAMPLER_KINDS}


def channel_energy(maps: np.ndarray) -> np.ndarray:
    """Mean square value of every channel of a (C, H, W) map."""
    return (maps.astype(np.float64) ** 2).mean(axis=(1, 2))


def _energy_order(a: np.ndarray) -> np.ndarray:
    return np.argsort(-channel_energy(a), kind="stable")


def rms_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Root-mean-square difference of two equally shaped maps."""
    return float(np.sqrt(np.mean((a.astype(np.float64) - b) ** 2)))


def max_abs_difference(a, b) -> float:
    """Largest absolute difference (model value vs hand recomputation)."""
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


def agreement(seg_a: np.ndarray, seg_b: np.ndarray) -> float:
    """Fraction of pixels where two segmentations give the same class."""
    return float(np.mean(seg_a == seg_b))


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
    import time

    from carafe.ops import backend

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
    )


@torch.no_grad()
def segment(model, image: np.ndarray, threads: int | None = 1) -> np.ndarray | None:
    """Class index per pixel (H, W) or None when the model has no segmentation head."""
    if getattr(model, "head", None) is None:
        return None
    with _torch_threads(threads):
        logits = model(_image_tensor(image))  # cropped to the image by the model
    return logits.argmax(dim=1)[0].numpy().astype(np.int32)


def strongest_lean(step: StepAnalysis, group: int = 0, image_hw=None) -> tuple[int, int]:
    """The output pixel whose kernel leans furthest from its window centre (an edge pixel).

    ``image_hw`` limits the search to output pixels inside the (unpadded) image.
    """
    d = step.carafe
    if d is None:
        raise ValueError(f"step {step.index} uses {step.kind!r}, not CARAFE: no kernels")
    lean = np.hypot(d.com_dy[group], d.com_dx[group])
    if image_hw is not None:
        h = -(-int(image_hw[0]) // step.stride_out)
        w = -(-int(image_hw[1]) // step.stride_out)
        lean = lean[:h, :w]
    oy, ox = np.unravel_index(int(np.argmax(lean)), lean.shape)
    return int(oy), int(ox)


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


@torch.no_grad()
def toy_step(seed: int = 0) -> StepAnalysis:
    """A tiny CARAFE step where every number fits on screen.

    A 2-channel 6×6 map (channel 0: a vertical edge 0 | 1, channel 1: a diagonal ramp), a
    CARAFEPack(2, ×2, k_up=3, C_m=2) with seeded N(0, 0.5²) weights (not trained: large enough that
    the kernels differ from pixel to pixel), upsampled to 12×12.
    """
    gen = torch.Generator().manual_seed(seed)
    module = CARAFEPack(2, 2, up_kernel=3, encoder_kernel=3, compressed_channels=2)
    for p in module.parameters():
        p.copy_((torch.randn(p.shape, generator=gen) * 0.5).round(decimals=1))
    x = torch.zeros(1, 2, 6, 6)
    x[0, 0, :, 3:] = 1.0
    x[0, 1] = (torch.arange(6)[:, None] + torch.arange(6)[None, :]).float() / 10
    parts = module.forward_with_intermediates(x)
    inp = _np(x[0])
    outputs = baseline_outputs(x, 2, None, parts.output)
    outputs["carafe"] = _np(parts.output[0])
    return StepAnalysis(
        index=0,
        kind="carafe",
        scale=2,
        source_level=1,
        target_level=0,
        stride_in=2,
        stride_out=1,
        input=inp,
        output=outputs["carafe"],
        outputs=outputs,
        carafe=_carafe_details(module, parts, (12, 12)),
        channel_order=_energy_order(inp),
    )
