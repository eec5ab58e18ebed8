"""Compressed channels: the channel compressor's output and the encoder logits of one pixel."""

from __future__ import annotations

import figures.kernels as kernel_figs
import figures.maps as map_figs
import state
import streamlit as st
import texts
from figures import style

from carafe.inspect.analysis import channel_energy
from carafe.inspect.explain import explain_pixel

st.title("Compressed channels")
cur = state.require_current()
step = cur.step
d = step.carafe
if d is None:
    st.info(
        f"This checkpoint upsamples with **{step.kind}** here: there is no channel "
        "compressor. Pick the 'carafe' checkpoint in the sidebar."
    )
    st.stop()

cm, h, w = d.compressed.shape
c_in = step.input.shape[0]
if cm < c_in:
    what = (
        f"squeezes the C = **{c_in}** input channels into C_m = **{cm}** channels "
        f"({c_in / cm:.0f}× fewer)"
    )
else:
    what = (
        f"maps the C = **{c_in}** input channels to C_m = **{cm}** channels: in this model "
        "it mixes them but does not compress"
    )
st.markdown(
    f"Before predicting kernels, CARAFE's **channel compressor** (a 1×1 convolution) {what}: "
    "a cheap summary of the content that the **content encoder** (a "
    f"{d.encoder_kernel}×{d.encoder_kernel} convolution) reads to predict the kernels. Below "
    "are the compressed maps of the current step, most energetic first: a map's **energy** is "
    "the mean of its squared values over the map, how strongly that channel responds to this "
    "image."
)
per_page = 16
pages = -(-cm // per_page)
st.caption(f"{texts.step_title(step)} · channel compressor {c_in} → {cm} channels at {h}×{w}")
page = (
    st.slider(
        "Page (16 maps each, sorted by energy = mean square value)",
        1,
        pages,
        1,
        key="compressed_page",
    )
    if pages > 1
    else 1
)
idx = d.compressed_order[(page - 1) * per_page : page * per_page]
energy = channel_energy(d.compressed)
titles = [f"#{int(c)} (energy {energy[c]:.3g})" for c in idx]
if pages > 1:
    shared = st.toggle(
        "One colour scale for all maps",
        value=False,
        key="compressed_shared",
        help="Off: each page uses the largest |value| on that page.",
    )
else:  # one page holds every map: its scale is already the one of all maps
    shared = False
    st.caption(f"All {cm} maps share one colour scale (−max|value| to +max|value|).")
zmax = style.symmetric_range(d.compressed) if shared else None
st.plotly_chart(
    map_figs.grid_figure(
        [d.compressed[c] for c in idx], titles, cols=4, zmax=zmax, colorbar_title="value"
    ),
    config=style.png_config(f"compressed_page{page}"),
    key="compressed_grid",
)

st.subheader("Encoder logits of the selected pixel, before and after the softmax")
oy, ox = state.pixel_inputs(step, key="compressed_px")
k, groups = d.up_kernel, d.up_group
g = 0
if groups > 1:
    g = st.radio("Kernel group", range(groups), horizontal=True, key="compressed_group")
e = explain_pixel(step, oy, ox, step.geometry.channels_of_group(g)[0])
st.markdown(
    f"The content encoder outputs {d.encoder_logits.shape[0]} = G·k²·s² = {groups}·{k}²·"
    f"{step.scale}² channels at every input pixel. Output pixel ({oy}, {ox}) is sub-pixel "
    f"{e.sub_pixel} of input pixel {e.source}, so its {k * k} logits are encoder channels "
    f"(g·k² + tap)·s² + {e.sub_pixel[0]}·{step.scale} + {e.sub_pixel[1]} (pixel shuffle). "
    "The softmax turns them into positive weights that sum to 1."
)
c1, c2 = st.columns(2)
c1.plotly_chart(
    kernel_figs.kernel_figure(
        e.kernel_logits,
        "Logits (before softmax)",
        fmt=".2f",
        colorscale=style.DIV,
        colorbar_title="logit",
    ),
    config=style.png_config("logits"),
    key="compressed_logits",
)
c2.plotly_chart(
    kernel_figs.kernel_figure(
        e.kernel,
        "Kernel (after softmax)",
        zmax=1.0,
        outside=e.outside_image if e.outside_image.any() else None,
    ),
    config=style.png_config("kernel"),
    key="compressed_kernel",
)
st.caption(
    "Softmax: w = exp(logit) / Σ exp(logit). Only differences between logits matter: "
    "a logit 1 higher than another gets e ≈ 2.72× the weight."
)
texts.cite()
