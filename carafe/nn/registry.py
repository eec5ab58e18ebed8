"""The registry of upsampler kinds: CARAFE, DySample and the baselines behind one table.

Adding an upsampler is one :class:`UpsamplerKind` entry in :data:`UPSAMPLERS`: its name, the
name people read, its builder, an optional fixed initialisation for untrained side-by-side
display, and its FLOP count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from carafe.nn.baselines import (
    bilinear_deconv,
    deconv,
    icnr_pixel_shuffle,
    interpolation,
    pixel_shuffle,
)
from carafe.nn.carafe_pack import CARAFEPack
from carafe.nn.dysample import DySample

__all__ = [
    "UPSAMPLERS",
    "UPSAMPLER_KINDS",
    "UpsamplerKind",
    "build_baseline",
    "build_upsampler",
    "upsampler_cost",
]


def _conv_flops(c_in: int, c_out: int, kernel: int) -> int:
    """FLOPs of one output pixel of a conv: k*k*C_in multiplies and k*k*C_in-1 adds per channel."""
    return (2 * c_in * kernel * kernel - 1) * c_out


def _carafe_flops(m: CARAFEPack, channels: int, s: int) -> int:
    taps = m.up_kernel * m.up_kernel
    return (
        _conv_flops(channels, m.compressed_channels, 1)
        + _conv_flops(m.compressed_channels, taps * m.up_group * s * s, m.encoder_kernel)
        + s * s * m.up_group * (5 * taps - 2)
        + s * s * channels * 2 * taps
    )


def _dysample_flops(m: DySample, channels: int, s: int) -> int:
    points = m.groups * s * s  # sampling points per input pixel
    conv_in = m.offset.in_channels
    convs = 2 if m.dyscope else 1
    # "pl" runs its convs at the output resolution on C/s² channels: s² times per input pixel.
    per_input = s * s if m.style == "pl" else 1
    flops = convs * per_input * _conv_flops(conv_in, m.offset.out_channels, 1)
    if m.dyscope:
        flops += 2 * points * (4 + 1)  # sigmoid (4) and the product, per coordinate
    flops += 2 * points * 2  # scale and add the initial position, per coordinate
    flops += 2 * points * 3  # add the pixel grid and normalise (multiply-add), per coordinate
    flops += points * 12  # per point: unnormalise (4), fractions (2), four weights (6)
    return flops + s * s * channels * 7  # bilinear blend of four taps per output value


@dataclass(frozen=True)
class UpsamplerKind:
    """One upsampler kind: everything the models, the evaluation and the app need to know.

    build(channels, scale_factor, **cfg) makes the module. baseline(channels, scale_factor),
    where not None, makes it with a fixed, documented initialisation, for showing an untrained
    upsampler beside a trained one (``baseline_note`` says what it is); CARAFE and DySample have
    none, their kernels and points mean something only when trained. flops(module, channels, s)
    counts FLOPs per input pixel (see :func:`upsampler_cost`). default_options(channels) are the
    options of the shipped models (``carafe.models.default_config``).
    """

    name: str
    display_name: str
    build: Callable[..., nn.Module]
    flops: Callable[[nn.Module, int, int], int]
    baseline: Callable[[int, int], nn.Module] | None = None
    baseline_note: str = ""
    default_options: Callable[[int], dict] = lambda channels: {}


UPSAMPLERS: dict[str, UpsamplerKind] = {
    kind.name: kind
    for kind in (
        UpsamplerKind(
            "carafe",
            "CARAFE",
            lambda c, s=2, **cfg: CARAFEPack(c, s, **cfg),
            _carafe_flops,
            baseline_note="CARAFE: the model's own trained upsampler (content-aware kernels).",
            # The paper's settings; the compressor squeezes C to C_m = C / 4 (256 -> 64).
            default_options=lambda c: dict(
                up_kernel=5,
                up_group=1,
                encoder_kernel=3,
                encoder_dilation=1,
                compressed_channels=c // 4,
            ),
        ),
        UpsamplerKind(
            "dysample",
            "DySample",
            lambda c, s=2, **cfg: DySample(c, s, **cfg),
            _dysample_flops,
            baseline_note="DySample: a trained upsampler that learns where to sample "
            "(one bilinear point per output pixel and channel group).",
            default_options=lambda c: dict(style="lp", groups=4, dyscope=False),
        ),
        UpsamplerKind(
            "nearest",
            "Nearest",
            interpolation("nearest"),
            lambda m, c, s: 0,
            baseline=interpolation("nearest"),
            baseline_note="Nearest neighbour: copies each source pixel s×s times (no parameters).",
        ),
        UpsamplerKind(
            "bilinear",
            "Bilinear",
            interpolation("bilinear"),
            lambda m, c, s: 7 * c * s * s,
            baseline=interpolation("bilinear"),
            baseline_note="Bilinear interpolation, align_corners=False (no parameters).",
        ),
        UpsamplerKind(
            "deconv",
            "Deconv",
            deconv,
            lambda m, c, s: 2 * c * m.kernel_size[0] ** 2 * c,
            baseline=bilinear_deconv,
            baseline_note="Deconvolution (3×3, stride 2, as in mmdetection) initialised to the "
            "bilinear kernel [½, 1, ½]⊗[½, 1, ½] per channel: untrained, fixed weights.",
        ),
        UpsamplerKind(
            "pixel_shuffle",
            "Pixel shuffle",
            pixel_shuffle,
            lambda m, c, s: _conv_flops(c, c * s * s, m.upsample_conv.kernel_size[0]),
            baseline=icnr_pixel_shuffle,
            baseline_note="Pixel shuffle (3×3 conv to C·s² channels, then shuffle) with ICNR "
            "initialisation: every sub-pixel gets the same 3×3 binomial blur, so it starts as "
            "blur + nearest: untrained, fixed weights.",
        ),
    )
}
UPSAMPLER_KINDS = tuple(UPSAMPLERS)


def _kind(name: str) -> UpsamplerKind:
    if name not in UPSAMPLERS:
        raise ValueError(f"unknown upsampler kind {name!r}; choose one of {UPSAMPLER_KINDS}")
    return UPSAMPLERS[name]


def build_upsampler(kind: str, channels: int, scale_factor: int = 2, **cfg) -> nn.Module:
    """Build an upsampler mapping (N, C, H, W) to (N, C, sH, sW).

    kind: one of :data:`UPSAMPLER_KINDS`. ``cfg`` goes to the module: CARAFEPack's arguments for
    "carafe", DySample's (style, groups, dyscope) for "dysample"; ``upsample_kernel`` (default 3,
    as in mmdetection's FPN_CARAFE) for "deconv" and "pixel_shuffle"; nothing for
    "nearest"/"bilinear".
    """
    return _kind(kind).build(channels, scale_factor, **cfg)


def build_baseline(kind: str, channels: int, scale_factor: int = 2) -> nn.Module:
    """The untrained, fixed-initialisation version of ``kind`` for display (see UpsamplerKind)."""
    entry = _kind(kind)
    if entry.baseline is None:
        raise ValueError(
            f"{entry.display_name} has no untrained baseline: it needs trained weights"
        )
    return entry.baseline(channels, scale_factor)


def upsampler_cost(kind: str, channels: int, scale_factor: int = 2, **cfg) -> dict:
    """Parameters and FLOPs per *input* pixel of one upsampler, counted as in the CARAFE paper.

    Counting rules (they reproduce the paper's 74,148 params / 199,496 FLOPs for C=256, s=2,
    k_up=5, k_enc=3, C_m=64):

    - a conv output value costs 2*k*k*C_in - 1 FLOPs (the multiplies and the adds between
      them; biases are not counted);
    - the kernel softmax over T = k_up^2 taps costs 5T - 2 per output pixel and group (max,
      subtract, exp, sum, divide);
    - CARAFE reassembly costs 2*k_up^2 per output value;
    - bilinear costs 7 per output value (4 multiplies, 3 adds); nearest costs nothing;
    - a stride-2 deconv costs 2*C_in*k*k per input pixel and output channel;
    - DySample: its 1x1 offset conv(s) as above; per coordinate of each sampling point 2 to
      scale the offset and add the initial position, 3 to add the pixel grid and normalise,
      5 more with the dynamic scope (sigmoid 4, product 1); per point 12 to unnormalise and
      form the four bilinear weights; then 7 per output value, as bilinear.
    """
    module = build_upsampler(kind, channels, scale_factor, **cfg)
    params = sum(p.numel() for p in module.parameters())
    flops = UPSAMPLERS[kind].flops(module, channels, scale_factor)
    return {"params": int(params), "flops_per_input_pixel": int(flops)}
