"""Explore: the image with its segmentation; click a pixel to see its CARAFE kernel."""

from __future__ import annotations

import downloads
import figures.charts as chart_figs
import figures.images as image_figs
import figures.kernels as kernel_figs
import figures.maps as map_figs
import numpy as np
import pins
import state
import streamlit as st
import texts
import tour
from figures import draw, style
from figures.click_image import click_canvas
from streamlit_image_coordinates import streamlit_image_coordinates

from carafe.inspect.catalog import load_metrics, stored_border_sentence
from carafe.inspect.habits import border_sentence, flat_sentence, what_if_sentence
from carafe.inspect.kernel_compare import compare_pixel
from carafe.inspect.pixel import kernel_view, start_pixel
from carafe.inspect.regions import image_alignment_sentence, pixel_alignment_sentence
from carafe.inspect.sampling import sampling_at


def show_comparison(step, oy: int, ox: int, channel: int, segmentation, class_names) -> None:
    """The panel: three kernels on one window, then own-object share, padding weight, value."""
    cmp = compare_pixel(step, oy, ox, channel, segmentation)
    st.subheader("The same pixel, three ways")
    st.markdown(
        "Bilinear interpolation and nearest neighbour are weighted sums of the same window too, "
        "with **fixed** weights: bilinear gives every output pixel up to 4 taps that depend only "
        "on where it sits in its s×s block; nearest copies the centre tap. CARAFE predicts its "
        "weights from the content. All three on the same 0–1 colour scale; taps marked "
        "*other* lie on another object of the predicted segmentation, *pad* outside the image."
    )
    st.plotly_chart(
        kernel_figs.comparison_figure(cmp, class_names),
        config=style.png_config(f"three_kernels_{oy}_{ox}"),
        key="explore_three_kernels",
    )
    rows = []
    for m in cmp.methods:
        rows.append(
            {
                "method": m.display_name,
                "weight on own object": None if m.own_share is None else f"{m.own_share:.3f}",
                "weight on zero padding": f"{m.padding_weight:.3f}",
                f"output value (channel {channel})": f"{m.value:.4f}",
            }
        )
    st.markdown(texts.numbers_table(rows))
    if cmp.own_label is not None and class_names:
        own = class_names[cmp.own_label] if cmp.own_label < len(class_names) else cmp.own_label
        shares = {m.method: m.own_share for m in cmp.methods}
        st.caption(
            f"The output pixel's predicted class is **{own}**. CARAFE puts "
            f"{shares['carafe']:.3f} of its weight on taps of that class, bilinear "
            f"{shares['bilinear']:.3f}, nearest {shares['nearest']:.3f}. Where the whole window "
            "is one object all three are 1 and the kernels differ only in how they average "
            "the texture."
        )


st.title("Explore: what does CARAFE predict?")
st.markdown(
    "CARAFE enlarges a feature map ×2 in a **content-aware** way: for every output pixel it "
    "predicts a small k×k **reassembly kernel** from the image content, and the output is the "
    "kernel-weighted sum of the k×k input pixels around the source location. Bilinear "
    "interpolation always uses the same fixed weights; CARAFE can put its weight on the side "
    "of an edge that belongs to the same object. **Click any pixel** of the image (or type its "
    "row/column) to see its kernel; it starts at a typical pixel of this image's edges."
)

cur = state.require_current()
tour.banner("explore", cur)
a = cur.analysis
step = cur.step
d = step.carafe
st.caption(
    f"{texts.step_title(step)} · image {cur.image.shape[0]}×{cur.image.shape[1]} px "
    "(rows × columns) · "
    f"analysis {a.seconds:.2f} s · op backend: {a.backend}"
)
if d is None:
    st.info(
        f"This checkpoint upsamples with **{step.kind}** at this step, so there are no "
        "predicted kernels to show. Pick the 'carafe' checkpoint in the sidebar."
    )
    st.stop()

k, groups = d.up_kernel, d.up_group
geo = step.geometry
if not cur.training_like:
    st.caption(texts.TRAINED_FOR)
edges = state.image_alignment_for(cur.model_name, cur.image_key, a)
if edges is not None:
    st.markdown("**This image's edges.** " + image_alignment_sentence(edges))


def _on_click() -> None:
    """Select the output pixel under the click (the canvas drawn last says where it was)."""
    event, canvas = st.session_state.get("explore_click"), st.session_state.get("explore_canvas")
    if not event or canvas is None or "x" not in event:
        return
    pixel = canvas.image_pixel(event["x"], event["y"])
    if pixel is not None:  # a click in the grey margin selects nothing
        state.select_output_pixel(step, *geo.output_pixel_at(*pixel))


g = 0
if groups > 1:
    g = st.radio(
        "Kernel group",
        range(groups),
        horizontal=True,
        key="explore_group",
        format_func=lambda i: (
            f"group {i} (channels {geo.channels_of_group(i)[0]}–{geo.channels_of_group(i)[-1]})"
        ),
        help="With G groups, CARAFE predicts G kernels per pixel; channel c uses "
        "kernel c // (C/G).",
    )


border, flat = state.habits_for(cur.model_name, cur.image_key, cur.step_index, g, step, cur.image)


def _jump_to_edge() -> None:
    state.select_output_pixel(step, *start_pixel(step, g, a.segmentation))


def _dysample(oy: int, ox: int, per_pixel: bool) -> None:
    """Where the DySample twin samples for the same output pixel, as a sparse kernel."""
    points = state.dysample_points_for(cur.image_key, cur.image)
    if points is None or cur.step_index >= len(points) or points[cur.step_index] is None:
        return
    pts = points[cur.step_index]
    if pts.shape[1:3] != step.output_shape:
        return
    sv = sampling_at(pts, step, oy, ox)
    st.markdown(f"**DySample twin** (trained the same way, ICCV 2023) at pixel ({oy}, {ox})")
    st.plotly_chart(
        kernel_figs.kernel_figure(
            sv.kernel,
            f"DySample: where output pixel ({oy}, {ox}) samples",
            zmax=None if per_pixel else 1.0,
            outside=~sv.in_image if (~sv.in_image).any() else None,
        ),
        config=style.png_config(f"dysample_{oy}_{ox}"),
        key="explore_dysample",
    )
    moves = ", ".join(
        "({}, {})".format(*draw.number_text([dy, dx], "+.2f")) for dx, dy in sv.offsets
    )
    taps = "; ".join(
        f"group {g}: " + ", ".join(f"({t.row}, {t.col}) {t.weight:.2f}" for t in group)
        for g, group in enumerate(sv.taps)
    )
    st.caption(
        f"Instead of a {k}×{k} kernel, DySample moves one point per channel group ({len(sv.taps)} "
        f"groups) and reads it by bilinear interpolation: at most 4 input pixels each. The grid "
        f"shows their weights averaged over the groups, on the same window as CARAFE's kernel. "
        f"Each point starts at the sub-pixel centre (row, col) = ({sv.start[1]:.2f}, "
        f"{sv.start[0]:.2f}), where plain bilinear samples, and moved by (rows, cols) = {moves} "
        f"input pixels. Taps (row, col) weight: {taps}."
        + (
            f" {sv.outside_window:.1%} of the weight lies beyond this window."
            if sv.outside_window > 0.001
            else ""
        )
    )


@st.fragment
def pixel_view() -> None:
    """Everything that depends on the clicked pixel; reruns alone on a click (fast)."""
    oy, ox = state.selected_pixel(step)
    v = kernel_view(step, oy, ox, g)
    left, right = st.columns([1.15, 1], gap="medium")
    # the kernel view is written first, so it reaches the browser first after a click
    with right:
        per_pixel = st.toggle(
            "Colour scale per pixel",
            value=False,
            key="explore_kernel_scale",
            help="Off: every kernel on the same 0–1 scale, so a peaked kernel looks peaked and "
            "a diffuse one looks flat. On: 0 to this kernel's largest weight.",
        )
        st.plotly_chart(
            kernel_figs.kernel_figure(
                v.kernel,
                f"Reassembly kernel of output pixel ({oy}, {ox})",
                zmax=None if per_pixel else 1.0,
                outside=v.outside if v.outside.any() else None,
            ),
            config=style.png_config(f"kernel_{oy}_{ox}"),
            key="explore_kernel",
        )
        if edges is not None and step.index == edges.step_index:
            shares = edges.shares_at(oy, ox)
            st.caption(
                pixel_alignment_sentence(edges, oy, ox, *shares)
                if shares
                else f"This pixel's {k}×{k} window lies within one colour region of the image."
            )
        m1, m2, m3, m4 = st.columns(4)
        m1.metric(
            "Entropy",
            f"{v.entropy:.3f}",
            help=f"In nats. 0 = all weight on one tap; log({k * k}) = {np.log(k * k):.3f} = "
            "uniform.",
        )
        m2.metric("Peak weight", f"{v.peak:.3f}", help=f"Uniform would be {1 / k**2:.3f}.")
        m3.metric(
            "Lean dy",
            draw.number_text([v.lean[0]], "+.2f")[0],
            help="Centre of mass of the kernel, rows from the window centre (+ = down).",
        )
        m4.metric(
            "Lean dx",
            draw.number_text([v.lean[1]], "+.2f")[0],
            help="Centre of mass of the kernel, columns from the window centre (+ = right).",
        )
        sy, sx = v.source
        st.markdown(
            f"Output pixel **({oy}, {ox})** takes its value from the {k}×{k} window around input "
            f"pixel **({sy}, {sx})** = (⌊{oy}/{step.scale}⌋, ⌊{ox}/{step.scale}⌋). The weights sum "
            f"to {v.weight_sum:.4f}."
        )
        if v.padding_weight > 0.01:
            st.warning(
                f"**{v.padding_weight:.1%}** of this kernel's weight lies on taps outside the "
                'image (grey, "pad"). There the input is zero padding (or the area the '
                "model padded), so that weight pulls the output toward zero instead of toward "
                "the image's features."
            )
        st.caption(flat_sentence(flat))
        _dysample(oy, ox, per_pixel)
    with left:
        c1, c2 = st.columns([1, 1])
        show_seg = c1.toggle(
            "Show segmentation", value=a.segmentation is not None, disabled=a.segmentation is None
        )
        alpha = c2.slider("Overlay opacity", 0.0, 1.0, 0.45, 0.05, disabled=not show_seg)
        canvas = click_canvas(
            cur.image,
            a.segmentation if show_seg else None,
            alpha,
            v,
            margin=geo.radius * step.stride_in,  # as far as a window reaches past the image
        )
        st.session_state["explore_canvas"] = canvas
        st.markdown(
            f"**Image** ({cur.image.shape[0]}×{cur.image.shape[1]} pixels, rows × columns): "
            "click an output pixel"
        )
        streamlit_image_coordinates(
            canvas.rgb,
            width=canvas.css_width,
            key="explore_click",
            on_click=_on_click,
            image_format="JPEG",
            jpeg_quality=92,
            cursor="crosshair",
        )
        if show_seg and a.class_names:
            st.markdown(
                "Segmentation: " + image_figs.legend_html(a.class_names, np.unique(a.segmentation)),
                unsafe_allow_html=True,
            )
        st.caption(
            f"White-and-black frame with four ticks: the output pixel (it covers "
            f"{step.stride_out}×{step.stride_out} image pixels). Dashed cyan: its {k}×{k} source "
            f"window in the coarser input map (each input pixel covers "
            f"{step.stride_in}×{step.stride_in} image pixels). Grey: outside the image (zero "
            "padding). A click selects the output pixel under the cursor."
        )
        oy, ox = state.pixel_inputs(step, key="explore_px")
        oy, ox = int(oy), int(ox)
        st.button(
            "Show me an edge pixel",
            key="explore_edge",
            on_click=_jump_to_edge,
            help="Selects the pixel whose kernel leans furthest to one side, among those whose "
            "window lies inside the image, preferring boundaries of the segmentation.",
        )
    v = kernel_view(step, oy, ox, g)

    st.subheader("Feature maps at the right scale")
    order = step.channel_order
    ch = st.selectbox(
        "Feature channel (sorted by energy)",
        [int(c) for c in order[:32]],
        key="explore_channel",
        format_func=lambda c: f"channel {c}",
    )
    vh, vw = geo.visible_input_hw()
    if (vh, vw) != tuple(step.input.shape[1:]):
        st.caption(
            f"The model pads the image with zeros (bottom/right) to a multiple of "
            f"{a.pad_multiple} pixels (its coarsest stride), so the maps reach a little past the "
            f"image: only the first {vh}×{vw} input pixels cover it."
        )
    f1, f2 = st.columns(2)
    f1.plotly_chart(
        map_figs.map_figure(
            step.input[ch],
            f"Input map (channel {ch}), {step.input.shape[1]}×{step.input.shape[2]}",
            colorscale=style.DIV,
            window=v.map_window,
            cell=(v.source[0], v.source[1], v.source[0] + 1, v.source[1] + 1),
            colorbar_title="value",
        ),
        config=style.png_config("input_map"),
        key="explore_in",
    )
    f2.plotly_chart(
        map_figs.map_figure(
            step.output[ch],
            f"CARAFE output (channel {ch}), {step.output.shape[1]}×{step.output.shape[2]}",
            colorscale=style.DIV,
            cell=(oy, ox, oy + 1, ox + 1),
            colorbar_title="value",
        ),
        config=style.png_config("carafe_output"),
        key="explore_out",
    )
    show_comparison(step, oy, ox, ch, a.segmentation, a.class_names)


pixel_view()
pins.panel(cur, "explore")

st.subheader("Kernel statistics over the whole image")
st.markdown(
    "Where do kernels **spread out** (high entropy, like bilinear) and where do they "
    "**concentrate** (high peak)? The centre-of-mass map shows where each kernel **leans**: "
    "near an edge a good kernel leans away from the other object (paper, Fig. 5). "
    "Colour = direction (wheel), brightness = distance; arrows on a coarse grid."
)
s1, s2, s3 = st.columns(3)
stats = map_figs.kernel_statistics_figures(
    d, g, image_figs.map_background(cur.image, d.com_dy.shape[1:], step.visible_output_hw())
)
for column, fig, name in zip((s1, s2, s3), stats, ("entropy", "peak", "com"), strict=True):
    column.plotly_chart(
        fig,
        config=style.png_config("com_offset" if name == "com" else name),
        key=f"explore_{name}",
    )
w1, w2 = st.columns([1, 6])
w1.image(map_figs.wheel_legend(), width=64, caption="direction")
w2.caption(
    "Wheel: right = leans right (+dx), up = leans up (−dy); no colour = centred "
    "kernel. Arrows only where the lean is clear. The grey image underneath shows where the "
    "objects are. " + border_sentence(border)
)

st.subheader("At the image border: zero padding")
st.markdown(
    "Outside the input map the op reads **zeros** (zero padding, as in the paper's code and "
    "mmcv), and where the image does not fill the map the model padded it with black. A kernel "
    "that puts weight on taps out there pulls its output toward zero. Bilinear interpolation "
    "never reads outside: at the border it repeats the border value. Below, one output row "
    "from the left border to the right: CARAFE, bilinear and nearest on the same input, and a "
    "**what-if** (dashed): the same CARAFE kernels with their weight on taps outside the image "
    "given back to their taps inside (renormalised), computed with the real op."
)
oh_vis, ow_vis = step.visible_output_hw()
b1, b2 = st.columns([1, 3])
profile_row = b1.number_input(
    "Output row of the profile", 0, oh_vis - 1, oh_vis // 2, key="explore_border_row"
)
profile_channel = b1.selectbox(
    "Channel",
    [int(c) for c in step.channel_order[:32]],
    key="explore_border_channel",
    format_func=lambda c: f"channel {c}",
)
profile = state.border_profile_for(
    cur.model_name, cur.image_key, cur.step_index, int(profile_row), int(profile_channel), step
)
b2.plotly_chart(
    chart_figs.profile_lines(
        profile.columns,
        profile.values,
        {
            "carafe": "CARAFE",
            "renormalised": "CARAFE, padding weight given back (what-if)",
            "bilinear": "Bilinear",
            "nearest": "Nearest",
        },
        f"Channel {profile.channel} along output row {profile.row}",
    ),
    config=style.png_config(f"border_profile_{profile.row}"),
    key="explore_border_profile",
)
b1.caption(what_if_sentence(border))
stored = stored_border_sentence(load_metrics())
if stored:
    st.caption(stored)

st.subheader("Downloads")
st.download_button(
    "Kernels and maps of this image (.npz)",
    data=lambda: downloads.download_npz(cur),
    file_name=f"carafe_{cur.name.rsplit('.', 1)[0]}.npz",
    mime="application/octet-stream",
    on_click="ignore",
)
st.caption("Each figure has a camera button (top right, on hover) that saves it as PNG.")
texts.cite()
