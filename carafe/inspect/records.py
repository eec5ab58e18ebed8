"""The records the display layer passes around: what one model computed for one image, as plain
numpy arrays (picklable, cacheable). Every module of :mod:`carafe.inspect` reads these; this
module imports none of its siblings."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from carafe.models.fpn import level_name
from carafe.ops.geometry import Geometry

__all__ = ["Analysis", "CarafeDetails", "KernelDetails", "StepAnalysis"]


@dataclass
class KernelDetails:
    """What one kernel upsampler (the registry's "kernels" family: CARAFE, FADE, SAPA, ...)
    computed for one image, batch dimension dropped. The generic fields hold for every kind; the
    CARAFE-only fields (its compressor and encoder) are None for the others, and ``gate`` is
    FADE's."""

    kind: str
    up_kernel: int
    up_group: int
    kernel_logits: np.ndarray  # (G·k², sh, sw) before the softmax
    kernels: np.ndarray  # (G·k², sh, sw) after softmax (the reassembly kernels)
    op_output: np.ndarray  # (C, sh, sw) the upsampler's output, before the FPN crop
    entropy: np.ndarray  # (G, sh, sw) in nats; log(k²) = uniform kernel
    peak: np.ndarray  # (G, sh, sw) largest tap weight
    com_dy: np.ndarray  # (G, sh, sw) centre of mass offset, in input pixels
    com_dx: np.ndarray
    # CARAFE's kernel prediction (None for other kinds)
    encoder_kernel: int | None = None
    encoder_dilation: int | None = None
    compressed: np.ndarray | None = None  # (Cm, h, w) channel-compressor output
    encoder_logits: np.ndarray | None = None  # (G·k²·s², h, w) raw content-encoder output
    compressor_weight: np.ndarray | None = None  # (Cm, C)
    compressor_bias: np.ndarray | None = None  # (Cm,)
    encoder_weight: np.ndarray | None = None  # (G·k²·s², Cm, k_enc, k_enc)
    encoder_bias: np.ndarray | None = None
    compressed_order: np.ndarray | None = None  # channels of `compressed`, highest energy first
    # FADE's gate: (1, sh, sw) the weight of the guide itself in the output
    gate: np.ndarray | None = None


CarafeDetails = KernelDetails  # the name the CARAFE-only pages use


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
    details: KernelDetails | None = None  # a kernel upsampler's kernels (None for other kinds)
    points: np.ndarray | None = None  # (G, sh', sw', 2) a point sampler's points (x, y), cropped
    guide: np.ndarray | None = None  # (C, sh', sw') the fine map a guided kind read
    channel_order: np.ndarray | None = None  # input channels, highest energy first
    image_hw: tuple[int, int] | None = None  # the real image; maps beyond it are padding

    @property
    def carafe(self) -> KernelDetails | None:
        """The step's kernel details (any kernel upsampler; the pages' older name)."""
        return self.details

    @property
    def levels(self) -> str:
        """The step's pyramid levels, e.g. "P5→P4"."""
        return f"{level_name(self.source_level)}→{level_name(self.target_level)}"

    @property
    def output_shape(self) -> tuple[int, int]:
        return tuple(self.output.shape[-2:])

    @property
    def geometry(self) -> Geometry:
        """This step's :class:`carafe.geometry.Geometry` (k = 1, G = 1 without kernels)."""
        c, h, w = self.input.shape
        d = self.details
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
    pad_multiple: int = 1  # the model edge-pads the image to a multiple of this (its strides[-1])
