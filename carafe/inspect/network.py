"""The whole network as records: what the loaded model is made of (backbone levels, lateral
convs, top-down upsampling steps, output convs, head) and one image point traced through every
top-down step. Plain records and sentences for the app; no Streamlit, no drawing.

Everything is read from the model itself (its modules and one small probe run), never typed
in, so a converted or different checkpoint describes its own network.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from carafe.inspect.analysis import threads_for_call
from carafe.inspect.pixel import KernelView, kernel_view
from carafe.inspect.records import Analysis, StepAnalysis
from carafe.inspect.sampling import SamplingView, sampling_at
from carafe.models.fpn import level_name

__all__ = [
    "BackboneLevel",
    "ConvSpec",
    "HeadRecord",
    "NetworkDiagram",
    "PyramidLevel",
    "StepRecord",
    "TracedKernel",
    "TracedSampling",
    "backbone_level_name",
    "map_to_image",
    "network_diagram",
    "sampling_caption",
    "trace_caption",
    "trace_kernels",
    "trace_sampling",
]

#: Entropies (nats) closer than this count as "about equally concentrated".
SAME_ENTROPY = 0.05
#: Kernel weight on zero padding below this is not worth a sentence.
PADDING_NOTE = 0.01


# --- the network ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConvSpec:
    """One convolution of the model, as its module says."""

    name: str  # attribute path in the model, e.g. "neck.lateral_convs.0.conv"
    in_channels: int
    out_channels: int
    kernel: int
    stride: int

    @property
    def label(self) -> str:
        """E.g. "1×1 conv 24→64" (", stride 2" when it strides)."""
        text = f"{self.kernel}×{self.kernel} conv {self.in_channels}→{self.out_channels}"
        return text + (f", stride {self.stride}" if self.stride > 1 else "")


@dataclass(frozen=True)
class BackboneLevel:
    """One feature map the backbone hands to the neck."""

    level: int  # 0 = finest
    name: str  # "C2", "C3", ...
    stride: int  # image pixels per map pixel, measured on the probe run
    channels: int


@dataclass(frozen=True)
class PyramidLevel:
    """One FPN level: its lateral conv, its output conv and its map for the current image."""

    level: int
    name: str  # "P2", ...
    stride: int
    channels: int
    lateral: ConvSpec | None  # None when the model has no lateral conv there
    reads: str  # what the lateral conv reads: a backbone level ("C5") or a pyramid level ("P6")
    output_conv: ConvSpec | None
    map_hw: tuple[int, int] | None  # size of this level's map for the analysed image


@dataclass(frozen=True)
class StepRecord:
    """One top-down upsampling step."""

    position: int  # position in Analysis.steps (the sidebar's step), coarsest first
    index: int  # position of its module in neck.upsample_modules
    name: str  # "P5→P4"
    label: str  # the neck's own name for it, "P5→P4 (stride 32→16)"
    kind: str  # upsampler kind
    module: str  # class name of the upsampling module
    settings: str  # the module's own description of its options
    parameters: int
    source_level: int
    target_level: int
    stride_in: int
    stride_out: int
    input_hw: tuple[int, int] | None  # map sizes for the analysed image
    output_hw: tuple[int, int] | None

    @property
    def scale(self) -> int:
        return self.stride_in // self.stride_out


@dataclass(frozen=True)
class HeadRecord:
    """The segmentation head: its layers, in order, and what it predicts."""

    level: int  # the pyramid level it reads (the finest)
    layers: tuple[str, ...]  # "3×3 conv 64→64", "BatchNorm", ...
    num_classes: int


@dataclass(frozen=True)
class NetworkDiagram:
    """Everything :func:`network_diagram` reads from a model (finest level first)."""

    backbone: str  # class name
    backbone_levels: tuple[BackboneLevel, ...]
    pyramid: tuple[PyramidLevel, ...]
    steps: tuple[StepRecord, ...]  # coarsest first, as applied
    head: HeadRecord | None
    image_hw: tuple[int, int] | None  # the analysed image
    padded_hw: tuple[int, int] | None  # what the model saw after padding


def backbone_level_name(level: int) -> str:
    """The backbone map feeding pyramid level ``level``: C2 for P2 and so on."""
    return "C" + level_name(level)[1:]


def _conv_spec(name: str, module: nn.Module | None) -> ConvSpec | None:
    """The first Conv2d in ``module`` (itself or a child such as mmcv's ``.conv``)."""
    if module is None:
        return None
    for sub_name, sub in module.named_modules():
        if isinstance(sub, nn.Conv2d):
            return ConvSpec(
                name=f"{name}.{sub_name}" if sub_name else name,
                in_channels=int(sub.in_channels),
                out_channels=int(sub.out_channels),
                kernel=int(sub.kernel_size[0]),
                stride=int(sub.stride[0]),
            )
    return None


def _layer_label(module: nn.Module) -> str | None:
    if isinstance(module, nn.Conv2d):
        return _conv_spec("", module).label
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return "BatchNorm"
    if isinstance(module, (nn.ReLU, nn.ReLU6, nn.GELU, nn.SiLU)):
        return type(module).__name__
    return None


def _head_record(model) -> HeadRecord | None:
    head = getattr(model, "head", None)
    if head is None:
        return None
    leaves = [m for m in head.modules() if not list(m.children())]  # in registration order
    layers = tuple(label for m in leaves if (label := _layer_label(m)) is not None)
    return HeadRecord(level=0, layers=layers, num_classes=int(getattr(model, "num_classes", 0)))


def _indexed(modules, i: int) -> nn.Module | None:
    return modules[i] if modules is not None and i < len(modules) else None


def _probe_side(model) -> int:
    """A square probe image every stride divides: two blocks of the model's padding multiple."""
    return 2 * int(getattr(model, "size_divisor", 32))


def _level_sizes(analysis: Analysis | None) -> dict[int, tuple[int, int]]:
    """Map size of every pyramid level for the analysed image, read off its steps."""
    sizes: dict[int, tuple[int, int]] = {}
    for step in analysis.steps if analysis is not None else ():
        sizes[step.source_level] = tuple(int(v) for v in step.input.shape[-2:])
        sizes[step.target_level] = tuple(int(v) for v in step.output.shape[-2:])
    return sizes


@torch.no_grad()
def network_diagram(model, analysis: Analysis | None = None) -> NetworkDiagram:
    """Read the network's structure from ``model``; map sizes from ``analysis`` when given.

    Strides and channels are what one small probe run (a black square, a couple of padding
    blocks wide) actually produces, so a model that declares none (or declares them wrongly)
    is still described as it computes. Convs come from ``neck.lateral_convs``,
    ``neck.fpn_convs`` and ``head`` when the model has them; the steps' names from
    ``neck.step_names()`` when it has that. ``analysis`` must come from the same model.
    """
    side = _probe_side(model)
    with threads_for_call(1):
        probe = model.forward_with_intermediates(torch.zeros(1, 3, side, side))
    backbone_levels = tuple(
        BackboneLevel(
            level=i,
            name=backbone_level_name(i),
            stride=side // int(m.shape[-1]),
            channels=int(m.shape[1]),
        )
        for i, m in enumerate(probe.levels)
    )
    neck = model.neck
    if analysis is not None and [(s.source_level, s.target_level) for s in analysis.steps] != [
        (s.source_level, s.target_level) for s in probe.steps
    ]:
        raise ValueError("the analysis has other steps than this model: another model's?")
    labels = neck.step_names() if hasattr(neck, "step_names") else None
    sizes = _level_sizes(analysis)
    steps = []
    for pos, rec in enumerate(probe.steps):
        name = f"{level_name(rec.source_level)}→{level_name(rec.target_level)}"
        steps.append(
            StepRecord(
                position=pos,
                index=int(rec.index),
                name=name,
                label=labels[pos]
                if labels
                else f"{name} (stride {rec.stride_in}→{rec.stride_out})",
                kind=rec.kind,
                module=type(rec.module).__name__,
                settings=rec.module.extra_repr(),
                parameters=int(sum(p.numel() for p in rec.module.parameters())),
                source_level=int(rec.source_level),
                target_level=int(rec.target_level),
                stride_in=int(rec.stride_in),
                stride_out=int(rec.stride_out),
                input_hw=sizes.get(int(rec.source_level)),
                output_hw=sizes.get(int(rec.target_level)),
            )
        )
    # pyramid levels: every level a step touches, finest first
    strides = {s.source_level: s.stride_in for s in steps} | {
        s.target_level: s.stride_out for s in steps
    }
    channels = {int(r.source_level): int(r.input.shape[1]) for r in probe.steps} | {
        int(r.target_level): int(r.output.shape[1]) for r in probe.steps
    }
    laterals = getattr(neck, "lateral_convs", None)
    fpn_convs = getattr(neck, "fpn_convs", None)
    n_in = len(backbone_levels)
    pyramid = tuple(
        PyramidLevel(
            level=lvl,
            name=level_name(lvl),
            stride=int(strides[lvl]),
            channels=channels[lvl],
            lateral=_conv_spec(f"neck.lateral_convs.{lvl}", _indexed(laterals, lvl)),
            # FPN's extra levels read the last backbone map, then the previous extra level
            reads=backbone_level_name(min(lvl, n_in - 1)) if lvl <= n_in else level_name(lvl - 1),
            output_conv=_conv_spec(f"neck.fpn_convs.{lvl}", _indexed(fpn_convs, lvl)),
            map_hw=sizes.get(lvl),
        )
        for lvl in sorted(strides)
    )
    image_hw = padded_hw = None
    if analysis is not None:
        image_hw = tuple(int(v) for v in analysis.image.shape[:2])
        m = int(analysis.pad_multiple)
        padded_hw = tuple(-(-v // m) * m for v in image_hw)
    return NetworkDiagram(
        backbone=type(getattr(model, "backbone", model)).__name__,
        backbone_levels=backbone_levels,
        pyramid=pyramid,
        steps=tuple(steps),
        head=_head_record(model),
        image_hw=image_hw,
        padded_hw=padded_hw,
    )


# --- one image point through every step -------------------------------------------------------
def _clip_point(step: StepAnalysis, iy: int, ix: int) -> tuple[int, int]:
    h, w = step.image_hw
    return int(np.clip(iy, 0, h - 1)), int(np.clip(ix, 0, w - 1))


def _output_pixel(step: StepAnalysis, iy: int, ix: int) -> tuple[int, int]:
    """The output pixel of ``step`` under image pixel (iy, ix), kept inside the visible map."""
    oy, ox = step.geometry.output_pixel_at(iy, ix)
    oh, ow = step.visible_output_hw()
    return min(oy, oh - 1), min(ox, ow - 1)


@dataclass(frozen=True)
class TracedKernel:
    """One CARAFE step's kernel at the output pixel under an image point."""

    position: int  # in Analysis.steps
    name: str  # "P5→P4"
    stride_in: int
    stride_out: int
    point: tuple[int, int]  # the image pixel (row, col), inside the image
    view: KernelView  # output pixel, source pixel, kernel, entropy, peak, padding weight
    window_px: int  # side of the k×k window in image pixels: k · stride_in
    spread_px: float  # kernel-weighted mean distance of its taps from the window centre, image px
    max_entropy: float  # log(k²): a uniform kernel's entropy

    @property
    def pixel(self) -> tuple[int, int]:
        return self.view.y, self.view.x


def trace_kernels(analysis: Analysis, iy: int, ix: int, group: int = 0) -> list[TracedKernel]:
    """For image pixel (iy, ix) (clipped into the image): at every CARAFE step, the output
    pixel that covers it and that pixel's group-``group`` kernel (coarsest step first).

    Steps of other kinds are left out (they predict no kernel).
    """
    out = []
    for pos, step in enumerate(analysis.steps):
        if step.carafe is None:
            continue
        py, px = _clip_point(step, iy, ix)
        view = kernel_view(step, *_output_pixel(step, py, px), group)
        k = view.kernel.shape[0]
        r = (k - 1) // 2
        dy, dx = np.mgrid[-r : r + 1, -r : r + 1]
        distance = np.hypot(dy, dx) * step.stride_in  # taps are stride_in image pixels apart
        out.append(
            TracedKernel(
                position=pos,
                name=step.levels,
                stride_in=step.stride_in,
                stride_out=step.stride_out,
                point=(py, px),
                view=view,
                window_px=k * step.stride_in,
                spread_px=float((view.kernel * distance).sum() / view.kernel.sum()),
                max_entropy=float(np.log(k * k)),
            )
        )
    return out


def _listing(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def trace_caption(traced: list[TracedKernel]) -> str:
    """A few sentences comparing the traced kernels, every number read from ``traced``: how
    far each window reaches on the image, which kernel is most concentrated, how far each
    reads on average and (when it matters) how much weight lands on zero padding."""
    if not traced:
        return "This model has no CARAFE step, so there are no kernels to compare."
    k = traced[0].view.kernel.shape[0]
    reach = _listing(
        [f"{t.name} {t.window_px}×{t.window_px} (stride {t.stride_in})" for t in traced]
    )
    parts = [f"The {k}×{k} windows cover {reach} image pixels"]
    widest = max(traced, key=lambda t: t.window_px)
    narrowest = min(traced, key=lambda t: t.window_px)
    if widest.window_px > narrowest.window_px:
        ratio = widest.window_px / narrowest.window_px
        parts[0] += (
            f": the same taps reach {ratio:g}× further at {widest.name} than at {narrowest.name}, "
            "because each tap there is a coarser map pixel."
        )
    else:
        parts[0] += "."
    entropies = [t.view.entropy for t in traced]
    if len(traced) > 1 and max(entropies) - min(entropies) < SAME_ENTROPY:
        parts.append(
            f"The kernels are about equally concentrated (entropy {min(entropies):.2f}–"
            f"{max(entropies):.2f} nats, uniform would be {traced[0].max_entropy:.2f})."
        )
    elif len(traced) > 1:
        sharp = min(traced, key=lambda t: t.view.entropy)
        flat = max(traced, key=lambda t: t.view.entropy)
        parts.append(
            f"{sharp.name}'s kernel is the most concentrated (entropy {sharp.view.entropy:.2f} "
            f"nats, peak {sharp.view.peak:.2f}); {flat.name}'s the most spread (entropy "
            f"{flat.view.entropy:.2f} of at most {flat.max_entropy:.2f}, peak {flat.view.peak:.2f})."
        )
    else:
        t = traced[0]
        parts.append(
            f"Its entropy is {t.view.entropy:.2f} nats (uniform would be {t.max_entropy:.2f}), "
            f"peak {t.view.peak:.2f}."
        )
    parts.append(
        "Weighted by its kernel, the point reads on average "
        + _listing([f"{t.spread_px:.0f} image px away at {t.name}" for t in traced])
        + "."
    )
    padded = [t for t in traced if t.view.padding_weight >= PADDING_NOTE]
    if padded:
        parts.append(
            "Weight on zero padding (the window passes the image border): "
            + _listing([f"{t.view.padding_weight:.1%} at {t.name}" for t in padded])
            + "."
        )
    return " ".join(parts)


# --- DySample: where the same point samples ----------------------------------------------------
def map_to_image(u, stride: int):
    """A continuous map coordinate (pixel centres at integers) in image pixels (centres at
    integers too): map pixel i spans image pixels [i·stride, (i+1)·stride)."""
    return (np.asarray(u, np.float64) + 0.5) * stride - 0.5


@dataclass(frozen=True)
class TracedSampling:
    """One DySample step's sampling points at the output pixel under an image point."""

    position: int
    name: str
    stride_in: int
    stride_out: int
    point: tuple[int, int]  # the image pixel (row, col)
    pixel: tuple[int, int]  # the output pixel under it
    output_box: tuple[int, int, int, int]  # image pixels [y0, y1) × [x0, x1) of that pixel
    view: SamplingView  # source pixel, start, points (x, y) and offsets in input-map pixels
    start_px: tuple[float, float]  # (x, y) of the start in image pixels
    points_px: np.ndarray  # (G, 2) the points (x, y) in image pixels
    offsets_px: np.ndarray  # (G, 2) each point's move (dx, dy) in image pixels

    @property
    def mean_move_px(self) -> float:
        """How far the points moved from the start on average, in image pixels."""
        return float(np.hypot(*self.offsets_px.T).mean())


def trace_sampling(
    analysis: Analysis, points: list[np.ndarray | None], iy: int, ix: int
) -> list[TracedSampling]:
    """For image pixel (iy, ix): at every step with DySample points (one entry of
    :func:`carafe.inspect.sampling.dysample_points` per step of a model with ``analysis``'s
    geometry), where the output pixel under it samples, in map and image pixels."""
    if len(points) != len(analysis.steps):
        raise ValueError(f"{len(points)} point arrays for {len(analysis.steps)} steps")
    out = []
    for pos, (step, pts) in enumerate(zip(analysis.steps, points, strict=True)):
        if pts is None:
            continue
        if pts.shape[1:3] != step.output_shape:
            raise ValueError(
                f"points of {pts.shape[1]}×{pts.shape[2]} for the {step.levels} step's "
                f"{step.output_shape[0]}×{step.output_shape[1]} map: another image?"
            )
        py, px = _clip_point(step, iy, ix)
        oy, ox = _output_pixel(step, py, px)
        view = sampling_at(pts, step, oy, ox)
        si = step.stride_in
        out.append(
            TracedSampling(
                position=pos,
                name=step.levels,
                stride_in=si,
                stride_out=step.stride_out,
                point=(py, px),
                pixel=(oy, ox),
                output_box=step.geometry.output_box(oy, ox),
                view=view,
                start_px=tuple(float(v) for v in map_to_image(view.start, si)),
                points_px=map_to_image(view.points, si),
                offsets_px=np.asarray(view.offsets, np.float64) * si,
            )
        )
    return out


def sampling_caption(traced: list[TracedSampling]) -> str:
    """How far the sampling points moved at each step, in input-map and image pixels, and at
    which step they moved furthest on the image, every number read from ``traced``."""
    if not traced:
        return "This model has no DySample step, so there are no sampling points to compare."
    moves = [
        f"{np.hypot(*t.view.offsets.T).mean():.2f} map px = {t.mean_move_px:.1f} image px "
        f"at {t.name}"
        for t in traced
    ]
    text = (
        "On average the points moved from where bilinear interpolation samples by "
        + _listing(moves)
        + "."
    )
    if len(traced) > 1:
        far = max(traced, key=lambda t: t.mean_move_px)
        near = min(traced, key=lambda t: t.mean_move_px)
        if far.mean_move_px - near.mean_move_px < 0.5:  # under half an image pixel apart
            text += " On the image they move about equally far at every step."
        else:
            text += (
                f" On the image they move furthest at {far.name} and least at {near.name}: "
                "one map pixel there spans more image pixels."
                if far.stride_in > near.stride_in
                else f" On the image they move furthest at {far.name} and least at {near.name}."
            )
    return text
