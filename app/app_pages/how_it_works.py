"""How it works: CARAFE step by step for one output pixel, with formulas and live numbers."""

from __future__ import annotations

from dataclasses import dataclass

import figures.charts as chart_figs
import figures.kernels as kernel_figs
import figures.maps as map_figs
import figures.shuffle as shuffle_figs
import numpy as np
import pandas as pd
import pins
import state
import streamlit as st
import texts
import tour
import widgets
from figures import style
from kernel_family_view import family_panel

from carafe.inspect.explain import PixelExplanation, explain_pixel, shuffle_view
from carafe.inspect.pixel import PADDING_NOTE, kernel_view
from carafe.inspect.summaries import max_abs_difference
from carafe.inspect.toy import make_toy_step

STAGES = ("Channel compressor", "Content encoder", "Pixel shuffle", "Softmax", "Reassembly")


@st.cache_data(show_spinner=False)
def _toy(trained_like: bool):
    return make_toy_step(trained_like=trained_like)


@dataclass(frozen=True)
class Followed:
    """The output pixel (y, x) the page follows through the five stages, in ``channel``, with
    the model's and the hand recomputation's numbers for it (``explained``)."""

    step: object
    y: int
    x: int
    channel: int
    explained: PixelExplanation

    @classmethod
    def at(cls, step, y, x, channel) -> Followed:
        """Output pixel (y, x) of ``step`` in ``channel``, explained."""
        y, x, channel = int(y), int(x), int(channel)
        return cls(step, y, x, channel, explain_pixel(step, y, x, channel))

    @property
    def details(self):
        return self.step.carafe

    @property
    def pad(self) -> np.ndarray | None:
        """The taps on zero padding, if any (None when there are none)."""
        outside = self.explained.outside_image
        return outside if outside.any() else None


def intro() -> str:
    """The page's title and lead; returns the data mode chosen (your image or the toy)."""
    st.title("How it works")
    st.markdown(
        "Follow one output pixel through CARAFE's five steps. Every number is read from the "
        "model's tensors, and recomputed by hand next to it. Use **Toy 6×6** to see a tiny map "
        "where everything fits on screen."
    )
    return st.radio("Data", ["Your image", "Toy 6×6"], horizontal=True, key="hiw_mode")


def toy_pixel() -> Followed:
    """The toy map, its weights, the pixel and channel chosen on it, and its input and output."""
    weights = st.radio(
        "Toy weights",
        ["Edge-aware (hand-set)", "Untrained (random)"],
        horizontal=True,
        key="toy_weights",
        help="Hand-set: weights chosen by hand so the kernels behave as a trained CARAFE's "
        "do at this edge. Untrained: random weights, kernels that know nothing about edges.",
    )
    trained_like = weights.startswith("Edge")
    step = _toy(trained_like)
    if trained_like:
        st.caption(
            "Toy: a 2-channel 6×6 map (channel 0: a vertical edge 0 | 1, channel 1: a "
            "diagonal ramp), CARAFEPack(2, ×2, k_up=3, k_enc=3, C_m=3) with **hand-set** "
            'weights (not trained): the "compressor" widens 2 → 3 channels here, keeping '
            "both and adding a constant map (its bias); the encoder penalises taps across "
            "this rising edge from the centre and taps "
            "in the zero padding. So the edge stays sharp, as with a trained CARAFE. One "
            "linear encoder cannot do this for edges of every direction; a trained CARAFE "
            "uses many channels for that."
        )
    else:
        st.caption(
            "Toy with **untrained**, random weights (rounded to 0.1): the kernels vary from "
            "pixel to pixel but know nothing about edges, so the 0 | 1 edge comes out streaky."
        )
    c1, c2, c3 = st.columns(3)
    oy = c1.number_input("Output row y", 0, 11, 5, key="toy_y")
    ox = c2.number_input("Output column x", 0, 11, 6, key="toy_x")
    ch = c3.selectbox("Channel", [0, 1], key="toy_channel")
    toy_view = kernel_view(step, int(oy), int(ox))
    cell = (*toy_view.source, toy_view.source[0] + 1, toy_view.source[1] + 1)
    t1, t2 = st.columns([1, 2])  # the 12×12 output needs room for its numbers
    t1.plotly_chart(
        map_figs.map_figure(
            step.input[ch],
            f"Input, channel {ch} (6×6)",
            text_fmt=".1f",
            cell=cell,
            height=360,
        ),
        key="toy_in",
        config=style.png_config("toy_input"),
    )
    t2.plotly_chart(
        map_figs.map_figure(
            step.output[ch],
            f"CARAFE output, channel {ch} (12×12)",
            text_fmt=".1f",
            cell=(oy, ox, oy + 1, ox + 1),
            height=520,
        ),
        key="toy_out",
        config=style.png_config("toy_output"),
    )
    return Followed.at(step, oy, ox, ch)


def image_pixel(cur) -> Followed:
    """The selected pixel of the current step of your image, and the channel chosen for it."""
    tour.banner("how_it_works", cur)
    step = cur.step
    widgets.require_compressor(step)
    st.caption(texts.step_title(step))
    oy, ox = state.pixel_inputs(step, key="hiw_px")
    ch = widgets.channel_picker(step, "hiw_channel", "Feature channel")
    return Followed.at(step, oy, ox, ch)


def stage_buttons() -> int:
    """Previous / Next and the five stages' names; returns the stage shown."""
    stage = int(np.clip(st.session_state.get("hiw_stage", 0), 0, len(STAGES) - 1))

    def _go(delta: int) -> None:
        st.session_state["hiw_stage"] = int(np.clip(stage + delta, 0, len(STAGES) - 1))

    back, forward, names = st.columns([1, 1, 5])
    back.button("◀ Previous", on_click=_go, args=(-1,), disabled=stage == 0, key="hiw_prev")
    forward.button(
        "Next ▶", on_click=_go, args=(1,), disabled=stage == len(STAGES) - 1, key="hiw_next"
    )
    names.markdown(" → ".join(f"**{n}**" if i == stage else n for i, n in enumerate(STAGES)))
    st.progress(
        (stage + 1) / len(STAGES), text=f"Step {stage + 1} of {len(STAGES)}: {STAGES[stage]}"
    )
    return stage


def _shape(*dims) -> str:
    return "(" + ", ".join(str(x) for x in dims) + ")"


def _side_by_side(left, right) -> None:
    """Two figures in two columns; each side is (figure, widget key, PNG file name)."""
    for column, (figure, key, png_name) in zip(st.columns(2), (left, right), strict=True):
        column.plotly_chart(figure, key=key, config=style.png_config(png_name))


def _close(a, b) -> str:
    return f"largest difference model vs by hand: {max_abs_difference(a, b):.2e}"


def _by_hand(model, by_hand, what: str, figure, key: str, png_name: str) -> None:
    """The hand recomputation as one number, its figure in an expander."""
    st.markdown(f"**By hand** ({what}): {_close(model, by_hand)}.")
    with st.expander("Show the by-hand figure"):
        st.plotly_chart(figure, key=key, config=style.png_config(png_name))


def compressor_word(c_in: int, cm: int) -> str:
    """What the "compressor" does with these channel counts, as a clause."""
    if cm > c_in:
        return f": despite its name it widens them here ({c_in} → {cm})"
    if cm == c_in:
        return f": it keeps their number ({c_in} → {cm})"
    return f": it compresses them ({c_in} → {cm})"


def compressor_stage(px: Followed) -> None:
    """Stage 1: the 1×1 channel compressor at the pixel's source pixel."""
    details, explained, oy, ox = px.details, px.explained, px.y, px.x
    c_in, h, w = px.step.input.shape
    cm = details.compressed.shape[0]
    sy, sx = explained.source
    st.latex(r"c_{m}(i,j) = \sum_{c=1}^{C} W^{\mathrm{comp}}_{m,c}\, x_c(i,j) + b_m")
    st.markdown(
        f"A 1×1 convolution mixes the **{c_in}** input channels into **{cm}** at every "
        f"input pixel{compressor_word(c_in, cm)}. Shape {_shape(c_in, h, w)} → "
        f"{_shape(cm, h, w)}. Here: input pixel ({sy}, {sx}), the source of output pixel "
        f"({oy}, {ox})."
    )
    _side_by_side(
        (
            chart_figs.bar_figure(
                explained.input_vector, f"Input features x at ({sy}, {sx}): {c_in} channels"
            ),
            "hiw_x",
            "input_vector",
        ),
        (
            chart_figs.bar_figure(
                explained.compressed_vector,
                f"Compressed c at ({sy}, {sx}): {cm} channels",
                xlabel="compressed channel",
            ),
            "hiw_c",
            "compressed_vector",
        ),
    )
    n = min(cm, 12)
    idx = details.compressed_order[:n]
    st.dataframe(
        pd.DataFrame(
            {
                "compressed channel m": idx,
                "model c_m": explained.compressed_vector[idx],
                "by hand W·x + b": explained.compressed_by_hand[idx],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    st.caption(
        f"{'All' if n == cm else f'The {n} most energetic of {cm}'} channels; "
        f"{_close(explained.compressed_vector, explained.compressed_by_hand)}."
    )


def encoder_stage(px: Followed) -> None:
    """Stage 2: the content encoder's G·k²·s² logits at the source pixel."""
    details, explained, oy, ox = px.details, px.explained, px.y, px.x
    k, s = details.up_kernel, px.step.scale
    _, h, w = px.step.input.shape
    cm = details.compressed.shape[0]
    sy, sx = explained.source
    ke = details.encoder_kernel
    n_enc = details.encoder_logits.shape[0]
    st.latex(
        r"z_{o}(i,j) = \sum_{m}\sum_{u,v=-r_e}^{r_e} W^{\mathrm{enc}}_{o,m,u,v}\, "
        r"c_m(i+u,\,j+v) + b_o"
    )
    st.markdown(
        f"A {ke}×{ke} convolution reads the compressed maps around ({sy}, {sx}) and "
        f"predicts **G·k²·s² = {details.up_group}·{k}²·{s}² = {n_enc}** numbers per input pixel: "
        f"the logits of all {s * s} kernels of the {s}×{s} output pixels this input pixel "
        f"will produce, interleaved: {s * s} consecutive channels hold one tap for the "
        f"{s * s} sub-pixels. Shape {_shape(cm, h, w)} → {_shape(n_enc, h, w)}. The "
        f"{k * k} solid bars (every {s * s}th) feed output pixel ({oy}, {ox}); step 3 shows "
        "how the pixel shuffle deals all of them out."
    )
    st.plotly_chart(
        shuffle_figs.encoder_vector_figure(
            explained.encoder_vector,
            explained.encoder_channels,
            f"Encoder output at input pixel ({sy}, {sx})",
        ),
        key="hiw_enc",
        config=style.png_config("encoder_output"),
    )
    _by_hand(
        explained.encoder_vector,
        explained.encoder_vector_by_hand,
        f"a numpy {ke}×{ke} convolution of the compressed window, all {n_enc} channels",
        shuffle_figs.encoder_vector_figure(
            explained.encoder_vector_by_hand, explained.encoder_channels, "By hand (numpy conv)"
        ),
        "hiw_enc_hand",
        "encoder_by_hand",
    )


def shuffle_stage(px: Followed) -> None:
    """Stage 3: the pixel shuffle deals the encoder's logits out as the s² kernels."""
    step, details, explained, oy, ox = px.step, px.details, px.explained, px.y, px.x
    k, s, g = details.up_kernel, step.scale, explained.group
    _, h, w = step.input.shape
    sy, sx = explained.source
    shuffle = shuffle_view(step, int(oy), int(ox), g)
    a, b = shuffle.sub_pixel
    st.latex(r"\ell_{g k^2 + t}(s i + a,\; s j + b) = z_{(g k^2 + t)\, s^2 + a s + b}(i, j)")
    st.markdown(
        f"**Pixel shuffle** moves channels to space: the {details.encoder_logits.shape[0]} encoder "
        f"outputs at input pixel ({sy}, {sx}) are dealt out as the {s * s} kernels of the "
        f"{s}×{s} output pixels it covers, {k * k} logits each. Output pixel ({oy}, {ox}) is "
        f"sub-pixel (a, b) = ({a}, {b}) (framed). Shape "
        f"{_shape(details.encoder_logits.shape[0], h, w)} → "
        f"{_shape(details.kernel_logits.shape[0], s * h, s * w)}."
    )
    offsets = range(-step.geometry.radius, step.geometry.radius + 1)
    taps = [(dy, dx) for dy in range(k) for dx in range(k)]
    t = st.selectbox(
        "Tap",
        range(k * k),
        index=min(int(st.session_state.get("hiw_tap", (k * k) // 2)), k * k - 1),
        key="hiw_tap",
        format_func=lambda i: f"t = {i}: dy {offsets[taps[i][0]]:+d}, dx {offsets[taps[i][1]]:+d}",
        help="Pick a tap (dy, dx) of the k×k kernel: it is outlined in every kernel below.",
    )
    dy, dx = taps[t]
    st.plotly_chart(
        shuffle_figs.block_kernels_figure(
            shuffle,
            (dy, dx),
            title=f"Kernel logits of the {s}×{s} block of input pixel ({sy}, {sx})",
        ),
        key="hiw_ps",
        config=style.png_config("pixel_shuffle"),
    )
    channel = int(shuffle.channels[a, b, dy, dx])
    others = ", ".join(str(int(shuffle.channels[i, j, dy, dx])) for i in range(s) for j in range(s))
    st.markdown(
        f"Tap t = {t} (dy {offsets[dy]:+d}, dx {offsets[dx]:+d}) of output pixel ({oy}, {ox}) "
        f"comes from **encoder channel (g·k² + t)·s² + a·s + b = ({g}·{k * k} + {t})·{s * s} + "
        f"{a}·{s} + {b} = {channel}** at input pixel ({sy}, {sx}). The same tap of the "
        f"{s * s} sub-pixels comes from channels {others}: neighbours in channel order "
        f"become the {s}×{s} neighbouring output pixels."
    )
    shown = ~np.isnan(shuffle.kernel_logits)
    st.caption(
        "The shuffle only moves numbers: the model's kernel-logit tensor at these output "
        "pixels equals the encoder outputs above (largest difference "
        f"{max_abs_difference(shuffle.kernel_logits[shown], shuffle.logits[shown]):.2e})"
        + (
            "; sub-pixels past the cropped output map are shown from the encoder alone."
            if not shown.all()
            else "."
        )
    )


def softmax_stage(px: Followed) -> None:
    """Stage 4: the softmax over the k² taps makes the kernel."""
    details, explained, pad = px.details, px.explained, px.pad
    k, s = details.up_kernel, px.step.scale
    _, h, w = px.step.input.shape
    st.latex(r"w_t = \frac{\exp \ell_t}{\sum_{t'=1}^{k^2} \exp \ell_{t'}}")
    st.markdown(
        f"The softmax over the {k * k} taps makes the kernel positive and sum to 1, so "
        "the output is a weighted average of the window (no change of overall "
        "brightness). Shape stays " + _shape(details.kernels.shape[0], s * h, s * w) + "."
    )
    st.plotly_chart(
        kernel_figs.kernel_figure(explained.kernel, "Kernel (model)", zmax=1.0, outside=pad),
        key="hiw_k",
        config=style.png_config("kernel_model"),
    )
    st.caption(f"Sum of the weights: {explained.kernel.sum():.6f}.")
    _by_hand(
        explained.kernel,
        explained.kernel_by_hand,
        "softmax of the logits in numpy",
        kernel_figs.kernel_figure(
            explained.kernel_by_hand, "softmax by hand", zmax=1.0, outside=pad
        ),
        "hiw_k_hand",
        "kernel_by_hand",
    )


def reassembly_stage(px: Followed) -> None:
    """Stage 5: the kernel times the window of one channel, against bilinear's value."""
    explained, oy, ox, ch, pad = px.explained, px.y, px.x, px.channel, px.pad
    k, s = px.details.up_kernel, px.step.scale
    c_in, h, w = px.step.input.shape
    sy, sx = explained.source
    st.latex(
        r"y_c(i', j') = \sum_{dy,dx=0}^{k-1} w_{dy,dx}(i', j')\; "
        r"x_c\!\left(\lfloor i'/s \rfloor + dy - r,\; \lfloor j'/s \rfloor + dx - r\right)"
    )
    st.markdown(
        f"**Reassembly**: multiply the kernel with the {k}×{k} window of channel {ch} "
        f"around input pixel ({sy}, {sx}) = (⌊{oy}/{s}⌋, ⌊{ox}/{s}⌋) and add up. "
        "Outside the map the input counts as 0. Shape "
        f"{_shape(c_in, h, w)} → {_shape(c_in, s * h, s * w)}."
    )
    c1, c2, c3 = st.columns(3)
    c1.plotly_chart(
        kernel_figs.kernel_figure(explained.kernel, "Kernel w", zmax=1.0, outside=pad),
        key="hiw_rk",
        config=style.png_config("reassembly_kernel"),
    )
    c2.plotly_chart(
        kernel_figs.kernel_figure(
            explained.window,
            f"Window x (channel {ch})",
            fmt="auto",
            colorscale=style.DIV,
            colorbar_title="value",
            outside=pad,
        ),
        key="hiw_win",
        config=style.png_config("window"),
    )
    c3.plotly_chart(
        kernel_figs.kernel_figure(
            explained.products,
            "w × x",
            fmt="auto",
            colorscale=style.DIV,
            colorbar_title="product",
            outside=pad,
        ),
        key="hiw_prod",
        config=style.png_config("products"),
    )
    if explained.padding_weight > PADDING_NOTE:
        st.warning(
            f"**{explained.padding_weight:.1%}** of the kernel's weight lies on taps outside the image "
            '(grey, "pad"). Taps past the input map read the op\'s zero padding and pull the '
            "output toward zero; taps in the band the model added below or right of the image "
            "read copies of its last row or column."
        )
    m1, m2, m3 = st.columns(3)
    m1.metric("By hand: Σ w·x", f"{explained.value_by_hand:.6g}")
    m2.metric("CARAFE op output", f"{explained.value_op:.6g}")
    m3.metric("Difference", f"{abs(explained.value_by_hand - explained.value_op):.1e}")
    if abs(explained.value_by_hand - explained.value_op) <= 1e-4 * max(
        1.0, abs(explained.value_op)
    ):
        st.success(
            f"The hand computation equals the operator's output y[{ch}, {oy}, {ox}] "
            "(float32 rounding aside)."
        )
    else:
        st.error("The hand computation does not match the operator's output.")
    if explained.bilinear_value is not None:
        st.markdown(f"**The same pixel by bilinear interpolation** (channel {ch}):")
        b1, b2, b3 = st.columns(3)
        b1.metric("CARAFE", f"{explained.value_op:.6g}")
        b2.metric("Bilinear", f"{explained.bilinear_value:.6g}")
        b3.metric("CARAFE − bilinear", f"{explained.value_op - explained.bilinear_value:+.3g}")
        if explained.bilinear_kernel is not None:
            st.caption(
                "Bilinear gives every output pixel at sub-pixel "
                f"({explained.sub_pixel[0]}, {explained.sub_pixel[1]}) the same fixed weights, whatever the "
                "content: up to four taps, in the expander. "
                + (
                    f"Applied to this window they give {explained.bilinear_by_kernel:.6g}, bilinear's "
                    "output."
                    if abs(explained.bilinear_by_kernel - explained.bilinear_value)
                    <= 1e-4 * max(1.0, abs(explained.bilinear_value))
                    else f"Applied to this zero-padded window they give "
                    f"{explained.bilinear_by_kernel:.6g}; bilinear itself repeats the border "
                    "pixels instead of reading zeros, hence its different value here."
                )
            )
            with st.expander("Bilinear's weights for this pixel, on the same window"):
                st.plotly_chart(
                    kernel_figs.kernel_figure(
                        explained.bilinear_kernel, "Bilinear's kernel", zmax=1.0, outside=pad
                    ),
                    key="hiw_bil",
                    config=style.png_config("bilinear_kernel"),
                )


def main() -> None:
    mode = intro()
    cur = None
    if mode == "Toy 6×6":
        px = toy_pixel()
    else:
        cur = state.require_current()
        px = image_pixel(cur)
    stage = stage_buttons()
    (compressor_stage, encoder_stage, shuffle_stage, softmax_stage, reassembly_stage)[stage](px)
    if mode == "Your image" and STAGES[stage] == "Content encoder":
        with st.expander("What each kernel predictor sees, at this pixel"):
            family_panel(cur, px.step, px.y, px.x, False, cur.training_like, page="hiw")
    if mode == "Your image":
        pins.panel(cur, "hiw")
    texts.cite()


main()
