"""The registry of upsampler kinds: CARAFE, FADE, SAPA, DySample and the baselines, one table.

Adding an upsampler is its module, one :class:`UpsamplerKind` entry in :data:`UPSAMPLERS` and
its tests. Every layer above (the FPN, training, evaluation, the analysis, the app) reads what it
needs from the entry: its family, whether it reads the fine guide map, its display name and
colour, how one forward pass exposes its kernels or points, its FLOP count and which measures
apply to it. Nothing above ``carafe/nn`` names a concrete upsampler.
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
from carafe.nn.fade import FADE
from carafe.nn.sapa import SAPA

__all__ = [
    "CONTROL_KIND",
    "FAMILIES",
    "SUBJECT_KIND",
    "MEASURES",
    "UPSAMPLERS",
    "UPSAMPLER_KINDS",
    "UpsamplerKind",
    "build_baseline",
    "build_upsampler",
    "kinds_where",
    "register_upsampler",
    "run_upsampler",
    "upsampler_cost",
]

#: What an upsampler is made of, as the app explains it: a k x k reassembly kernel per output
#: pixel ("kernels": CARAFE, FADE, SAPA), learned sampling points ("points": DySample), or a
#: fixed or content-blind rule ("fixed": interpolation, deconv, pixel shuffle).
FAMILIES = ("kernels", "points", "fixed")

#: Measures that only make sense for some kinds: "alignment" (how much kernel weight stays on
#: the pixel's own object; needs per-pixel kernels), "border" (kernel weight on the zero padding;
#: needs kernels), "tiny" (trainable in Train a tiny CARAFE's toy problem).
MEASURES = ("alignment", "border", "tiny")

#: The project's subject, the kind every other kind is compared with on the pages.
SUBJECT_KIND = "carafe"
#: The content-blind twin: the same network trained with fixed bilinear upsampling, the control
#: every learned kind's difference is measured against.
CONTROL_KIND = "bilinear"


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


def _fade_flops(m: FADE, channels: int, s: int) -> int:
    taps, e = m.up_kernel * m.up_kernel, m.embedding_dim
    return (
        _conv_flops(channels, 1, 1)  # gate logit (coarse)
        + s * s * (4 + 1)  # sigmoid (4) and 1 - gate, per output pixel
        + s * s * _conv_flops(channels, e, 1)  # encoder embedding (fine)
        + _conv_flops(channels, e, 1)  # decoder embedding (coarse)
        + s * s * _conv_flops(e, taps, 3)  # semi-shift conv on the encoder half (fine)
        + _conv_flops(e, taps, 3)  # and on the decoder half (coarse)
        + s * s * taps  # adding the two halves
        + s * s * (5 * taps - 2)  # softmax
        + s * s * channels * 2 * taps  # reassembly
        + s * s * channels * 3  # gate * guide + (1 - gate) * reassembled
    )


def _sapa_flops(m: SAPA, channels: int, s: int) -> int:
    taps, e = m.up_kernel * m.up_kernel, m.embedding_dim
    layer_norm = 7  # per value: mean 1, centre 1, variance 2, normalise 1, scale and shift 2
    return (
        s * s * m.guide_channels * layer_norm
        + channels * layer_norm
        + s * s * _conv_flops(m.guide_channels, e, 1)  # queries (fine)
        + _conv_flops(channels, e, 1)  # keys (coarse)
        + s * s * taps * (2 * e - 1)  # one E-long dot product per tap
        + s * s * (5 * taps - 2)  # softmax
        + s * s * channels * 2 * taps  # reassembly
    )


def _guided_defaults(channels: int) -> dict:
    """FADE's and SAPA's shipped options: their authors' defaults."""
    return dict(up_kernel=5, embedding_dim=64)


def _guided_knob_options(knobs: dict) -> dict:
    """FADE's and SAPA's options from the toy knobs: C_m is their embedding."""
    return dict(up_kernel=knobs["up_kernel"], embedding_dim=knobs["compressed_channels"])


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
    #: one of FAMILIES
    family: str = "fixed"
    #: whether forward takes (x, guide), the guide being the finer level's map (s times larger)
    needs_guide: bool = False
    #: the colour of this kind in every plot (a hex string)
    colour: str = "#7f7f7f"
    #: module.forward_with_intermediates's result, from the one forward pass the FPN makes: the
    #: dataclass with ``kernels`` ("kernels" family) or ``positions`` ("points"); None if absent
    has_intermediates: bool = False
    #: the subset of MEASURES that apply (see there)
    measures: frozenset = frozenset()
    #: a one-line description for legends and the family table
    summary: str = ""
    #: this kind's options from generic knobs (up_kernel, up_group, encoder_kernel,
    #: compressed_channels), for toy models such as Train a tiny CARAFE's
    knob_options: Callable[[dict], dict] = lambda knobs: {}

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"family must be one of {FAMILIES}, got {self.family!r}")
        unknown = set(self.measures) - set(MEASURES)
        if unknown:
            raise ValueError(f"unknown measures {sorted(unknown)}; choose from {MEASURES}")
        if self.family == "kernels" and not self.has_intermediates:
            raise ValueError("a kernels-family upsampler must expose forward_with_intermediates")


UPSAMPLERS: dict[str, UpsamplerKind] = {
    kind.name: kind
    for kind in (
        UpsamplerKind(
            "carafe",
            "CARAFE",
            lambda c, s=2, **cfg: CARAFEPack(c, s, **cfg),
            _carafe_flops,
            baseline_note="CARAFE: the model's own trained upsampler (content-aware kernels).",
            family="kernels",
            colour="#d62728",
            has_intermediates=True,
            measures=frozenset({"alignment", "border", "tiny"}),
            summary="predicts a k×k kernel per output pixel from the coarse map",
            knob_options=lambda knobs: dict(knobs),
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
            family="points",
            measures=frozenset({"alignment", "tiny"}),
            colour="#ff7f0e",
            has_intermediates=True,
            summary="learns where to sample: one bilinear point per output pixel and group",
        ),
        UpsamplerKind(
            "fade",
            "FADE",
            lambda c, s=2, **cfg: FADE(c, s, **cfg),
            _fade_flops,
            baseline_note="FADE: a trained kernel upsampler whose kernels also read the fine "
            "encoder map, and whose gate mixes that map back in.",
            default_options=_guided_defaults,
            family="kernels",
            needs_guide=True,
            colour="#8c564b",
            has_intermediates=True,
            measures=frozenset({"alignment", "border", "tiny"}),
            summary="a k×k kernel from the coarse and the fine map, then a gate with the fine map",
            knob_options=_guided_knob_options,
        ),
        UpsamplerKind(
            "sapa",
            "SAPA",
            lambda c, s=2, **cfg: SAPA(c, s, **cfg),
            _sapa_flops,
            baseline_note="SAPA: a trained kernel upsampler whose kernel is the similarity of "
            "a fine-map query with the coarse keys of its window.",
            default_options=_guided_defaults,
            family="kernels",
            needs_guide=True,
            colour="#e377c2",
            has_intermediates=True,
            measures=frozenset({"alignment", "border", "tiny"}),
            summary="a k×k kernel of fine-query · coarse-key similarities",
            knob_options=_guided_knob_options,
        ),
        UpsamplerKind(
            "nearest",
            "Nearest",
            interpolation("nearest"),
            lambda m, c, s: 0,
            baseline=interpolation("nearest"),
            baseline_note="Nearest neighbour: copies each source pixel s×s times (no parameters).",
            colour="#2ca02c",
            summary="copies each source pixel s×s times",
        ),
        UpsamplerKind(
            "bilinear",
            "Bilinear",
            interpolation("bilinear"),
            lambda m, c, s: 7 * c * s * s,
            baseline=interpolation("bilinear"),
            baseline_note="Bilinear interpolation, align_corners=False (no parameters).",
            colour="#1f77b4",
            summary="the same fixed 2×2 blend everywhere",
        ),
        UpsamplerKind(
            "deconv",
            "Deconv",
            deconv,
            lambda m, c, s: 2 * c * m.kernel_size[0] ** 2 * c,
            baseline=bilinear_deconv,
            baseline_note="Deconvolution (3×3, stride 2, as in mmdetection) initialised to the "
            "bilinear kernel [½, 1, ½]⊗[½, 1, ½] per channel: untrained, fixed weights.",
            colour="#9467bd",
            summary="a learned 3×3 transposed convolution, the same everywhere",
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
            colour="#17becf",
            summary="a learned 3×3 conv to C·s² channels, then rearranged",
        ),
    )
}
UPSAMPLER_KINDS = tuple(UPSAMPLERS)  # the kinds built in; UPSAMPLERS may grow at run time


def register_upsampler(kind: UpsamplerKind, *, replace: bool = False) -> None:
    """Add ``kind`` to the registry (a plug-in, or a test's throwaway kind). Every layer above
    reads UPSAMPLERS, so a registered kind is trained, evaluated and shown like the others."""
    if kind.name in UPSAMPLERS and not replace:
        raise ValueError(f"upsampler kind {kind.name!r} is already registered")
    UPSAMPLERS[kind.name] = kind


def kinds_where(
    *, family: str | None = None, measure: str | None = None, guided: bool | None = None
) -> tuple[str, ...]:
    """The registered kind names, in registry order, that match every given filter."""
    return tuple(
        name
        for name, kind in UPSAMPLERS.items()
        if (family is None or kind.family == family)
        and (measure is None or measure in kind.measures)
        and (guided is None or kind.needs_guide == guided)
    )


def run_upsampler(kind: str, module: nn.Module, x, guide=None):
    """One forward pass of ``module`` (of kind ``kind``): (output, intermediates or None).

    The guide is passed only to kinds that need one, and intermediates (kernels, points) come
    from the same pass, so nothing runs twice.
    """
    entry = _kind(kind)
    args = (x, guide) if entry.needs_guide else (x,)
    if entry.needs_guide and guide is None:
        raise ValueError(f"{entry.display_name} needs the fine guide map; got guide=None")
    if entry.has_intermediates:
        parts = module.forward_with_intermediates(*args)
        return parts.output, parts
    return module(*args), None


def _kind(name: str) -> UpsamplerKind:
    if name not in UPSAMPLERS:
        raise ValueError(f"unknown upsampler kind {name!r}; choose one of {tuple(UPSAMPLERS)}")
    return UPSAMPLERS[name]


def build_upsampler(kind: str, channels: int, scale_factor: int = 2, **cfg) -> nn.Module:
    """Build an upsampler mapping (N, C, H, W) to (N, C, sH, sW).

    kind: a key of :data:`UPSAMPLERS`. ``cfg`` goes to the module: CARAFEPack's arguments for
    "carafe", DySample's (style, groups, dyscope) for "dysample", FADE's and SAPA's (up_kernel,
    embedding_dim) for "fade" and "sapa"; ``upsample_kernel`` (default 3,
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
    flops = _kind(kind).flops(module, channels, scale_factor)
    return {"params": int(params), "flops_per_input_pixel": int(flops)}
