"""One CARAFE output value recomputed by hand (numpy, float64) from an analysed step.

The "How it works" page shows each stage of CARAFE for one output pixel next to this
recomputation, ending with "kernel × window, summed" equal to the operator's output and with
what bilinear interpolation gives for the same pixel. :func:`shuffle_view` lays out the pixel
shuffle: one input pixel's G·k²·s² encoder channels as the s² kernels of its s×s output block.
Works on the plain arrays of :class:`carafe.inspect.StepAnalysis`; no Streamlit, no plotting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from carafe.inspect.kernel_compare import bilinear_kernels
from carafe.inspect.records import StepAnalysis

__all__ = ["PixelExplanation", "ShuffleView", "explain_pixel", "shuffle_view"]


@dataclass
class PixelExplanation:
    """CARAFE for one output pixel (y, x) and one channel c, recomputed by hand in float64."""

    y: int
    x: int
    channel: int
    group: int
    source: tuple[int, int]  # (⌊y/s⌋, ⌊x/s⌋) in the input map
    sub_pixel: tuple[int, int]  # (y mod s, x mod s)
    input_vector: np.ndarray  # (C,) input features at the source pixel
    compressed_vector: np.ndarray  # (Cm,) from the model
    compressed_by_hand: np.ndarray  # (Cm,) W_c · x + b
    encoder_vector: np.ndarray  # (G·k²·s²,) every encoder output at the source pixel (model)
    encoder_vector_by_hand: np.ndarray  # (G·k²·s²,) the same, conv of the compressed window
    encoder_channels: np.ndarray  # (k, k) encoder channel feeding each tap (pixel shuffle)
    encoder_logits: np.ndarray  # (k, k) raw encoder output at the source pixel
    encoder_logits_by_hand: np.ndarray  # (k, k) conv of the compressed window, by hand
    kernel_logits: np.ndarray  # (k, k) after pixel shuffle (equal to encoder_logits)
    kernel: np.ndarray  # (k, k) after softmax, from the model
    kernel_by_hand: np.ndarray  # (k, k) softmax(kernel_logits) by hand
    window: np.ndarray  # (k, k) input channel c around the source (0 outside)
    inside: np.ndarray  # (k, k) bool: window tap inside the map
    outside_image: np.ndarray  # (k, k) bool: tap reads zero padding or the padded image area
    padding_weight: float  # kernel weight on those taps (it multiplies zeros or padding)
    products: np.ndarray  # (k, k) kernel × window
    value_by_hand: float  # Σ products
    value_op: float  # the op's output at (c, y, x)
    bilinear_kernel: np.ndarray | None  # (k, k) bilinear's weights for this sub-pixel, away
    # from the border (None when k is too small to hold them)
    bilinear_value: float | None  # bilinear interpolation's output at (c, y, x), from the step
    bilinear_by_kernel: float | None  # Σ bilinear_kernel × window (equal away from the border)


def explain_pixel(step: StepAnalysis, y: int, x: int, channel: int = 0) -> PixelExplanation:
    """Recompute CARAFE's output at (channel, y, x) of ``step`` from its parts, by hand."""
    d = step.carafe
    if d is None:
        raise ValueError(f"step {step.index} uses {step.kind!r}, not CARAFE: no kernels")
    geo = step.geometry
    k = geo.k
    sh, sw = d.kernels.shape[-2:]
    if not (0 <= y < sh and 0 <= x < sw):
        raise ValueError(f"pixel ({y}, {x}) is outside the {sh}×{sw} output")
    if not 0 <= channel < geo.C:
        raise ValueError(f"channel {channel} is outside 0..{geo.C - 1}")
    g = geo.group_of_channel(channel)
    (sy, sx), (py, px) = geo.source_pixel(y, x), geo.sub_pixel(y, x)
    feat = step.input.astype(np.float64)
    vec = feat[:, sy, sx]
    comp_hand = d.compressor_weight.astype(np.float64) @ vec + d.compressor_bias
    # content encoder at the source pixel, by hand (zero padding, dilation)
    ke, dil = d.encoder_kernel, d.encoder_dilation
    re = (ke - 1) * dil // 2
    comp = np.pad(d.compressed.astype(np.float64), ((0, 0), (re, re), (re, re)))
    patch = comp[:, sy : sy + 2 * re + 1 : dil, sx : sx + 2 * re + 1 : dil]  # (Cm, ke, ke)
    wts = d.encoder_weight.astype(np.float64)  # (G·k²·s², Cm, ke, ke)
    enc_all = (wts * patch[None]).sum(axis=(1, 2, 3)) + d.encoder_bias
    enc_ch = geo.encoder_channels(y, x, g)
    enc_hand = enc_all[enc_ch.ravel()]
    kl = geo.kernel_at(d.kernel_logits, y, x, g).astype(np.float64)
    e = np.exp(kl - kl.max())
    kernel = geo.kernel_at(d.kernels, y, x, g).astype(np.float64)
    win = geo.window(y, x)
    rows, cols = np.clip(win.rows, 0, geo.H - 1), np.clip(win.cols, 0, geo.W - 1)
    window = np.where(win.inside, feat[channel][np.ix_(rows, cols)], 0.0)  # zero padding
    products = kernel * window
    try:
        bil_kernel = bilinear_kernels(k, geo.s)[py, px]
    except ValueError:  # a window too small for bilinear's two taps per axis
        bil_kernel = None
    bil_out = step.outputs.get("bilinear")
    return PixelExplanation(
        y=y,
        x=x,
        channel=channel,
        group=g,
        source=(sy, sx),
        sub_pixel=(py, px),
        input_vector=vec,
        compressed_vector=d.compressed[:, sy, sx].astype(np.float64),
        compressed_by_hand=comp_hand,
        encoder_vector=d.encoder_logits[:, sy, sx].astype(np.float64),
        encoder_vector_by_hand=enc_all,
        encoder_channels=enc_ch,
        encoder_logits=d.encoder_logits[enc_ch.ravel(), sy, sx].astype(np.float64).reshape(k, k),
        encoder_logits_by_hand=enc_hand.reshape(k, k),
        kernel_logits=kl,
        kernel=kernel,
        kernel_by_hand=e / e.sum(),
        window=window,
        inside=win.inside,
        outside_image=win.outside_image,
        padding_weight=float(kernel[win.outside_image].sum()),
        products=products,
        value_by_hand=float(products.sum()),
        value_op=float(d.op_output[channel, y, x]),
        bilinear_kernel=bil_kernel,
        bilinear_value=float(bil_out[channel, y, x]) if bil_out is not None else None,
        bilinear_by_kernel=float((bil_kernel * window).sum()) if bil_kernel is not None else None,
    )


@dataclass
class ShuffleView:
    """The pixel shuffle at one input pixel: its encoder channels as its s×s block's kernels.

    Arrays are indexed [a, b, dy, dx]: sub-pixel (a, b) of the block, tap (dy, dx).
    """

    source: tuple[int, int]  # (i, j) in the input map
    sub_pixel: tuple[int, int]  # the selected output pixel's (a, b)
    group: int
    outputs: np.ndarray  # (s, s, 2) output pixel (s·i + a, s·j + b) of each sub-pixel
    channels: np.ndarray  # (s, s, k, k) encoder channel (g·k² + t)·s² + a·s + b of each tap
    logits: np.ndarray  # (s, s, k, k) encoder_logits[channel, i, j]: the kernels' logits
    kernel_logits: np.ndarray  # (s, s, k, k) the model's kernel_logits at each output pixel,
    # NaN where that output pixel lies past the (cropped) output map
    kernels: np.ndarray  # (s, s, k, k) the kernels after the softmax (NaN likewise)


def shuffle_view(step: StepAnalysis, y: int, x: int, group: int = 0) -> ShuffleView:
    """Output pixel (y, x)'s source pixel and the s² kernels its encoder output becomes."""
    d = step.carafe
    if d is None:
        raise ValueError(f"step {step.index} uses {step.kind!r}, not CARAFE: no kernels")
    geo = step.geometry
    k, s = geo.k, geo.s
    sy, sx = geo.source_pixel(y, x)
    a, b = np.meshgrid(np.arange(s), np.arange(s), indexing="ij")
    taps = np.arange(k * k).reshape(k, k)
    channels = geo.encoder_channel(group, taps[None, None], a[..., None, None], b[..., None, None])
    oy, ox = s * sy + a, s * sx + b
    sh, sw = d.kernel_logits.shape[-2:]
    kernel_logits = np.full((s, s, k, k), np.nan)
    kernels = np.full((s, s, k, k), np.nan)
    for i in range(s):
        for j in range(s):
            if oy[i, j] < sh and ox[i, j] < sw:
                kernel_logits[i, j] = geo.kernel_at(d.kernel_logits, oy[i, j], ox[i, j], group)
                kernels[i, j] = geo.kernel_at(d.kernels, oy[i, j], ox[i, j], group)
    return ShuffleView(
        source=(sy, sx),
        sub_pixel=geo.sub_pixel(y, x),
        group=int(group),
        outputs=np.stack([oy, ox], axis=-1),
        channels=channels,
        logits=d.encoder_logits[channels, sy, sx].astype(np.float64),
        kernel_logits=kernel_logits,
        kernels=kernels,
    )
