"""Sandbox: a pattern you choose (or a small upload) through the trained model, one FPN step,
CARAFE beside bilinear, nearest and deconv on one scale, the DySample twin (a separate model) on
the same pattern, a profile across the edge, the kernels on that line, and why CARAFE's flat
areas show a grid texture. Numbers: carafe.inspect.sandbox (view, profile, twin); sentences
that state a fact about the data: carafe.inspect.sandbox.words.
"""

from __future__ import annotations

import hashlib

import figures.sandbox as sandbox_figs
import state
import streamlit as st
import texts
import tour
from figures import style

import carafe.inspect.sandbox.patterns as patterns
import carafe.inspect.sandbox.profile as profiles
import carafe.inspect.sandbox.twin as twin_mod
import carafe.inspect.sandbox.view as sb
import carafe.inspect.sandbox.words as words
from carafe.inspect.analysis import analyze
from carafe.inspect.catalog import display_name, twin_names

KINDS = {
    "Edge": "edge",
    "Corner": "corner",
    "Thin line": "line",
    "Checkerboard": "checkerboard",
    "Disc": "disc",
    "Upload": None,
}
TWIN = "dysample"  # the twin shown beside CARAFE (a separate model, see sandbox_twin)

st.title("Sandbox")
st.markdown(
    "Draw a pattern whose geometry you know exactly, run it through the trained model and "
    "look at one FPN upsampling step: what **CARAFE** (the model's own upsampler) makes of "
    "the step's input map, next to **bilinear**, **nearest** and **deconv** applied to the "
    "same map. The checkpoint and the FPN step come from the sidebar; the sidebar's image is "
    "not used here."
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
    points = state.dysample_points_for(key, _image)
    try:
        return twin_mod.twin_view(
            steps[step_index], view, _image, _mask, points[step_index] if points else None
        )
    except ValueError:  # another geometry than CARAFE's model at this step: nothing to compare
        return None


left, right = st.columns([1, 1.3])
with left:
    choice = st.radio("Pattern", list(KINDS), horizontal=True, key="sb_pattern")
    kind = KINDS[choice]
    pattern = None
    if kind is None:

        def _store() -> None:  # keep the bytes: the page never flashes back while a new one loads
            up = st.session_state.get("sb_upload")
            if up is not None:
                st.session_state["sb_upload_bytes"] = up.getvalue()
                st.session_state["sb_upload_name"] = up.name

        st.file_uploader(
            "A small image",
            type=["png", "jpg", "jpeg", "bmp", "gif", "webp"],
            key="sb_upload",
            on_change=_store,
            help=f"Downscaled to a long side of {sb.UPLOAD_SIDE} px; it stays in your session.",
        )
        data = st.session_state.get("sb_upload_bytes")
        name = st.session_state.get("sb_upload_name", "upload")
        if data is None:
            st.info("Upload an image to see it here, or pick a pattern.")
            st.stop()
        image, info = state.decode(data, sb.UPLOAD_SIDE)
        if image is None:
            st.error(f"**{name}** cannot be used: {info}")
            st.stop()
        st.caption(words.upload_note(name, image.shape[:2], list(info or [])))
        key, mask, what = hashlib.sha1(data).hexdigest(), None, name
        anchor, across = (image.shape[0] / 2, image.shape[1] / 2), 0.0
    else:
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
            opts["radius"] = st.slider(
                "Radius (px)", 4, size // 2, min(48, size // 2), key="sb_radius"
            )
        with st.expander("Position and colours"):
            if kind != "checkerboard":
                c1, c2 = st.columns(2)
                cy = c1.number_input("Centre row", 0, size, size // 2, key="sb_cy")
                cx = c2.number_input("Centre column", 0, size, size // 2, key="sb_cx")
                opts["centre"] = (float(cy), float(cx))
            c1, c2 = st.columns(2)
            colour_a = c1.color_picker("Colour A (background)", "#282828", key="sb_colour_a")
            colour_b = c2.color_picker("Colour B (shape)", "#ebc828", key="sb_colour_b")
        pattern = patterns.make_pattern(
            kind,
            size,
            colour_a=patterns.hex_to_rgb(colour_a),
            colour_b=patterns.hex_to_rgb(colour_b),
            **opts,
        )
        image, mask, what = pattern.image, pattern.mask, pattern.description
        key = hashlib.sha1(image.tobytes() + repr(image.shape).encode()).hexdigest()
        anchor, across = pattern.anchor, pattern.across
        if pattern.colour_a == pattern.colour_b:
            st.warning("Colours A and B are the same: the image is flat.")

# --- the profile line: reset across the pattern whenever the pattern changes --------------
h, w = image.shape[:2]
if st.session_state.get("sb_line_for") != key or st.session_state.pop("sb_reset", False):
    st.session_state["sb_line_for"] = key
    st.session_state["sb_line_angle"] = int(round(across)) % 360
    st.session_state["sb_line_length"] = max(8, int(max(h, w) // 2))
    st.session_state["sb_line_cy"], st.session_state["sb_line_cx"] = (int(v) for v in anchor)

model_name = st.session_state.get("checkpoint") or state.checkpoint_names()[0]
analysis = _analysis(model_name, key, image)
pos = st.session_state.get("step_pos", len(analysis.steps) - 1)
pos = min(max(int(pos), 0), len(analysis.steps) - 1)
step = analysis.steps[pos]
if step.carafe is None:
    st.info(f"This checkpoint upsamples with **{step.kind}** at this step: pick 'carafe'.")
    st.stop()
view = _view(model_name, key, pos, image, mask)

with left:
    st.markdown("**Profile line**")
    c1, c2 = st.columns(2)
    c1.slider("Direction (degrees)", 0, 359, key="sb_line_angle")
    c2.slider("Length (image px)", 8, 2 * max(h, w), key="sb_line_length")
    c1.number_input("Line centre row", 0, h, key="sb_line_cy")
    c2.number_input("Line centre column", 0, w, key="sb_line_cx")
    st.button(
        "Put the line back across the pattern",
        key="sb_reset_line",
        on_click=lambda: st.session_state.update(sb_reset=True),
    )
line = patterns.line_through(
    float(st.session_state["sb_line_cy"]),
    float(st.session_state["sb_line_cx"]),
    float(st.session_state["sb_line_angle"]),
    float(st.session_state["sb_line_length"]),
)
right.plotly_chart(
    sandbox_figs.pattern_figure(
        image,
        line,
        f"{what}<br>{sb.size_hw((h, w))} px ({sb.SIZE_CONVENTION}); the line starts at the dot",
    ),
    key="sb_pattern_fig",
    config=style.png_config("sandbox_pattern"),
)

twin = _twin_view(model_name, key, pos, image, mask)
names = {m: display_name(m) for m in view.methods}
if twin is not None:
    names[twin.name] = display_name(twin.name)
st.subheader(f"One step, {words.number_word(len(view.methods))} upsamplers, one colour scale")
st.caption(words.step_sizes(step, analysis.pad_multiple))
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
st.caption(
    view.projection_note
    + f" All {words.number_word(len(maps))} maps share the colour scale of the input's range, "
    f"{view.zmin:.2f} to {view.zmax:.2f}: each output here is a weighted average of input values "
    "with weights summing to 1, which cannot leave that range" + words.outside_sentence(view, names)
)

prof = profiles.profile_along(
    view, line, {twin.name: twin.output_map} if twin is not None else None
)
if twin is not None:
    tname = names[twin.name]
    st.subheader(f"{tname}, a separate model, on the same pattern")
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
    st.caption(
        words.twin_sentence(twin, view, names) + " " + words.sampling_sentence(sampling, tname)
    )

st.subheader("Across the edge: a profile")
if len(prof.pixels) < 2:
    st.warning("The line crosses fewer than two output pixels of this step: lengthen it.")
else:
    separate = (twin.name,) if twin is not None else ()
    st.plotly_chart(
        sandbox_figs.profile_figure(prof, names, separate),
        key="sb_profile",
        config=style.png_config("sandbox_profile"),
    )
    jumps = ", ".join(f"{names[m]} **{prof.steepest[m]:.3f}**" for m in view.methods)
    if twin is not None:
        jumps += f"; {names[twin.name]} (separate model) **{prof.steepest[twin.name]:.3f}**"
    st.markdown(
        f"The line crosses {len(prof.pixels)} output pixels. Largest change between two "
        f"neighbouring pixels on it: input map **{prof.input_steepest:.3f}** (between "
        f"neighbouring input pixels); {jumps}."
    )
    c, b = prof.steepest.get("carafe", 0.0), prof.steepest.get("bilinear", 0.0)
    if prof.pattern_values is not None and not prof.crosses_pattern:
        st.markdown(
            "This line does not cross the pattern's boundary: the changes along it come from "
            "the features alone (the image is one colour here). Move the line across the edge."
        )
    elif prof.input_steepest < 1e-3:
        st.markdown("The input map is flat along this line: there is no step to keep.")
    elif not prof.crosses_pattern:
        st.markdown(
            f"CARAFE's steepest change on this line is {c / max(b, 1e-12):.1f}× bilinear's."
        )
    elif c > 1.2 * b:
        st.markdown(
            f"Here CARAFE keeps the step: its steepest change is **{c / b:.1f}×** bilinear's. "
            "Bilinear's weights are fixed by position, so each jump of the input is shared "
            "out over the output pixels between two input pixels: a ramp. CARAFE chooses its "
            "weights per output pixel; the kernels below show where each one takes them from."
        )
    else:
        st.markdown(
            f"Here CARAFE is **not** clearly steeper than bilinear ({c:.3f} vs {b:.3f}). Pick "
            "a finer step in the sidebar or move the line."
        )
    st.caption(
        "Every output is a weighted average of the input under its window (weights summing "
        "to 1), so it stays within the range of those input values. "
        + (
            f"A step can still come out steeper than the input map's own largest jump (here "
            f"CARAFE {c:.3f} vs input {prof.input_steepest:.3f}): two neighbouring output "
            "pixels may take their weight from input pixels further apart than one."
            if c > prof.input_steepest
            else "Here CARAFE's steepest change stays below the input map's largest jump."
        )
        + " Grey band: the input map (each input pixel covers several output pixels); dotted: "
        "the pattern itself, exactly along the line"
        + (f"; dashed: {names[twin.name]}, a separate model." if twin is not None else ".")
    )
    ks = profiles.kernels_along(view, prof)
    st.plotly_chart(
        sandbox_figs.kernels_figure(ks),
        key="sb_kernels",
        config=style.png_config("sandbox_kernels"),
    )
    st.caption(
        f"CARAFE's {step.geometry.k}×{step.geometry.k} kernels at {len(ks)} consecutive "
        "output pixels of the line, around the input's largest jump. A white dot marks a tap "
        "whose input lies on the high side of the line's range; each title gives the "
        "kernel's weight on the dotted taps and bilinear's at the same pixel (fixed by its "
        "position). " + words.kernels_sentence(ks)
    )

st.subheader("Why CARAFE's flat areas show a grid texture")
flat = view.flat
s = step.scale
if flat is None:
    st.info(
        f"At this step {view.pixels.sentence()}, so there is no flat area to measure: pick a "
        "finer step or a bigger pattern."
    )
else:
    neighbour = (
        f"; the same sub-pixel's kernel at a neighbouring flat input pixel differs by only "
        f"**{flat.neighbour_difference:.0%}**"
        if flat.neighbour_difference is not None
        else ""
    )
    r = flat.roughness
    st.markdown(
        f"Each input pixel predicts **s² = {s * s}** kernels, one for each output pixel of its "
        f"{s}×{s} block. On the **{flat.pixels:,}** input pixels whose whole window lies on "
        f"one colour ({view.pixels.sentence()}), these kernels differ: from one sub-pixel's "
        "kernel to another's, "
        f"**{flat.subpixel_difference:.0%}** of the weight moves to other taps on average "
        f"(bilinear's {s * s} sub-pixel kernels differ by {flat.bilinear_subpixel_difference:.0%})"
        f"{neighbour}."
        + (
            " So in flat areas the kernels change with the position in the block far more "
            "than with the place.\n\n"
            if flat.neighbour_difference is not None
            and flat.subpixel_difference > 2 * flat.neighbour_difference
            else "\n\n"
        )
        + words.flat_features_sentence(flat.input_spread, s)
        + " Roughness there (mean "
        f"|second difference| along rows and columns): CARAFE **{r.get('carafe', 0):.4f}**, "
        f"bilinear {r.get('bilinear', 0):.4f}, nearest {r.get('nearest', 0):.4f} (its blocks), "
        f"deconv {r.get('deconv', 0):.4f}. "
        + (
            f"CARAFE's output is **{r['carafe'] / r['bilinear']:.1f}×** as rough as bilinear's "
            "there: that is the grid texture."
            if r.get("bilinear", 0) > 0 and r.get("carafe", 0) > 1.2 * r["bilinear"]
            else "Here CARAFE's output is not clearly rougher than bilinear's."
        )
    )
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
texts.cite()
