"""Explore: the image (with its segmentation, for a scene model); click a pixel to see the
model's kernel.

Look first, read on demand: the picture and the kernel open the page under one measured line
about this image; the rest waits in expanders and later tabs."""

from __future__ import annotations

import functools
from dataclasses import dataclass

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
import widgets
from feature_maps import PCA_TAB, show_pca_maps
from figures import draw, style
from figures.click_image import click_canvas, click_image
from kernel_family_view import family_panel

from carafe.inspect.catalog import (
    display_name,
    first_twin,
    is_photo_model,
    load_metrics,
    stored_border_sentence,
)
from carafe.inspect.habits import (
    border_sentence,
    entropy_sentence,
    flat_sentence,
    what_if_sentence,
)
from carafe.inspect.kernel_compare import compare_pixel
from carafe.inspect.photo_models import stored_photo_sentences
from carafe.inspect.pixel import PADDING_NOTE, kernel_view, start_pixel
from carafe.inspect.regions import image_alignment_sentence, pixel_alignment_sentence
from carafe.inspect.sampling import sampling_at


@dataclass(frozen=True)
class Explored:
    """What the page explores: the current analysis and step (``cur``), the kernel group
    shown, and the measures of the step quoted around the kernels (border and flat-region
    habits, the image-wide region measure, or None)."""

    cur: state.Current
    group: int
    border: object
    flat: object
    edges: object

    @property
    def step(self):
        return self.cur.step

    @property
    def details(self):
        return self.cur.step.carafe

    @property
    def k(self) -> int:
        return self.details.up_kernel


def comparison_labels(ex: Explored):
    """What the three-ways panel counts as the pixel's own part: the image-wide measure's
    labels (a scene's true objects, a photo's colour regions), never the predicted classes;
    (labels or None, "object" or "region")."""
    if ex.edges is None:
        return None, "region"
    return ex.edges.regions_map, "object" if ex.edges.true_labels else "region"


def show_comparison(ex: Explored, oy: int, ox: int, channel: int) -> None:
    """The panel: three kernels on one window, then own-object share, padding weight, value."""
    step = ex.step
    labels, what = comparison_labels(ex)
    class_names = ex.cur.analysis.class_names if what == "object" else []
    cmp = compare_pixel(step, oy, ox, channel, labels)
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
                f"weight on own {what}": None if m.own_share is None else f"{m.own_share:.3f}",
                "weight on zero padding": f"{m.padding_weight:.3f}",
                f"output value (channel {channel})": f"{m.value:.4f}",
            }
        )
    st.markdown(texts.numbers_table(rows))
    if cmp.own_label is not None and class_names:
        own = class_names[cmp.own_label] if cmp.own_label < len(class_names) else cmp.own_label
        st.caption(f"True class of the output pixel (the scene's mask): **{own}**.")
    source = (
        "the scene's true objects"
        if what == "object"
        else "the image's colour regions (a label-free segmentation)"
    )
    with st.expander("How the three kernels are made"):
        st.markdown(
            "Bilinear interpolation and nearest neighbour are weighted sums of the same window "
            "too, with **fixed** weights: bilinear gives every output pixel up to 4 taps that "
            "depend only on where it sits in its s×s block; nearest copies the centre tap. "
            f"{display_name(step.kind)} predicts its weights from the content. All three on the "
            f"same 0–1 colour scale; taps marked *other* lie on another {what} of {source}, "
            f"*pad* outside the image. Where the whole window is one {what}, all three put "
            "weight 1 on it and differ only in how they average the texture."
        )


def intro() -> None:
    """What CARAFE does and how to use the page, on demand."""
    with st.expander("What CARAFE does, and how to use this page"):
        st.markdown(
            "CARAFE enlarges a feature map ×2 in a **content-aware** way: for every output pixel it "
            "predicts a small k×k **reassembly kernel** from the image content, and the output is the "
            "kernel-weighted sum of the k×k input pixels around the source location. Bilinear "
            "interpolation always uses the same fixed weights; CARAFE can put its weight on the side "
            "of an edge that belongs to the same object. **Click any pixel** of the image (or type its "
            "row/column) to see its kernel; it starts at a typical pixel of this image's edges."
        )


def step_caption(cur) -> None:
    """The step, the image size, and how long the analysis took on which backend."""
    analysis = cur.analysis
    st.caption(
        f"{texts.step_title(cur.step)} · image {cur.image.shape[0]}×{cur.image.shape[1]} px "
        "(rows × columns) · "
        f"analysis {analysis.seconds:.2f} s · op backend: {analysis.backend}"
    )


def image_edges(cur):
    """The image-wide measure of how the kernels follow this image's colour regions (None
    when it cannot be measured), stated first: the page's "what to notice"."""
    edges = state.image_alignment_for(
        cur.model_name, cur.image_key, cur.analysis, state.scene_name(cur.name)
    )
    if edges is not None:
        st.markdown("**This image's edges.** " + image_alignment_sentence(edges))
    else:
        st.markdown(
            "**This image's edges.** No kernel window of this image straddles two of its "
            "parts, so there is no edge for the kernels to follow."
        )
    return edges


def _on_click(step) -> None:
    """Select the output pixel under the click (the canvas drawn last says where it was)."""
    event, canvas = st.session_state.get("explore_click"), st.session_state.get("explore_canvas")
    if not event or canvas is None:
        return
    pixel = canvas.pixel_of_event(event)
    if pixel is not None:  # a click in the grey margin selects nothing
        state.select_output_pixel(step, *step.geometry.output_pixel_at(*pixel))


def kernel_group(step) -> int:
    """The kernel group shown (a picker only when the step has more than one)."""
    groups = step.carafe.up_group
    geo = step.geometry
    if groups == 1:
        return 0
    return st.radio(
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


def _jump_to_edge(step, group: int, segmentation) -> None:
    state.select_output_pixel(step, *start_pixel(step, group, segmentation))


def _dysample(ex: Explored, oy: int, ox: int, per_pixel: bool) -> None:
    """Where the DySample twin samples for the same output pixel, as a sparse kernel."""
    cur, step, k = ex.cur, ex.step, ex.k
    peer = first_twin(family="points")  # the shipped point sampler (DySample), if any
    points = state.points_for(peer, cur.image_key, cur.image) if peer else None
    pts = None
    if points is not None and cur.step_index < len(points):
        pts = points[cur.step_index]
    if pts is None or pts.shape[1:3] != step.output_shape:
        st.caption(
            "No DySample twin is shipped (assets/dysample.safetensors)."
            if points is None
            else "The DySample twin has no sampling points for this step."
        )
        return
    sampled = sampling_at(pts, step, oy, ox)
    st.markdown(f"**DySample twin** (trained the same way, ICCV 2023) at pixel ({oy}, {ox})")
    st.plotly_chart(
        kernel_figs.kernel_figure(
            sampled.kernel,
            f"DySample: where output pixel ({oy}, {ox}) samples",
            zmax=None if per_pixel else 1.0,
            outside=~sampled.in_image if (~sampled.in_image).any() else None,
        ),
        config=style.png_config(f"dysample_{oy}_{ox}"),
        key="explore_dysample",
    )
    moves = ", ".join(
        "({}, {})".format(*draw.number_text([dy, dx], "+.2f")) for dx, dy in sampled.offsets
    )
    taps = "; ".join(
        f"group {i}: " + ", ".join(f"({t.row}, {t.col}) {t.weight:.2f}" for t in group)
        for i, group in enumerate(sampled.taps)
    )
    st.caption(
        f"Instead of a {k}×{k} kernel, DySample moves one point per channel group ({len(sampled.taps)} "
        f"groups) and reads it by bilinear interpolation: at most 4 input pixels each. The grid "
        f"shows their weights averaged over the groups, on the same window as CARAFE's kernel. "
        f"Each point starts at the sub-pixel centre (row, col) = ({sampled.start[1]:.2f}, "
        f"{sampled.start[0]:.2f}), where plain bilinear samples, and moved by (rows, cols) = {moves} "
        f"input pixels. Taps (row, col) weight: {taps}."
        + (
            f" {sampled.outside_window:.1%} of the weight lies beyond this window."
            if sampled.outside_window > 0.001
            else ""
        )
    )


def kernel_panel(ex: Explored, view, per_pixel: bool) -> None:
    """The selected pixel's kernel, its numbers and what they say (the right column)."""
    step, k, edges = ex.step, ex.k, ex.edges
    oy, ox = view.y, view.x
    st.plotly_chart(
        kernel_figs.kernel_figure(
            view.kernel,
            f"Reassembly kernel of output pixel ({oy}, {ox})",
            zmax=None if per_pixel else 1.0,
            outside=view.outside if view.outside.any() else None,
        ),
        config=style.png_config(f"kernel_{oy}_{ox}"),
        key="explore_kernel",
    )
    if edges is not None and step.index == edges.step_index:
        shares = edges.shares_at(oy, ox)
        st.caption(
            pixel_alignment_sentence(edges, oy, ox, *shares)
            if shares
            else f"This pixel's {k}×{k} window lies within one "
            + ("object" if edges.true_labels else "colour region")
            + " of the image."
        )
    widgets.kernel_metrics(view)
    sy, sx = view.source
    st.markdown(
        f"Output pixel **({oy}, {ox})** reads the {k}×{k} window around input pixel "
        f"**({sy}, {sx})** = (⌊{oy}/{step.scale}⌋, ⌊{ox}/{step.scale}⌋); weights sum to "
        f"{view.weight_sum:.4f}."
    )
    if view.padding_weight > PADDING_NOTE:
        st.warning(
            f"**{view.padding_weight:.1%}** of this kernel's weight lies on taps outside the "
            'image (grey, "pad"). Past the input map the op reads zeros, so weight there pulls '
            "the output toward zero instead of toward the image's features; in the band the "
            "model added below or right of the image it reads copies of the last row or column."
        )


def image_panel(ex: Explored, view) -> tuple[int, int]:
    """The clickable image with the pixel and its window framed, the row / column inputs and
    the edge-pixel button (the left column); returns the selected pixel."""
    cur, step, k = ex.cur, ex.step, ex.k
    analysis = cur.analysis
    toggle, opacity = st.columns([1, 1])
    show_seg = toggle.toggle(
        "Show segmentation",
        value=analysis.segmentation is not None,
        disabled=analysis.segmentation is None,
    )
    alpha = opacity.slider("Overlay opacity", 0.0, 1.0, 0.45, 0.05, disabled=not show_seg)
    if analysis.segmentation is None and is_photo_model(cur.model_name):
        st.caption(texts.NO_SEGMENTATION_PHOTO)
    canvas = click_canvas(
        cur.image,
        analysis.segmentation if show_seg else None,
        alpha,
        view,
        margin=step.geometry.radius * step.stride_in,  # as far as a window reaches past the image
    )
    st.session_state["explore_canvas"] = canvas
    st.markdown(
        f"**Image** ({cur.image.shape[0]}×{cur.image.shape[1]} pixels, rows × columns): "
        "click an output pixel"
    )
    click_image(canvas, key="explore_click", on_click=functools.partial(_on_click, step))
    if show_seg and analysis.class_names:
        st.markdown(
            "Segmentation: "
            + image_figs.legend_html(analysis.class_names, np.unique(analysis.segmentation)),
            unsafe_allow_html=True,
        )
    with st.expander("How to read the picture"):
        st.caption(
            f"White-and-black frame with four ticks: the output pixel (it covers "
            f"{step.stride_out}×{step.stride_out} image pixels). Dashed cyan: its {k}×{k} source "
            f"window in the coarser input map (each input pixel covers "
            f"{step.stride_in}×{step.stride_in} image pixels). Grey: outside the image (zero "
            "padding). A click selects the output pixel under the cursor."
        )
    oy, ox = state.pixel_inputs(step, key="explore_px")
    st.button(
        "Show me an edge pixel",
        key="explore_edge",
        on_click=_jump_to_edge,
        args=(step, ex.group, comparison_labels(ex)[0]),
        help="Selects the pixel whose kernel leans furthest to one side, among those whose "
        "window lies inside the image, preferring boundaries of the image's objects or "
        "colour regions.",
    )
    return int(oy), int(ox)


def feature_maps(ex: Explored, view) -> int:
    """One channel of the input map and of CARAFE's output, the pixel and its window marked;
    returns the channel."""
    step, oy, ox = ex.step, view.y, view.x
    ch = widgets.channel_picker(step, "explore_channel")
    vh, vw = step.geometry.visible_input_hw()
    if (vh, vw) != tuple(step.input.shape[1:]):
        st.caption(
            f"The model pads the image (bottom/right, repeating its last row and column) to a "
            f"multiple of "
            f"{ex.cur.analysis.pad_multiple} pixels (its coarsest stride), so the maps reach a "
            f"little past the image: only the first {vh}×{vw} input pixels cover it."
        )
    input_map, output_map = st.columns(2)
    input_map.plotly_chart(
        map_figs.map_figure(
            step.input[ch],
            f"Input map (channel {ch}), {step.input.shape[1]}×{step.input.shape[2]}",
            colorscale=style.DIV,
            window=view.map_window,
            cell=(view.source[0], view.source[1], view.source[0] + 1, view.source[1] + 1),
            colorbar_title="value",
        ),
        config=style.png_config("input_map"),
        key="explore_in",
    )
    output_map.plotly_chart(
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
    return ch


@st.fragment
def pixel_view(ex: Explored) -> None:
    """Everything that depends on the clicked pixel; reruns alone on a click (fast)."""
    step = ex.step
    oy, ox = state.selected_pixel(step)
    view = kernel_view(step, oy, ox, ex.group)
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
        kernel_panel(ex, view, per_pixel)
    with left:
        oy, ox = image_panel(ex, view)
    view = kernel_view(step, oy, ox, ex.group)
    ways, family, dysample, maps = st.tabs(
        ["The same pixel, three ways", "The kernel family", "DySample twin", "Feature maps"]
    )
    with maps:
        ch = feature_maps(ex, view)
    with ways:
        show_comparison(ex, oy, ox, ch)
    with family:
        family_panel(ex.cur, ex.step, oy, ox, per_pixel, comparison_labels(ex)[1] == "object")
    with dysample:
        _dysample(ex, oy, ox, per_pixel)


def kernel_statistics(ex: Explored) -> None:
    """Entropy, peak and lean of every kernel over the whole image."""
    details, step = ex.details, ex.step
    oh, ow = step.visible_output_hw()
    st.caption(entropy_sentence(details.entropy[ex.group, :oh, :ow], ex.k, step.scale))
    columns = st.columns(3)
    stats = map_figs.kernel_statistics_figures(
        details,
        ex.group,
        image_figs.map_background(ex.cur.image, details.com_dy.shape[1:], step.visible_output_hw()),
    )
    for column, fig, name in zip(columns, stats, ("entropy", "peak", "com"), strict=True):
        column.plotly_chart(
            fig,
            config=style.png_config("com_offset" if name == "com" else name),
            key=f"explore_{name}",
        )
    wheel, caption = st.columns([1, 6])
    wheel.image(map_figs.wheel_legend(), width=64, caption="direction")
    caption.caption("Lean: colour = direction (wheel), brightness = distance.")
    with st.expander("How to read these maps"):
        st.markdown(
            "**Entropy** (nats) measures how spread out a kernel is: 0 when one tap holds all "
            f"the weight, log(k²) = {np.log(ex.k**2):.2f} when every tap holds the same. "
            "**Peak** is the largest tap weight. The centre-of-mass map shows where each kernel "
            "**leans**: near an edge a good kernel leans away from the other object (paper, "
            "Fig. 5). Wheel: right = leans right (+dx), up = leans up (−dy); no colour = "
            "centred kernel. Arrows only where the lean is clear, on a coarse grid. The grey "
            "image underneath shows where the objects are."
        )


def border_section(ex: Explored) -> None:
    """One output row across the image: CARAFE, bilinear, nearest and the what-if."""
    cur, step = ex.cur, ex.step
    st.markdown(border_sentence(ex.border))
    st.caption(
        "The **border ring** is the outermost row and column of output pixels on each side. "
        "The Compare page's **border frame** is wider: every output pixel whose window reaches "
        "past the image."
    )
    st.markdown(
        "Outside the input map the op reads **zeros** (zero padding, as in the paper's code and "
        "mmcv); where the image does not fill the map, the model repeated its last row and "
        "column. A kernel that puts weight on taps past the map pulls its output toward zero. Bilinear "
        "interpolation never reads outside: at the border it repeats the border value. Below, "
        "one output row from the left border to the right: CARAFE, bilinear and nearest on the "
        "same input, and a **what-if** (dashed): the same CARAFE kernels with their weight on "
        "taps outside the image given back to their taps inside (renormalised), computed with "
        "the real op."
    )
    visible_rows = step.visible_output_hw()[0]
    controls, chart = st.columns([1, 3])
    profile_row = controls.number_input(
        "Output row of the profile",
        0,
        visible_rows - 1,
        visible_rows // 2,
        key="explore_border_row",
    )
    profile_channel = widgets.channel_picker(step, "explore_border_channel", "Channel", controls)
    profile = state.border_profile_for(
        cur.model_name, cur.image_key, cur.step_index, int(profile_row), int(profile_channel), step
    )
    chart.plotly_chart(
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
    controls.caption(what_if_sentence(ex.border))
    stored = stored_border_sentence(load_metrics())
    if stored:
        st.caption(stored)


def flat_section(ex: Explored) -> None:
    """What the kernels do where the window lies on one colour."""
    st.markdown(flat_sentence(ex.flat))


def downloads_section(cur) -> None:
    st.download_button(
        "Kernels and maps of this image (.npz)",
        data=lambda: downloads.download_npz(cur),
        file_name=f"carafe_{cur.name.rsplit('.', 1)[0]}.npz",
        mime="application/octet-stream",
        on_click="ignore",
    )
    st.caption("Each figure has a camera button (top right, on hover) that saves it as PNG.")


def main() -> None:
    cur = state.require_current()
    st.title(f"Explore: what does {display_name(cur.step.kind)} predict?")
    tour.banner("explore", cur)
    widgets.require_kernels(cur.step)
    edges = image_edges(cur)
    step_caption(cur)
    if not cur.training_like and not is_photo_model(cur.model_name):
        with st.expander("Not a training scene: what the model's classes mean here"):
            st.caption(texts.TRAINED_FOR)
    stored = stored_photo_sentences(load_metrics(), cur.step.kind)
    if is_photo_model(cur.model_name) and stored:
        with st.expander("How this photo model did on the held-out photos (stored)"):
            st.markdown("\n".join(f"- {line}" for line in stored))
            st.caption(texts.PHOTO_TARGETS_NOTE)
    intro()
    group = kernel_group(cur.step)
    border, flat = state.habits_for(
        cur.model_name, cur.image_key, cur.step_index, group, cur.step, cur.image
    )
    explored = Explored(cur, group, border, flat, edges)
    pixel_view(explored)
    pins.panel(cur, "explore")
    stats, border, flat, pca, files = st.tabs(
        ["Kernel statistics", "At the image border", "Flat regions", PCA_TAB, "Downloads"]
    )
    with stats:
        kernel_statistics(explored)
    with border:
        border_section(explored)
    with flat:
        flat_section(explored)
    with pca:
        show_pca_maps(cur)
    with files:
        downloads_section(cur)
    texts.cite()


main()
