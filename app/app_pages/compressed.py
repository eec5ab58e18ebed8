"""Compressed channels: the channel compressor's output and the encoder logits of one pixel.

It opens with the compressed maps under one line of their numbers; the explanation waits in an
expander and the encoder logits in a second tab."""

from __future__ import annotations

import figures.kernels as kernel_figs
import figures.maps as map_figs
import state
import streamlit as st
import texts
import widgets
from figures import style

from carafe.inspect.analysis import channel_energy
from carafe.inspect.explain import explain_pixel

MAPS_PER_PAGE = 16


def compressor_intro(step, details) -> None:
    """What the channel compressor does to this step's channels, in its own numbers."""
    cm = details.compressed.shape[0]
    c_in = step.input.shape[0]
    energy = channel_energy(details.compressed)
    top = int(details.compressed_order[0])
    share = float(energy[top] / energy.sum()) if energy.sum() > 0 else 0.0
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
        f"The channel compressor {what}. The most energetic map, #{top}, holds {share:.0%} of "
        "their energy."
    )
    with st.expander("What the compressor does, and what energy means"):
        st.markdown(
            f"Before predicting kernels, CARAFE's **channel compressor** (a 1×1 convolution) "
            f"{what}: a cheap summary of the content that the **content encoder** (a "
            f"{details.encoder_kernel}×{details.encoder_kernel} convolution) reads to predict "
            "the kernels. Below are the compressed maps of the current step, most energetic "
            "first: a map's **energy** is the mean of its squared values over the map, how "
            "strongly that channel responds to this image."
        )


def compressed_maps(step, details) -> None:
    """The compressed maps, most energetic first, a page of 16 at a time."""
    cm, h, w = details.compressed.shape
    pages = -(-cm // MAPS_PER_PAGE)
    st.caption(
        f"{texts.step_title(step)} · channel compressor {step.input.shape[0]} → {cm} channels "
        f"at {h}×{w}"
    )
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
    shown = details.compressed_order[(page - 1) * MAPS_PER_PAGE : page * MAPS_PER_PAGE]
    energy = channel_energy(details.compressed)
    titles = [f"#{int(c)} (energy {energy[c]:.3g})" for c in shown]
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
    zmax = style.symmetric_range(details.compressed) if shared else None
    st.plotly_chart(
        map_figs.grid_figure(
            [details.compressed[c] for c in shown],
            titles,
            cols=4,
            zmax=zmax,
            colorbar_title="value",
        ),
        config=style.png_config(f"compressed_page{page}"),
        key="compressed_grid",
    )


def encoder_logits(step, details) -> None:
    """The selected pixel's k² encoder logits, and the kernel the softmax makes of them."""
    oy, ox = state.pixel_inputs(step, key="compressed_px")
    k, groups = details.up_kernel, details.up_group
    group = 0
    if groups > 1:
        group = st.radio("Kernel group", range(groups), horizontal=True, key="compressed_group")
    explained = explain_pixel(step, oy, ox, step.geometry.channels_of_group(group)[0])
    st.markdown(
        f"The content encoder outputs {details.encoder_logits.shape[0]} = G·k²·s² = {groups}·"
        f"{k}²·{step.scale}² channels at every input pixel. Output pixel ({oy}, {ox}) is "
        f"sub-pixel {explained.sub_pixel} of input pixel {explained.source}, so its {k * k} "
        f"logits are encoder channels (g·k² + tap)·s² + {explained.sub_pixel[0]}·{step.scale} "
        f"+ {explained.sub_pixel[1]} (pixel shuffle). The softmax turns them into positive "
        "weights that sum to 1."
    )
    logits, kernel = st.columns(2)
    logits.plotly_chart(
        kernel_figs.kernel_figure(
            explained.kernel_logits,
            "Logits (before softmax)",
            fmt=".2f",
            colorscale=style.DIV,
            colorbar_title="logit",
        ),
        config=style.png_config("logits"),
        key="compressed_logits",
    )
    outside = explained.outside_image
    kernel.plotly_chart(
        kernel_figs.kernel_figure(
            explained.kernel,
            "Kernel (after softmax)",
            zmax=1.0,
            outside=outside if outside.any() else None,
        ),
        config=style.png_config("kernel"),
        key="compressed_kernel",
    )
    st.caption(
        "Softmax: w = exp(logit) / Σ exp(logit). Only differences between logits matter: "
        "a logit 1 higher than another gets e ≈ 2.72× the weight."
    )


def main() -> None:
    st.title("Compressed channels")
    cur = state.require_current()
    details = widgets.require_compressor(cur.step)
    compressor_intro(cur.step, details)
    maps, logits = st.tabs(
        ["Compressed maps", "Encoder logits of the selected pixel, before and after the softmax"]
    )
    with maps:
        compressed_maps(cur.step, details)
    with logits:
        encoder_logits(cur.step, details)
    texts.cite()


main()
