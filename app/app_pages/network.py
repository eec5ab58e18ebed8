"""The whole network: the loaded model's diagram (its top-down steps select the FPN step) and
one image point traced through every top-down step."""

from __future__ import annotations

import functools

import figures.network as network_figs
import pins
import state
import streamlit as st
import texts
from figures import draw, style
from figures.click_image import click_image

from carafe.inspect.catalog import display_name, first_twin, kind_family
from carafe.inspect.network.diagram import network_diagram
from carafe.inspect.network.trace import trace_kernels, trace_sampling
from carafe.inspect.network.words import (
    OFFSET_CONVENTION,
    notice_lines,
    offset_rows_cols,
    sampling_caption,
    trace_caption,
)
from carafe.inspect.sampling import step_points


@st.cache_data(show_spinner=False, max_entries=6)
def diagram_for(model_name: str, image_key: str, _analysis):
    """The model's diagram with the map sizes of the current image (one small probe run)."""
    return network_diagram(state.get_model(model_name), _analysis)


def _select_step(position: int) -> None:
    """Select FPN step ``position`` for every page: the sidebar's own state."""
    st.session_state["step_pos"] = int(position)


def _on_step_widget() -> None:
    value = st.session_state.get("network_step")
    if value is not None:
        _select_step(value)


def _on_diagram_click(key: str) -> None:
    event = st.session_state.get(key)
    points = (event or {}).get("selection", {}).get("points", []) if event else []
    for p in points:
        customdata = p.get("customdata")
        if isinstance(customdata, (list, tuple)):  # a scalar customdata may arrive wrapped
            customdata = customdata[0] if customdata else None
        if isinstance(customdata, (int, float)):
            _select_step(int(customdata))
            return


def intro() -> None:
    st.title("The whole network")


def about() -> None:
    """What the page shows, for those who want it (collapsed)."""
    with st.expander("About this page"):
        st.markdown(
            "CARAFE sits inside a feature pyramid (FPN): the backbone makes maps at several "
            "strides, **lateral** convs bring them to the same number of channels, and the "
            "**top-down** path upsamples each coarser level and adds it to the next finer one. "
            "The diagram is read from the loaded model's modules (map sizes are those of your "
            "image); below it, **one image point** is followed through every top-down step. "
            "**Click a top-down step** (or pick it below the diagram) to select it on every page."
        )


def diagram_section(cur):
    """The model's diagram, whose top-down steps select the FPN step, and the step picker."""
    diagram = diagram_for(cur.model_name, cur.image_key, cur.analysis)
    # a fresh widget per selected step: plotly would otherwise keep the clicked box selected,
    # and a second click on it (after the sidebar moved the step) would only deselect it
    diagram_key = f"network_diagram_{cur.step_index}"
    st.plotly_chart(
        network_figs.diagram_figure(diagram, cur.step_index, display_name),
        key=diagram_key,
        on_select=lambda: _on_diagram_click(diagram_key),
        selection_mode="points",
        config=style.png_config("network"),
    )
    # the widget follows the shared step (the sidebar may have changed it)
    st.session_state["network_step"] = cur.step_index
    st.segmented_control(
        "Top-down step",
        [s.position for s in diagram.steps],
        key="network_step",
        required=True,
        on_change=_on_step_widget,
        format_func=lambda i: f"{diagram.steps[i].name} ({display_name(diagram.steps[i].kind)})",
        help="The same choice as the sidebar's 'FPN upsampling step': the other pages follow it.",
    )
    chosen = diagram.steps[cur.step_index]
    st.caption(f"Selected: {chosen.module}({chosen.settings}), {chosen.parameters:,} parameters.")
    st.page_link(
        "app_pages/explore.py", label="Explore this step pixel by pixel", icon=":material/search:"
    )
    return diagram


def _points(cur):
    """(points per step, whose) for the sampling view: this model's own when it samples points,
    else the shipped point-sampling twin's, or (None, "") when there is none."""
    if any(kind_family(s.kind) == "points" for s in cur.analysis.steps):
        return step_points(cur.analysis), "this model"
    peer = first_twin(family="points")
    if peer is None:
        return None, ""
    return state.points_for(peer, cur.image_key, cur.image), f"the {display_name(peer)} twin"


def _on_image_click(finest) -> None:
    """Select the finest output pixel under the click (the canvas drawn last says where)."""
    event, canvas = st.session_state.get("network_click"), st.session_state.get("network_canvas")
    pixel = canvas.pixel_of_event(event) if canvas is not None else None
    if pixel is not None:  # a click in the grey margin selects nothing
        state.select_output_pixel(finest, *finest.geometry.output_pixel_at(*pixel))


def _show_sampling(traced, whose: str, step_index: int) -> None:
    """DySample's points at every step, as a figure, then its numbers and words (collapsed)."""
    st.markdown(f"**Where {whose} samples**, at the same image point:")
    st.plotly_chart(
        network_figs.sampling_figure(traced, step_index),
        key="network_sampling",
        config=style.png_config("network_sampling"),
    )
    with st.expander("DySample's numbers"):
        st.markdown(
            "DySample predicts no kernel: each output pixel reads one bilinear point per channel "
            "group, moved from where plain bilinear interpolation would sample. Moves are "
            f"written {OFFSET_CONVENTION}, as on Explore."
        )

        def moves(offsets, fmt):
            return "; ".join(
                "({}, {})".format(*draw.number_text(offset_rows_cols(o), fmt)) for o in offsets
            )

        rows = [
            {
                "step": t.name,
                "output pixel": f"({t.pixel[0]}, {t.pixel[1]})",
                "source pixel": f"({t.view.source[0]}, {t.view.source[1]})",
                "moves (rows, cols), map px": moves(t.view.offsets, "+.2f"),
                "moves (rows, cols), image px": moves(t.offsets_px, "+.1f"),
            }
            for t in traced
        ]
        st.markdown(texts.numbers_table(rows))
        st.caption(sampling_caption(traced))


def _traced(cur):
    """(kernels traced, sampling traced, whose points, the point) at the selected pixel."""
    analysis = cur.analysis
    iy = int(st.session_state.get("sel_y", analysis.image.shape[0] // 2))
    ix = int(st.session_state.get("sel_x", analysis.image.shape[1] // 2))
    traced = trace_kernels(analysis, iy, ix)
    points, whose = _points(cur)
    try:
        sampled = trace_sampling(analysis, points, iy, ix) if points is not None else []
    except ValueError:  # the twin's maps do not match this model's (another architecture)
        sampled = []
    point = traced[0].point if traced else sampled[0].point if sampled else (iy, ix)
    return traced, sampled, whose, point


@st.fragment
def trace_view(cur, diagram) -> None:
    """Everything that depends on the point; a click reruns only this (no model run)."""
    finest = cur.analysis.steps[-1]
    traced, sampled, whose, point = _traced(cur)
    own_sampling = not traced and bool(sampled)
    notice = notice_lines(traced, sampled if own_sampling else [], diagram)
    if notice:
        st.markdown("**What to notice**\n" + "\n".join(f"- {line}" for line in notice))
    about()
    if own_sampling:
        marks = [network_figs.StepMark.of_sampling(t) for t in sampled]
    else:
        marks = [network_figs.StepMark.of_kernel(t) for t in traced]
    st.subheader("One image point through every step")
    if not cur.training_like:
        st.caption(texts.TRAINED_FOR)
    if traced:  # the kernels and their numbers first and full width: the page is about them
        st.plotly_chart(
            network_figs.trace_kernels_figure(traced, cur.step_index),
            key="network_kernels",
            config=style.png_config("network_kernels"),
        )
    left, right = st.columns([1, 1], gap="medium")
    with left:
        canvas = network_figs.trace_canvas(cur.image, marks, point)
        st.session_state["network_canvas"] = canvas
        click_image(
            canvas, key="network_click", on_click=functools.partial(_on_image_click, finest)
        )
        st.markdown(
            network_figs.legend_html(marks)
            + " · solid: the output pixel under the point · "
            + ("dashed: its window" if traced else "squares: the sampling points"),
            unsafe_allow_html=True,
        )
    with right:
        if not traced and not sampled:
            st.info(
                f"This checkpoint upsamples with **{finest.kind}**: there are no kernels "
                "or sampling points to follow."
            )
        st.caption(
            f"Click the image to move the point (white cross), or type it as a pixel of "
            f"{finest.levels}'s output map:"
        )
        state.pixel_inputs(finest, key="network_px")
        if traced:
            with st.expander("The kernels' numbers"):
                st.markdown(texts.numbers_table(_kernel_rows(traced)))
                st.markdown(trace_caption(traced))
                st.caption(
                    "Mean reach: the kernel-weighted mean distance of the taps from the window "
                    "centre. Padding weight: the kernel's weight on taps outside the image."
                )
    if sampled:
        _show_sampling(sampled, "this model" if own_sampling else whose, cur.step_index)


def _kernel_rows(traced) -> list[dict]:
    return [
        {
            "step": t.name,
            "output pixel": f"({t.pixel[0]}, {t.pixel[1]})",
            "source pixel": f"({t.view.source[0]}, {t.view.source[1]})",
            "stride in→out": f"{t.stride_in}→{t.stride_out}",
            "entropy (nats)": f"{t.view.entropy:.3f}",
            "peak": f"{t.view.peak:.3f}",
            "padding weight": f"{t.view.padding_weight:.3f}",
            "window (image px)": f"{t.window_px}×{t.window_px}",
            "mean reach (image px)": f"{t.spread_px:.1f}",
        }
        for t in traced
    ]


def main() -> None:
    intro()
    cur = state.require_current()
    diagram = diagram_section(cur)
    trace_view(cur, diagram)
    pins.panel(cur, "network")
    texts.cite()


main()
