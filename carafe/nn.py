"""CARAFEPack, DySample and the baseline upsamplers behind one registry of upsampler kinds.

Adding an upsampler is one :class:`UpsamplerKind` entry in :data:`UPSAMPLERS`: its name, the
name people read, its builder, an optional fixed initialisation for untrained side-by-side
display, and its FLOP count.

``CARAFEPack`` follows mmcv's module of the same name: same arguments, same initialisation and
the same state-dict keys (``channel_compressor.*``, ``content_encoder.*``), so weights saved
from mmcv/mmdetection load with ``strict=True`` and give the same output.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from carafe.dysample import DySample, DySampleIntermediates
from carafe.ops import carafe

__all__ = [
    "UPSAMPLERS",
    "UPSAMPLER_KINDS",
    "CARAFEIntermediates",
    "CARAFEPack",
    "DySample",
    "DySampleIntermediates",
    "Interpolate",
    "PixelShufflePack",
    "UpsamplerKind",
    "build_baseline",
    "build_upsampler",
    "upsampler_cost",
]


@dataclass
class CARAFEIntermediates:
    """Every tensor CARAFEPack computes on the way from input to output.

    compressed:     (N, Cm, H, W) output of the 1x1 channel compressor.
    encoder_logits: (N, G*k*k*s*s, H, W) raw content-encoder output.
    kernel_logits:  (N, G*k*k, sH, sW) after pixel shuffle, before the softmax.
    kernels:        (N, G*k*k, sH, sW) reassembly kernels (softmax over the k*k taps).
    output:         (N, C, sH, sW) the upsampled features.
    """

    compressed: torch.Tensor
    encoder_logits: torch.Tensor
    kernel_logits: torch.Tensor
    kernels: torch.Tensor
    output: torch.Tensor


class CARAFEPack(nn.Module):
    """Content-aware upsampler: predict a k_up x k_up kernel per output pixel, then reassemble.

    Args mirror mmcv's ``CARAFEPack``: ``channels`` C, ``scale_factor`` s, ``up_kernel`` k_up,
    ``up_group`` G, ``encoder_kernel`` k_enc, ``encoder_dilation`` and ``compressed_channels``
    C_m.
    """

    def __init__(
        self,
        channels: int,
        scale_factor: int,
        up_kernel: int = 5,
        up_group: int = 1,
        encoder_kernel: int = 3,
        encoder_dilation: int = 1,
        compressed_channels: int = 64,
    ) -> None:
        super().__init__()
        if up_kernel < 1 or up_kernel % 2 == 0:
            raise ValueError(f"up_kernel must be a positive odd integer, got {up_kernel}")
        if encoder_kernel < 1 or encoder_kernel % 2 == 0:
            raise ValueError(f"encoder_kernel must be a positive odd integer, got {encoder_kernel}")
        if channels % up_group != 0:
            raise ValueError(f"channels ({channels}) must be divisible by up_group ({up_group})")
        self.channels = channels
        self.scale_factor = scale_factor
        self.up_kernel = up_kernel
        self.up_group = up_group
        self.encoder_kernel = encoder_kernel
        self.encoder_dilation = encoder_dilation
        self.compressed_channels = compressed_channels
        self.channel_compressor = nn.Conv2d(channels, compressed_channels, 1)
        self.content_encoder = nn.Conv2d(
            compressed_channels,
            up_kernel * up_kernel * up_group * scale_factor * scale_factor,
            encoder_kernel,
            padding=(encoder_kernel - 1) * encoder_dilation // 2,
            dilation=encoder_dilation,
        )
        self.init_weights()

    def init_weights(self) -> None:
        """mmcv's initialisation: xavier-uniform convs, encoder weights N(0, 0.001), zero biases."""
        for conv in (self.channel_compressor, self.content_encoder):
            nn.init.xavier_uniform_(conv.weight)
            nn.init.zeros_(conv.bias)
        nn.init.normal_(self.content_encoder.weight, std=0.001)

    def forward_with_intermediates(self, x: torch.Tensor) -> CARAFEIntermediates:
        """Upsample ``x`` and return every intermediate tensor (see :class:`CARAFEIntermediates`)."""
        compressed = self.channel_compressor(x)
        encoder_logits = self.content_encoder(compressed)
        kernel_logits = F.pixel_shuffle(encoder_logits, self.scale_factor)
        n, _, h, w = kernel_logits.shape
        taps = self.up_kernel * self.up_kernel
        kernels = kernel_logits.view(n, self.up_group, taps, h, w).softmax(dim=2)
        kernels = kernels.view(n, self.up_group * taps, h, w)
        output = carafe(x, kernels, self.up_kernel, self.up_group, self.scale_factor)
        return CARAFEIntermediates(compressed, encoder_logits, kernel_logits, kernels, output)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Upsample (N, C, H, W) to (N, C, sH, sW)."""
        return self.forward_with_intermediates(x).output

    def extra_repr(self) -> str:
        return (
            f"channels={self.channels}, scale_factor={self.scale_factor}, "
            f"up_kernel={self.up_kernel}, up_group={self.up_group}, "
            f"encoder_kernel={self.encoder_kernel}, encoder_dilation={self.encoder_dilation}, "
            f"compressed_channels={self.compressed_channels}"
        )


class Interpolate(nn.Module):
    """Parameter-free nearest or bilinear upsampling (mmdetection's settings: align_corners=False)."""

    def __init__(self, scale_factor: int, mode: str) -> None:
        super().__init__()
        if mode not in ("nearest", "bilinear"):
            raise ValueError(f"mode must be 'nearest' or 'bilinear', got {mode!r}")
        self.scale_factor = scale_factor
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Upsample (N, C, H, W) to (N, C, sH, sW)."""
        align = None if self.mode == "nearest" else False
        return F.interpolate(x, scale_factor=self.scale_factor, mode=self.mode, align_corners=align)

    def extra_repr(self) -> str:
        return f"scale_factor={self.scale_factor}, mode={self.mode!r}"


class PixelShufflePack(nn.Module):
    """mmcv's PixelShufflePack: a k x k conv to C*s*s channels, then pixel shuffle by s."""

    def __init__(
        self, in_channels: int, out_channels: int, scale_factor: int, upsample_kernel: int = 3
    ) -> None:
        super().__init__()
        self.scale_factor = scale_factor
        self.upsample_conv = nn.Conv2d(
            in_channels,
            out_channels * scale_factor * scale_factor,
            upsample_kernel,
            padding=(upsample_kernel - 1) // 2,
        )
        nn.init.xavier_uniform_(self.upsample_conv.weight)
        nn.init.zeros_(self.upsample_conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Upsample (N, C, H, W) to (N, C_out, sH, sW)."""
        return F.pixel_shuffle(self.upsample_conv(x), self.scale_factor)


def _deconv(channels: int, scale_factor: int, upsample_kernel: int = 3) -> nn.ConvTranspose2d:
    if scale_factor != 2:
        raise ValueError(f"deconv upsampler supports scale_factor=2 only, got {scale_factor}")
    pad = (upsample_kernel - 1) // 2
    deconv = nn.ConvTranspose2d(
        channels, channels, upsample_kernel, stride=2, padding=pad, output_padding=pad
    )
    nn.init.xavier_uniform_(deconv.weight)
    nn.init.zeros_(deconv.bias)
    return deconv


def _interpolation(mode: str) -> Callable[..., nn.Module]:
    def build(channels: int, scale_factor: int = 2, **cfg) -> nn.Module:
        if cfg:
            raise TypeError(f"{mode} upsampler takes no options, got {sorted(cfg)}")
        return Interpolate(scale_factor, mode)

    return build


def _pixel_shuffle(channels: int, scale_factor: int = 2, **cfg) -> nn.Module:
    return PixelShufflePack(channels, channels, scale_factor, **cfg)


@torch.no_grad()
def _bilinear_deconv(channels: int, scale_factor: int) -> nn.Module:
    """Deconv whose every channel starts as the bilinear kernel [1/2, 1, 1/2] (x) [1/2, 1, 1/2]."""
    deconv = _deconv(channels, scale_factor)
    deconv.weight.zero_()
    tap = torch.tensor([0.5, 1.0, 0.5])
    idx = torch.arange(channels)
    deconv.weight[idx, idx] = torch.outer(tap, tap)
    deconv.bias.zero_()
    return deconv


@torch.no_grad()
def _icnr_pixel_shuffle(channels: int, scale_factor: int) -> nn.Module:
    """ICNR pixel shuffle: every sub-pixel of a channel gets the same 3x3 binomial blur."""
    s = scale_factor
    module = _pixel_shuffle(channels, s)
    conv = module.upsample_conv
    conv.weight.zero_()
    blur = torch.tensor([1.0, 2.0, 1.0])
    blur = torch.outer(blur, blur) / 16
    pad = (conv.weight.shape[-1] - 3) // 2
    for c in range(channels):
        conv.weight[c * s * s : (c + 1) * s * s, c, pad : pad + 3, pad : pad + 3] = blur
    conv.bias.zero_()
    return module


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
            _interpolation("nearest"),
            lambda m, c, s: 0,
            baseline=_interpolation("nearest"),
            baseline_note="Nearest neighbour: copies each source pixel s×s times (no parameters).",
        ),
        UpsamplerKind(
            "bilinear",
            "Bilinear",
            _interpolation("bilinear"),
            lambda m, c, s: 7 * c * s * s,
            baseline=_interpolation("bilinear"),
            baseline_note="Bilinear interpolation, align_corners=False (no parameters).",
        ),
        UpsamplerKind(
            "deconv",
            "Deconv",
            _deconv,
            lambda m, c, s: 2 * c * m.kernel_size[0] ** 2 * c,
            baseline=_bilinear_deconv,
            baseline_note="Deconvolution (3×3, stride 2, as in mmdetection) initialised to the "
            "bilinear kernel [½, 1, ½]⊗[½, 1, ½] per channel: untrained, fixed weights.",
        ),
        UpsamplerKind(
            "pixel_shuffle",
            "Pixel shuffle",
            _pixel_shuffle,
            lambda m, c, s: _conv_flops(c, c * s * s, m.upsample_conv.kernel_size[0]),
            baseline=_icnr_pixel_shuffle,
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
