"""Watch CARAFE learn: the same image and pixel through the training snapshots, beside the
stored curves of every snapshot."""

from __future__ import annotations

from pathlib import Path

import figures.images as image_figs
import figures.kernels as kernel_figs
import figures.learning as learning_figs
import figures.maps as map_figs
import numpy as np
import state
import streamlit as st
import texts
import widgets
from figures import style
from figures.click_image import click_canvas

from carafe.inspect.analysis import analyze
from carafe.inspect.learning.snapshots import (
    SNAPSHOTS_DIR,
    lean_scale,
    list_snapshots,
    load_curves,
    load_snapshot,
    padding_series,
)
from carafe.inspect.learning.words import (
    CONTENT_MARGIN,
    border_padding_sentence,
    content_aware_headline,
    content_aware_sentence,
    lean_sentence,
)
from carafe.inspect.pixel import kernel_view


@st.cache_resource(show_spinner=False, max_entries=8)
def snapshot_model(steps_done: int, path: str):
    """One snapshot's model, loaded once per process (read-only, eval mode)."""
    return load_snapshot(Path(path))


@st.cache_data(show_spinner="Analysing this image with the training snapshot…", max_entries=14)
def snapshot_analysis(steps_done: int, path: str, image_key: str, _image: np.ndarray):
    """Cached analysis of the image by one snapshot (key: step count, file, image content).

    No baselines: this page shows only CARAFE's own kernels, and skipping them makes a first
    analysis about 8× faster.
    """
    return analyze(snapshot_model(steps_done, path), _image, baselines=False)


def intro() -> None:
    st.title("Watch CARAFE learn")
    st.markdown(
        "Your image through the saved snapshots of the shipped CARAFE's own training run; the "
        "last snapshot is the shipped model."
    )
    with st.expander("What this page shows"):
        st.markdown(
            "The shipped CARAFE's own training run was saved after 0, 25, 50, … optimizer "
            "steps; its last snapshot is the shipped model (assets/MODEL_CARD.md), so at the "
            "last step the kernels are Explore's when the sidebar's checkpoint is 'carafe'. "
            "Move the slider to see **your image** through each snapshot: the kernel of the "
            "**same output pixel** (the one selected on Explore), the kernel statistics over "
            "the whole image and the segmentation. Beside it, what was measured once on the "
            "held-out scenes for every snapshot, with the shown snapshot marked on each curve."
        )


def shipped_snapshots() -> list:
    """The training snapshots; without any, says how to make them and stops the page."""
    snapshots = list_snapshots()
    if not snapshots:
        st.info(
            f"No training snapshots were found in `{SNAPSHOTS_DIR}`, so there is nothing to show "
            "here. Train with `carafe-train --snapshots` to write them (step_NNNN.safetensors "
            "with their .json) and `carafe-evaluate --snapshots assets/snapshots` to measure "
            "them."
        )
        st.stop()
    return snapshots


def analysed(snap, cur):
    """The snapshot's cached analysis of the current image, or None (the error shown)."""
    try:
        return snapshot_analysis(snap.steps_done, str(snap.path), cur.image_key, cur.image)
    except Exception as err:  # noqa: BLE001 - a broken snapshot file: say so, never crash
        st.error(f"`{snap.path.name}` could not be analysed: {type(err).__name__}: {err}")
        return None


def analyse_every_snapshot(snapshots, cur) -> None:
    """The first visit with an image analyses every snapshot once (cached), so that each
    slider move afterwards only reads the cache."""
    ready = st.session_state.setdefault("learning_ready", set())
    if cur.image_key in ready:
        return
    bar = st.progress(0.0)
    for i, snap in enumerate(snapshots):
        bar.progress(
            i / len(snapshots),
            text=f"Analysing this image with the snapshot after {snap.steps_done} steps "
            f"({i + 1} of {len(snapshots)}, once per image)…",
        )
        analysed(snap, cur)
    bar.empty()
    ready.add(cur.image_key)


def chosen_steps(steps: list[int]) -> int:
    """The slider over the snapshots' step counts; returns the one shown."""
    # the widget's own key is dropped when the learner leaves the page; this one remembers
    if st.session_state.get("learning_step") not in steps:
        remembered = st.session_state.get("learning_shown")
        st.session_state["learning_step"] = remembered if remembered in steps else steps[0]
    shown = st.select_slider(
        "Training steps done",
        options=steps,
        key="learning_step",
        help="Each position is one saved snapshot of the same training run. Focus the slider "
        "and use the arrow keys to step through them.",
    )
    st.session_state["learning_shown"] = shown
    return shown


def snapshot_caption(snap, shown: int, step, cur) -> None:
    run = (
        f"seed {snap.seed}, a schedule of {snap.schedule_steps} steps"
        if snap.seed is not None and snap.schedule_steps is not None
        else "one training run"
    )
    st.caption(
        f"Snapshot after **{shown}** optimizer steps ({run}; `{snap.path.name}`) · "
        f"{texts.step_title(step)} (the sidebar's FPN step) · image {cur.name}"
    )


def kernel_panel(cur, analysis, step, shown: int) -> None:
    """The selected pixel's kernel after ``shown`` steps, its numbers and the segmentation."""
    k = step.carafe.up_kernel
    oy, ox = state.selected_pixel(step)
    view = kernel_view(step, oy, ox)
    st.plotly_chart(
        kernel_figs.kernel_figure(
            view.kernel,
            f"Reassembly kernel of output pixel ({oy}, {ox}) after {shown} steps",
            zmax=1.0,  # one scale for every snapshot: a peaked kernel looks peaked
            outside=view.outside if view.outside.any() else None,
            height=340,
        ),
        config=style.png_config(f"kernel_{oy}_{ox}_step_{shown}"),
        key="learning_kernel",
    )
    widgets.kernel_metrics_grid(view)
    with st.expander("Choose the pixel"):
        state.pixel_inputs(step, key="learning_px")
        st.caption(
            "The selected pixel is shared with Explore (kept in image coordinates): click a "
            "pixel there, or type its row and column here."
        )
    canvas = click_canvas(
        cur.image, analysis.segmentation, 0.5, view, margin=step.geometry.radius * step.stride_in
    )
    st.image(
        canvas.rgb,
        width=canvas.css_width,
        caption=f"Segmentation after {shown} steps; the selected output pixel framed, its "
        f"{k}×{k} source window dashed.",
    )
    if analysis.segmentation is not None and analysis.class_names:
        st.markdown(
            "Classes: "
            + image_figs.legend_html(analysis.class_names, np.unique(analysis.segmentation)),
            unsafe_allow_html=True,
        )


def stored_curves(curves, curves_problem: str | None, shown: int, step, analysis) -> None:
    """The stored curves across the snapshots, the shown snapshot marked on each, one per tab."""
    if curves is None:
        st.info(
            curves_problem
            or f"No stored metrics for the snapshots (`{SNAPSHOTS_DIR / 'metrics.json'}` is "
            "missing): run `carafe-evaluate --snapshots assets/snapshots` to measure them."
        )
        return
    records = curves.snapshots
    steps_done = curves.steps
    st.markdown(content_aware_headline(records))
    miou_tab, alignment_tab, border_tab = st.tabs(["mIoU", "Own-object share", "Border"])
    with miou_tab:
        now = curves.at(shown)
        if now is not None:
            st.caption(
                f"Stored for the snapshot after {shown} steps: mIoU {now.miou:.2f} %, boundary "
                f"F {now.boundary_f:.2f} %; {curves.label}."
            )
        st.plotly_chart(
            learning_figs.snapshot_curves(
                steps_done,
                [
                    learning_figs.Curve("mIoU", [r.miou for r in records], fmt=".2f"),
                    learning_figs.Curve("boundary F", [r.boundary_f for r in records], fmt=".2f"),
                ],
                shown,
                "Held-out mIoU and boundary F (stored)",
                "%",
            ),
            config=style.png_config("snapshots_miou"),
            key="learning_miou",
        )
    carafe_colour, bilinear_colour = (
        style.METHOD_COLOURS["carafe"],
        style.METHOD_COLOURS["bilinear"],
    )
    with alignment_tab:
        st.plotly_chart(
            learning_figs.snapshot_curves(
                steps_done,
                [
                    learning_figs.Curve(
                        "CARAFE, own-object share",
                        [r.own_share.carafe for r in records],
                        carafe_colour,
                        width=1.5,
                        dash="dot",
                    ),
                    learning_figs.Curve(
                        "CARAFE, off-centre own share",
                        [r.off_centre_own_share.carafe for r in records],
                        carafe_colour,
                    ),
                    learning_figs.Curve(
                        "same kernels moved (content-blind control), off-centre",
                        [r.off_centre_own_share.carafe_moved for r in records],
                        style.CONTROL_COLOUR,
                    ),
                    learning_figs.Curve(
                        "bilinear (fixed), off-centre",
                        [r.off_centre_own_share.bilinear for r in records],
                        bilinear_colour,
                        dash="dash",
                        width=1.5,
                    ),
                ],
                shown,
                "Kernel weight on the pixel's own object at boundaries (stored)",
                "share of the kernel's weight",
                height=340,
            ),
            config=style.png_config("snapshots_alignment"),
            key="learning_alignment",
        )
        st.caption(
            "Own-object share: the weight a kernel puts on taps of the output pixel's own "
            "object, at held-out boundary pixels. Off-centre: the same, leaving out the centre "
            "tap (a centre spike wins the plain share). The control moves each kernel to "
            "another boundary pixel: what it keeps owes nothing to the content there. "
            + content_aware_sentence(records)
            + f" (The margin of {CONTENT_MARGIN:.2f} is this page's choice.)"
        )
    names = {s.index: s.levels for s in analysis.steps}
    series = padding_series(records)
    with border_tab:
        st.plotly_chart(
            learning_figs.snapshot_curves(
                steps_done,
                [
                    learning_figs.Curve(
                        names.get(i, f"FPN step {i}"),
                        values,
                        width=4 if i == step.index else 1.8,  # the sidebar's step, thicker
                        fmt=".2f",
                    )
                    for i, values in series.items()
                ],
                shown,
                "Border: median kernel weight on zero padding, outer ring (stored)",
                "weight on padding",
            ),
            config=style.png_config("snapshots_border"),
            key="learning_border",
        )
        st.caption(
            f"Thick line: the sidebar's FPN step ({step.levels}). "
            + border_padding_sentence(records, names)
        )


def lean_scales(snapshots, cur, step_index: int) -> dict[int, float]:
    """Each snapshot's 99th-percentile lean at the step (input pixels), from the cached
    analyses (snapshots that failed to load are left out)."""
    out = {}
    for snap in snapshots:
        analysis = analysed(snap, cur)
        if analysis is None:
            continue
        step = analysis.steps[min(step_index, len(analysis.steps) - 1)]
        if step.carafe is not None:
            out[snap.steps_done] = lean_scale(step.carafe)
    return out


def kernel_statistics(cur, step, shown: int, scale: float) -> None:
    """Entropy, peak and lean over the whole image after ``shown`` steps, the lean on the one
    brightness scale ``scale`` of every snapshot."""
    details = step.carafe
    st.subheader(f"Kernel statistics over the whole image, after {shown} steps")
    columns = st.columns(3)
    stats = map_figs.kernel_statistics_figures(
        details,
        0,
        image_figs.map_background(cur.image, details.com_dy.shape[1:], step.visible_output_hw()),
        suffix=f", step {shown}",
        height=360,
        lean_max=scale,
    )
    for column, fig, name in zip(columns, stats, ("entropy", "peak", "lean"), strict=True):
        column.plotly_chart(
            fig, config=style.png_config(f"{name}_step_{shown}"), key=f"learning_{name}"
        )
    with st.expander("How to read these maps"):
        wheel, caption = st.columns([1, 8])
        wheel.image(map_figs.wheel_legend(), width=64, caption="direction")
        caption.caption(
            "Entropy near log k² means kernels close to uniform; a high peak means a kernel "
            "that concentrates its weight; the lean map shows which way each kernel's centre of "
            "mass points (colour = direction, brightness = distance). Wheel: right = leans "
            f"right (+dx), up = leans up (−dy). Full brightness is a lean of {scale:.2g} input "
            "pixels on every snapshot (the largest 99th-percentile lean of the snapshots), so "
            "a snapshot whose kernels barely lean looks dark."
        )


def main() -> None:
    intro()
    snapshots = shipped_snapshots()
    cur = state.require_current()
    by_steps = {s.steps_done: s for s in snapshots}
    analyse_every_snapshot(snapshots, cur)
    shown = chosen_steps(list(by_steps))
    snap = by_steps[shown]
    analysis = analysed(snap, cur)
    if analysis is None:
        st.stop()
    step = analysis.steps[min(cur.step_index, len(analysis.steps) - 1)]
    widgets.require_kernels(step)
    leans = lean_scales(snapshots, cur, cur.step_index)
    last = max(leans)
    scale = max(leans.values())
    st.markdown(lean_sentence(shown, leans[shown], last, leans[last], scale))
    with st.expander("This snapshot"):
        snapshot_caption(snap, shown, step, cur)
    try:
        curves, curves_problem = load_curves(), None
    except ValueError as err:
        curves, curves_problem = None, str(err)
    left, right = st.columns([1, 1.25], gap="medium")
    with left:
        kernel_panel(cur, analysis, step, shown)
    with right:
        stored_curves(curves, curves_problem, shown, step, analysis)
    kernel_statistics(cur, step, shown, scale)
    texts.cite(
        stored="the curves and the sentences about them (assets/snapshots/metrics.json)"
        if curves is not None
        else ""
    )


main()
