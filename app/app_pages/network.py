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

from carafe.inspect.catalog import display_name
from carafe.inspect.network.diagram import network_diagram
from carafe.inspect.network.trace import trace_kernels, trace_sampling
from carafe.inspect.network.words import sampling_caption, trace_caption
from carafe.inspect.sampling import dysample_points


@st.cache_data(show_spinner=False, max_entries=6)
def diagram_for(model_name: str, image_key: str, _analysis):
    """The model's diagram with the map sizes of the current image (one small probe run)."""
    return network_diagram(state.get_model(model_name), _analysis)


@st.cache_data(show_spinner="Reading the sampling points…", max_entries=6)
def own_points_for(model_name: str, image_key: str, _image):
    """Sampling points of the current model when it upsamples with DySample itself."""
    return dysample_points(state.get_model(model_name), _image)


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
    st.markdown(
        "CARAFE sits inside a feature pyramid (FPN): the backbone makes maps at several strides, "
        "**lateral** convs bring them to the same number of channels, and the **top-down** path "
        "upsamples each coarser level and adds it to the next finer one. This page draws "
        "the loaded model as its modules describe it and follows **one image point** through "
        "every top-down step. **Click a top-down step** (or pick it below) to select it on every "
        "page."
    )


def diagram_section(cur) -> None:
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
    st.caption(
        f"Selected: {texts.step_title(cur.step)} · {chosen.module}({chosen.settings}), "
        f"{chosen.parameters:,} parameters. Every box is read from the loaded model's modules; "
        "map sizes are those of your image."
    )
    st.page_link(
        "app_pages/explore.py", label="Explore this step pixel by pixel", icon=":material/search:"
    )


def _points(cur):
    """(points per step, whose) for the DySample view, or (None, "") when there are none."""
    if any(s.kind == "dysample" for s in cur.analysis.steps):
        return own_points_for(cur.model_name, cur.image_key, cur.image), "this model"
    twin = state.dysample_points_for(cur.image_key, cur.image)
    return twin, "the DySample twin"


def _on_image_click(finest) -> None:
    event = st.session_state.get("network_click")
    points = (event or {}).get("selection", {}).get("points", []) if event else []
    if not points:
        return
    p = points[0]
    customdata = p.get("customdata")
    if isinstance(customdata, dict):  # Streamlit sends array customdata as {"0": .., "1": ..}
        customdata = [customdata.get("0"), customdata.get("1")]
    if customdata is not None and len(customdata) == 2 and None not in customdata:
        state.select_output_pixel(finest, int(customdata[0]), int(customdata[1]))
    else:  # a click between markers: the output pixel under the image pixel
        state.select_output_pixel(
            finest, *finest.geometry.output_pixel_at(round(p["y"]), round(p["x"]))
        )


def _show_sampling(traced, whose: str, step_index: int) -> None:
    """DySample's points at every step, as a figure, a table and a computed caption."""
    st.markdown(
        f"**Where {whose} samples.** DySample predicts no kernel: each output pixel reads one "
        "bilinear point per channel group, moved from where plain bilinear interpolation "
        "would sample. The same image point, at each step:"
    )
    st.plotly_chart(
        network_figs.sampling_figure(traced, step_index),
        key="network_sampling",
        config=style.png_config("network_sampling"),
    )
    rows = []
    for t in traced:
        rows.append(
            {
                "step": t.name,
                "output pixel": f"({t.pixel[0]}, {t.pixel[1]})",
                "source pixel": f"({t.view.source[0]}, {t.view.source[1]})",
                "offsets (dx, dy), map px": "; ".join(
                    "({}, {})".format(*draw.number_text(o, "+.2f")) for o in t.view.offsets
                ),
                "offsets (dx, dy), image px": "; ".join(
                    "({}, {})".format(*draw.number_text(o, "+.1f")) for o in t.offsets_px
                ),
            }
        )
    st.markdown(texts.numbers_table(rows))
    st.caption(sampling_caption(traced))


@st.fragment
def trace_view(cur) -> None:
    """Everything that depends on the point; a click reruns only this (no model run)."""
    analysis = cur.analysis
    finest = analysis.steps[-1]
    iy = int(st.session_state.get("sel_y", analysis.image.shape[0] // 2))
    ix = int(st.session_state.get("sel_x", analysis.image.shape[1] // 2))
    traced = trace_kernels(analysis, iy, ix)
    points, whose = _points(cur)
    try:
        sampled = trace_sampling(analysis, points, iy, ix) if points is not None else []
    except ValueError:  # the twin's maps do not match this model's (another architecture)
        sampled = []
    own_sampling = not traced and bool(sampled)
    if own_sampling:
        marks = [network_figs.StepMark.of_sampling(t) for t in sampled]
    else:
        marks = [network_figs.StepMark.of_kernel(t) for t in traced]
    point = traced[0].point if traced else sampled[0].point if sampled else (iy, ix)
    if traced:  # the kernels and their numbers first and full width: the page is about them
        st.plotly_chart(
            network_figs.trace_kernels_figure(traced, cur.step_index),
            key="network_kernels",
            config=style.png_config("network_kernels"),
        )
        rows = [
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
        st.markdown(texts.numbers_table(rows))
    left, right = st.columns([1, 1], gap="medium")
    with left:
        st.plotly_chart(
            network_figs.trace_image_figure(
                cur.image, marks, point, finest, state.selected_pixel(finest)
            ),
            key="network_click",
            on_select=functools.partial(_on_image_click, finest),
            selection_mode="points",
            config=style.png_config("network_point"),
        )
    with right:
        if traced:
            st.markdown(trace_caption(traced))
        elif not sampled:
            st.info(
                f"This checkpoint upsamples with **{finest.kind}**: there are no kernels "
                "or sampling points to follow."
            )
        st.caption(
            f"White cross: the image point ({point[0]}, {point[1]}). Solid: the output pixel "
            "under it at each step; dashed: the window its kernel reads. Mean reach: the "
            "kernel-weighted mean distance of its taps from the window centre. Click the image "
            f"to move the point, or type it as a pixel of {finest.levels}'s output map:"
        )
        state.pixel_inputs(finest, key="network_px")
    if own_sampling:
        _show_sampling(sampled, whose, cur.step_index)
    if traced and sampled:
        _show_sampling(sampled, whose, cur.step_index)


def main() -> None:
    intro()
    cur = state.require_current()
    diagram_section(cur)
    st.subheader("One image point through every step")
    if not cur.training_like:
        st.caption(texts.TRAINED_FOR)
    trace_view(cur)
    pins.panel(cur, "network")
    texts.cite()


main()
