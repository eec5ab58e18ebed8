"""The whole network as records: what the loaded model is made of (backbone levels, lateral
convs, top-down upsampling steps, output convs, head). Plain records for the app; no Streamlit,
no drawing.

Everything is read from the model itself (its modules and one small probe run), never typed
in, so a converted or different checkpoint describes its own network.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from carafe.inspect.analysis import threads_for_call
from carafe.inspect.records import Analysis
from carafe.models.fpn import level_name

__all__ = [
    "BackboneLevel",
    "ConvSpec",
    "HeadRecord",
    "NetworkDiagram",
    "PyramidLevel",
    "StepRecord",
    "backbone_level_name",
    "network_diagram",
]


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

    @property
    def unused_levels(self) -> tuple[PyramidLevel, ...]:
        """The pyramid levels whose output (conv and map) feeds nothing: every level but the
        one the head reads. None are unused without a head (a detection neck hands every
        level on)."""
        if self.head is None:
            return ()
        return tuple(p for p in self.pyramid if p.level != self.head.level)


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
