"""Sandbox: a pattern you choose (or a small upload) through the trained model, one FPN step,
CARAFE beside bilinear, nearest and deconv on one scale, the DySample twin (a separate model) on
the same pattern, a profile across the edge, the kernels on that line, and why CARAFE's flat
areas show a grid texture. Numbers: carafe.inspect.sandbox (view, profile, twin); sentences
that state a fact about the data: carafe.inspect.sandbox.words.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import figures.sandbox as sandbox_figs
import numpy as np
import state
import streamlit as st
import texts
import tour
import widgets
from figures import style

import carafe.inspect.sandbox.patterns as patterns
import carafe.inspect.sandbox.profile as profiles
import carafe.inspect.sandbox.twin as twin_mod
import carafe.inspect.sandbox.view as sb
import carafe.inspect.sandbox.words as words
from carafe.inspect.analysis import analyze
from carafe.inspect.catalog import display_name, twin_names
from carafe.inspect.imageio import MAX_UPLOAD_BYTES

KINDS = {
    "Edge": "edge",
    "Corner": "corner",
    "Thin line": "line",
    "Checkerboard": "checkerboard",
    "Disc": "disc",
    "Upload": None,
}
TWIN = "dysample"  # the twin shown beside CARAFE (a separate model, see sandbox.twin)
#: The upload limit in MB: the one the image loader enforces (and the sidebar's uploader says).
MAX_UPLOAD_MB = MAX_UPLOAD_BYTES // 2**20


@dataclass(frozen=True)
class Drawn:
    """The image the Sandbox runs the model on: a pattern (``mask``: its colour-B pixels) or a
    small upload (no mask), its cache key, its description, and where the default profile line
    crosses it (``anchor`` (y, x), in direction ``across``, degrees)."""

    image: np.ndarray
    mask: np.ndarray | None
    what: str
    key: str
    anchor: tuple[float, float]
    across: float


def intro() -> None:
    st.title("Sandbox")
    st.markdown(
        "A pattern you draw, through the trained model: one FPN step (the sidebar's checkpoint "
        "and step), **CARAFE** beside fixed upsamplers on the same input map."
    )
    with st.expander("What this page does"):
        st.markdown(
            "Draw a pattern whose geometry you know exactly, run it through the trained model "
            "and look at one FPN upsampling step: what **CARAFE** (the model's own upsampler) "
            "makes of the step's input map, next to **bilinear**, **nearest** and **deconv** "
            "applied to the same map. Deconv is shown untrained, with its bilinear starting "
            "weights. The checkpoint and the FPN step come from the sidebar; the sidebar's image "
            "is not used here."
        )
    tour.banner("sandbox")


@st.cache_data(show_spinner="Running the model on the pattern…", max_entries=8)
def _analysis(model_name: str, key: str, _image):
    return analyze(state.get_model(model_name), _image)


@st.cache_data(show_spinner=False, max_entries=16)
def _view(model_name: str, key: str, step_index: int, _image, _mask):
    step = _analysis(model_name, key, _image).steps[step_index]
    if step.carafe is None:
        return None
    return sb.sandbox_view(step, _image, _mask)


@st.cache_data(show_spinner="Running the DySample twin on the pattern…", max_entries=8)
def _twin_analysis(key: str, _image):
    return analyze(state.get_model(TWIN), _image, baselines=False)


@st.cache_data(show_spinner=False, max_entries=16)
def _twin_view(model_name: str, key: str, step_index: int, _image, _mask):
    """The twin's view of the same step, or None (no twin, or its step does not match)."""
    if TWIN not in twin_names():
        return None
    steps = _twin_analysis(key, _image).steps
    view = _view(model_name, key, step_index, _image, _mask)
    if view is None or step_index >= len(steps) or steps[step_index].kind != TWIN:
        return None
    points = [s.points for s in steps]  # the twin's own pass (a point sampler's points)
    try:
        return twin_mod.twin_view(
            steps[step_index], view, _image, _mask, points[step_index] if points else None
        )
    except ValueError:  # another geometry than CARAFE's model at this step: nothing to compare
        return None


def _store_upload() -> None:
    """Keep the upload's bytes: the page never flashes back while a new one loads."""
    up = st.session_state.get("sb_upload")
    if up is not None:
        st.session_state["sb_upload_bytes"] = up.getvalue()
        st.session_state["sb_upload_name"] = up.name


def uploaded_image() -> Drawn:
    """A small upload, downscaled to :data:`UPLOAD_SIDE`; stops the page until there is one."""
    st.file_uploader(
        "A small image",
        type=["png", "jpg", "jpeg", "bmp", "gif", "webp"],
        key="sb_upload",
        on_change=_store_upload,
        max_upload_size=MAX_UPLOAD_MB,
        help=f"Up to {MAX_UPLOAD_MB} MB. Downscaled to a long side of {sb.UPLOAD_SIDE} px; it "
        "stays in your session.",
    )
    data = st.session_state.get("sb_upload_bytes")
    name = st.session_state.get("sb_upload_name", "upload")
    if data is None:
        st.info("Upload an image to see it here, or pick a pattern.")
        st.stop()
    image, info = state.decode(data, sb.UPLOAD_SIDE, min_long_side=0)
    if image is None:
        st.error(f"**{name}** cannot be used: {info}")
        st.stop()
    st.caption(words.upload_note(name, image.shape[:2], list(info or [])))
    anchor = (image.shape[0] / 2, image.shape[1] / 2)
    return Drawn(image, None, name, hashlib.sha1(data).hexdigest(), anchor, 0.0)


def generated_pattern(kind: str) -> Drawn:
    """A two-colour pattern of ``kind`` from the size, shape, position and colour controls."""
    size = st.select_slider("Image size (px)", [128, 192, 256, 320], value=256, key="sb_size")
    opts = {}
    if kind in ("edge", "corner", "line"):
        opts["angle"] = st.slider(
            "Angle of the edge (degrees, counter-clockwise from →)",
            0,
            359,
            75,
            key="sb_angle",
            help="Which side is colour B turns with the angle: 90° and 270° are both "
            "vertical edges, with B on opposite sides.",
        )
    if kind == "line":
        opts["width"] = st.slider("Line width (px)", 1, 32, 4, key="sb_width")
    if kind == "checkerboard":
        opts["square"] = st.slider(
            "Square size (px; the period is twice this)", 2, 64, 16, key="sb_square"
        )
    if kind == "disc":
        opts["radius"] = st.slider("Radius (px)", 4, size // 2, min(48, size // 2), key="sb_radius")
    with st.expander("Position and colours"):
        if kind != "checkerboard":
            row, column = st.columns(2)
            cy = row.number_input("Centre row", 0, size, size // 2, key="sb_cy")
            cx = column.number_input("Centre column", 0, size, size // 2, key="sb_cx")
            opts["centre"] = (float(cy), float(cx))
        first, second = st.columns(2)
        colour_a = first.color_picker("Colour A (background)", "#282828", key="sb_colour_a")
        colour_b = second.color_picker("Colour B (shape)", "#ebc828", key="sb_colour_b")
    pattern = patterns.make_pattern(
        kind,
        size,
        colour_a=patterns.hex_to_rgb(colour_a),
        colour_b=patterns.hex_to_rgb(colour_b),
        **opts,
    )
    image = pattern.image
    key = hashlib.sha1(image.tobytes() + repr(image.shape).encode()).hexdigest()
    if pattern.colour_a == pattern.colour_b:
        st.warning("Colours A and B are the same: the image is flat.")
    return Drawn(image, pattern.mask, pattern.description, key, pattern.anchor, pattern.across)


def chosen_image() -> Drawn:
    """The pattern picker, and the pattern (or upload) it picks."""
    choice = st.radio("Pattern", list(KINDS), horizontal=True, key="sb_pattern")
    kind = KINDS[choice]
    return uploaded_image() if kind is None else generated_pattern(kind)


def reset_line_for(drawn: Drawn) -> None:
    """Put the profile line across the pattern whenever the pattern changes (or on request)."""
    h, w = drawn.image.shape[:2]
    if st.session_state.get("sb_line_for") != drawn.key or st.session_state.pop("sb_reset", False):
        st.session_state["sb_line_for"] = drawn.key
        st.session_state["sb_line_angle"] = int(round(drawn.across)) % 360
        st.session_state["sb_line_length"] = max(8, int(max(h, w) // 2))
        st.session_state["sb_line_cy"], st.session_state["sb_line_cx"] = (
            int(v) for v in drawn.anchor
        )


def sidebar_step(drawn: Drawn):
    """(model name, analysis, step position, step) of the sidebar's checkpoint and FPN step on
    the drawn image; stops the page when that step has no kernel upsampler."""
    model_name = state.running_model_name()
    analysis = _analysis(model_name, drawn.key, drawn.image)
    pos = st.session_state.get("step_pos", len(analysis.steps) - 1)
    pos = min(max(int(pos), 0), len(analysis.steps) - 1)
    step = analysis.steps[pos]
    widgets.require_kernels(step)
    return model_name, analysis, pos, step


def line_controls(drawn: Drawn) -> None:
    """Direction, length and centre of the profile line, and the button that resets it."""
    h, w = drawn.image.shape[:2]
    first, second = st.columns(2)
    first.slider("Direction (degrees)", 0, 359, key="sb_line_angle")
    second.slider("Length (image px)", 8, 2 * max(h, w), key="sb_line_length")
    first.number_input("Line centre row", 0, h, key="sb_line_cy")
    second.number_input("Line centre column", 0, w, key="sb_line_cx")
    st.button(
        "Put the line back across the pattern",
        key="sb_reset_line",
        on_click=lambda: st.session_state.update(sb_reset=True),
    )


def chosen_line():
    """The profile line the controls set."""
    return patterns.line_through(
        float(st.session_state["sb_line_cy"]),
        float(st.session_state["sb_line_cx"]),
        float(st.session_state["sb_line_angle"]),
        float(st.session_state["sb_line_length"]),
    )


def maps_section(step, analysis, view, names: dict[str, str], line, notice: list[str]) -> None:
    """The step's input and every upsampler's output on one colour scale, the line on each, and
    what to notice (at most three lines, from this pattern's numbers)."""
    maps = [view.input_map] + [view.maps[m] for m in view.methods]
    titles = [f"input (visible {sb.size_hw(view.input_map.shape)})"] + [
        f"{names[m]}{' (the model)' if m == 'carafe' else ''}" for m in view.methods
    ]
    strides = [step.stride_in] + [step.stride_out] * len(view.methods)
    st.plotly_chart(
        sandbox_figs.maps_figure(
            maps,
            titles,
            [profiles.map_line(line, s) for s in strides],
            view.zmin,
            view.zmax,
            words.maps_title(len(view.methods)),
        ),
        key="sb_maps",
        config=style.png_config("sandbox_outputs"),
    )
    st.markdown("  \n".join(notice))
    with st.expander("How these maps are drawn"):
        st.caption(words.step_sizes(step, analysis.pad_multiple))
        st.caption(words.maps_caption(view, names))


def twin_section(twin, view, names: dict[str, str], prof, step, line) -> None:
    """The DySample twin's step on CARAFE's colour scale, with its sampling points."""
    tname = names[twin.name]
    sampling = twin_mod.sampling_along(twin, prof)
    points = None
    if sampling is not None and len(sampling.pixels):
        points = {0: (sampling.start, sampling.points)}
    st.plotly_chart(
        sandbox_figs.maps_figure(
            [twin.input_map, twin.output_map],
            [
                f"{tname}'s input (visible {sb.size_hw(twin.input_map.shape)})",
                f"{tname} (its own model)",
            ],
            [profiles.map_line(line, step.stride_in), profiles.map_line(line, step.stride_out)],
            view.zmin,
            view.zmax,
            f"{tname}'s step on CARAFE's colour scale, with its sampling points along the line",
            height=420,
            points=points,
        ),
        key="sb_twin",
        config=style.png_config("sandbox_dysample"),
    )
    st.caption(words.sampling_sentence(sampling, tname))
    with st.expander(f"What the {tname} panel is"):
        st.caption(words.twin_sentence(twin, view, names))


def profile_section(prof, view, names: dict[str, str], twin, kernels) -> None:
    """Every method along the line and whether CARAFE keeps the step."""
    if len(prof.pixels) < 2:
        st.warning("The line crosses fewer than two output pixels of this step: lengthen it.")
        return
    twin_kind = twin.name if twin is not None else None
    st.plotly_chart(
        sandbox_figs.profile_figure(prof, names, (twin_kind,) if twin is not None else ()),
        key="sb_profile",
        config=style.png_config("sandbox_profile"),
    )
    st.markdown(words.profile_verdict(prof, kernels))
    with st.expander("The numbers along the line"):
        st.markdown(words.steepest_sentence(prof, names, view.methods, twin_kind))
        st.caption(words.profile_caption(prof, names[twin_kind] if twin is not None else None))


def kernels_section(kernels, step) -> None:
    """CARAFE's kernels on the line, around the input's largest jump."""
    if not kernels:
        st.info("The line crosses no output pixel of this step: move it onto the image.")
        return
    st.plotly_chart(
        sandbox_figs.kernels_figure(kernels),
        key="sb_kernels",
        config=style.png_config("sandbox_kernels"),
    )
    st.caption(words.kernels_caption(kernels, step.geometry.k))


def flat_area_section(view, step) -> None:
    """CARAFE's kernels and roughness in flat areas, and where each sub-pixel's kernel leans."""
    flat = view.flat
    s = step.scale
    if flat is None:
        st.info(words.no_flat_area_sentence(view))
        return
    st.markdown(words.flat_area_sentence(view, s))
    rows = [
        {
            "sub-pixel (a, b)": f"({a}, {b})",
            "CARAFE lean dy": flat.lean[a, b, 0],
            "CARAFE lean dx": flat.lean[a, b, 1],
            "bilinear lean dy": flat.bilinear_lean[a, b, 0],
            "bilinear lean dx": flat.bilinear_lean[a, b, 1],
        }
        for a in range(s)
        for b in range(s)
    ]
    st.dataframe(
        rows,
        hide_index=True,
        key="sb_lean",
        column_config={
            c: st.column_config.NumberColumn(format="%+.2f") for c in rows[0] if "lean" in c
        },
    )
    st.caption(
        "Where each sub-pixel's kernel leans in flat areas: its centre of mass (dy, dx) from "
        "the window centre, in input pixels, averaged over the flat input pixels. Bilinear's "
        "lean is fixed by the geometry: (a + ½)/s − ½ input pixels down, (b + ½)/s − ½ right."
    )


def notice_lines(prof, kernels, view, step) -> list[str]:
    """What to notice under the maps: at most three lines, each from this pattern's numbers."""
    lines = []
    if len(prof.pixels) >= 2:
        lines.append(words.profile_headline(prof, kernels))
    lines.append(words.flat_headline(view, step.scale))
    return lines[:3]


def main() -> None:
    intro()
    left, right = st.columns([1, 1.3])
    with left:
        drawn = chosen_image()
    reset_line_for(drawn)
    model_name, analysis, pos, step = sidebar_step(drawn)
    view = _view(model_name, drawn.key, pos, drawn.image, drawn.mask)
    with left, st.expander("Profile line"):
        line_controls(drawn)
    line = chosen_line()
    h, w = drawn.image.shape[:2]
    right.plotly_chart(
        sandbox_figs.pattern_figure(
            drawn.image,
            line,
            f"{drawn.what}<br>{sb.size_hw((h, w))} px ({sb.SIZE_CONVENTION}); the line starts "
            "at the dot",
        ),
        key="sb_pattern_fig",
        config=style.png_config("sandbox_pattern"),
    )
    twin = _twin_view(model_name, drawn.key, pos, drawn.image, drawn.mask)
    names = {m: words.method_name(m, step) for m in view.methods}
    if twin is not None:
        names[twin.name] = display_name(twin.name)
    prof = profiles.profile_along(
        view, line, {twin.name: twin.output_map} if twin is not None else None
    )
    kernels = profiles.kernels_along(view, prof)
    labels = ["Outputs", "Profile across the edge", "Kernels on the line", "Flat areas"]
    if twin is not None:
        labels.insert(3, f"{names[twin.name]}, a separate model")
    tabs = dict(zip(labels, st.tabs(labels), strict=True))
    with tabs["Outputs"]:
        maps_section(step, analysis, view, names, line, notice_lines(prof, kernels, view, step))
    with tabs["Profile across the edge"]:
        profile_section(prof, view, names, twin, kernels)
    with tabs["Kernels on the line"]:
        kernels_section(kernels, step)
    if twin is not None:
        with tabs[labels[3]]:
            twin_section(twin, view, names, prof, step, line)
    with tabs["Flat areas"]:
        flat_area_section(view, step)
    texts.cite()


main()
