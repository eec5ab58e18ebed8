"""The records the display layer passes around: what one model computed for one image, as plain
numpy arrays (picklable, cacheable). Every module of :mod:`carafe.inspect` reads these; this
module imports none of its siblings."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from carafe.models.fpn import level_name
from carafe.ops.geometry import Geometry

__all__ = ["Analysis", "CarafeDetails", "StepAnalysis"]


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
    def levels(self) -> str:
        """The step's pyramid levels, e.g. "P5→P4"."""
        return f"{level_name(self.source_level)}→{level_name(self.target_level)}"

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
