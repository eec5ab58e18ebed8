"""The guided tour's Streamlit part: a sidebar section to start, resume or end it, and the
banner at the top of each tour page (step n of N, where to look, a sentence computed from the
current analysis, Back / Next / End buttons).

The steps and their sentences are carafe.inspect.tour's (steps, words). The tour keeps its place in
``st.session_state["tour_step"]``. Its buttons work in callbacks: a callback may set widget
keys (the stage of How it works, the Sandbox's image and line, the sidebar's choices, which a
page switch by the script would otherwise drop) and leaves the page to go to; the next run
switches there (:func:`switch_if_asked`, from the sidebar). Work that needs the analysis
(picking the tour's pixel, pinning) is left as a flag that the next page's banner carries out.
"""

from __future__ import annotations

import hashlib

import pins
import state
import streamlit as st
import widgets

import carafe.inspect.sandbox.patterns as patterns
import carafe.inspect.sandbox.profile as profiles
import carafe.inspect.sandbox.view as sb
from carafe.inspect.analysis import analyze
from carafe.inspect.imageio import sample_images
from carafe.inspect.pins.choice import choose_pins
from carafe.inspect.pins.words import pin_choice_sentence
from carafe.inspect.tour.sandbox_line import sandbox_line
from carafe.inspect.tour.steps import STEPS
from carafe.inspect.tour.words import pixel_sentence, sandbox_sentence

PAGES = {
    "explore": "app_pages/explore.py",
    "how_it_works": "app_pages/how_it_works.py",
    "sandbox": "app_pages/sandbox.py",
}
CHANNEL_KEYS = {"explore": "explore_channel", "how_it_works": "hiw_channel"}


SHARED = ("image_source", "sample", "checkpoint", "step_pos")  # the sidebar's widgets


def active() -> int | None:
    """The tour step shown now (index into STEPS), or None when no tour runs."""
    i = st.session_state.get("tour_step")
    return i if isinstance(i, int) and 0 <= i < len(STEPS) else None


def _keep_shared() -> None:
    """Keep the sidebar's choices through a page switch made by the script.

    st.switch_page sends no widget states, so Streamlit drops every widget's value when the
    page changes; values set through st.session_state (allowed in a callback) stay.
    """
    for key in SHARED:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def _go(page: str) -> None:
    """Callback side of a switch: keep the sidebar, then ask the next run to switch pages."""
    _keep_shared()
    st.session_state["tour_goto"] = page


def switch_if_asked() -> None:
    """Switch to the page a tour button asked for (call once per run, before the page runs)."""
    page = st.session_state.pop("tour_goto", None)
    if page in PAGES:
        st.switch_page(PAGES[page])


def start() -> None:
    """Callback: start the tour on Explore; its banner picks the pixel there (the image's
    typical straddling pixel, as Explore starts)."""
    st.session_state["tour_step"] = 0
    st.session_state["tour_pick"] = True
    _go("explore")


def end() -> None:
    """Callback: end the tour and return to Explore (the selected pixel stays)."""
    for key in ("tour_step", "tour_pick", "tour_pin_pending", "tour_sandbox"):
        st.session_state.pop(key, None)
    _go("explore")


def _image_bytes() -> tuple[bytes, str]:
    """The sidebar image's file bytes and name (as state.image_from_sidebar chooses them)."""
    if st.session_state.get("image_source") == "Upload" and st.session_state.get("upload_bytes"):
        return st.session_state["upload_bytes"], st.session_state.get("upload_name") or "upload"
    names = state.sample_names()
    label = st.session_state.get("sample") or names[0]
    label = label if label in names else names[0]
    return sample_images()[label].read_bytes(), label


def _prepare_sandbox() -> None:
    """Put the sidebar image into the Sandbox, with its profile line through the tour's pixel.

    Runs in a callback, without the page's analysis at hand: it takes the cached one
    (state.analysis_for, keyed as state.current keys it, so nothing is computed again).
    """
    ss = st.session_state
    data, name = _image_bytes()
    image, _ = state.decode(data)
    small, _ = state.decode(data, sb.UPLOAD_SIDE, min_long_side=0)
    if image is None or small is None:
        return  # the page itself says why the image cannot be used
    key = hashlib.sha1(data).hexdigest()
    model_name = state.running_model_name()
    steps = state.analysis_for(model_name, key, image).steps
    pos = ss.get("step_pos")
    step = steps[pos if isinstance(pos, int) and 0 <= pos < len(steps) else -1]
    if step.carafe is None:
        return
    line = sandbox_line(step, *state.selected_pixel(step), small.shape[:2])
    ss.update(
        sb_pattern="Upload",
        sb_upload_bytes=data,
        sb_upload_name=name,
        sb_line_for=key,  # the Sandbox's key for this image: it keeps the line set here
        sb_line_angle=line.angle,
        sb_line_length=line.length,
        sb_line_cy=line.cy,
        sb_line_cx=line.cx,
        tour_sandbox=line,
    )


def _enter(index: int) -> None:
    """Callback: go to tour step ``index`` (past the last one: end), setting what its page
    needs first (widget keys may only be set before their widgets are drawn: a callback)."""
    if index >= len(STEPS):
        end()
        return
    step = STEPS[index]
    ss = st.session_state
    ss["tour_step"] = index
    if step.page == "how_it_works":
        ss["hiw_mode"] = "Your image"
        ss["hiw_stage"] = step.stage
    if step.page == "sandbox":
        _prepare_sandbox()
    if step.pins:
        ss["tour_pin_pending"] = True
    _go(step.page)


def sidebar() -> None:
    """The sidebar's tour section: start it, or go back to its step / end it. Also makes the
    page switch a tour button asked for in the run before."""
    switch_if_asked()
    st.markdown("### Guided tour")
    i = active()
    if i is None:
        st.button(
            "Take the tour",
            key="tour_start",
            on_click=start,
            help=f"{len(STEPS)} steps: one pixel of this image from Explore through How it "
            "works to the Sandbox and back.",
        )
        return
    st.caption(f"Step {i + 1} of {len(STEPS)}: {STEPS[i].title}")
    c1, c2 = st.columns(2)
    c1.button(
        "Go to the step",
        key="tour_resume",
        on_click=_enter,
        args=(i,),
        help="Back to the tour's page, set up as the step sets it.",
    )
    c2.button("End the tour", key="tour_end_sidebar", on_click=end)


@st.cache_data(show_spinner="Running the model on the Sandbox's copy…", max_entries=4)
def _sandbox_profile(model_name: str, key: str, pos: int, line_values: tuple, _image):
    """The Sandbox's profile along its line (the page computes the same from the same data)."""
    analysis = analyze(state.get_model(model_name), _image)
    step = analysis.steps[min(max(pos, 0), len(analysis.steps) - 1)]
    if step.carafe is None:
        return None
    view = sb.sandbox_view(step, _image, None)
    return profiles.profile_along(view, patterns.line_through(*line_values))


def _sandbox_text() -> str | None:
    """The Sandbox step's sentence, from the Sandbox's own copy and line (None without them)."""
    ss = st.session_state
    data = ss.get("sb_upload_bytes")
    if ss.get("sb_pattern") != "Upload" or data is None:
        return None
    image, _ = state.decode(data, sb.UPLOAD_SIDE, min_long_side=0)
    if image is None:
        return None
    model_name = state.running_model_name()
    values = tuple(
        ss.get(k) for k in ("sb_line_cy", "sb_line_cx", "sb_line_angle", "sb_line_length")
    )
    if None in values:  # the Sandbox has not drawn its line yet
        return None
    values = tuple(float(v) for v in values)
    prof = _sandbox_profile(
        model_name, hashlib.sha1(data).hexdigest(), int(ss.get("step_pos", -1)), values, image
    )
    if prof is None:
        return None
    line = ss.get("tour_sandbox")
    moved = line is None or values != (line.cy, line.cx, line.angle, line.length)
    return sandbox_sentence(prof, None if moved else line)


def _pixel_text(key: str, page: str, cur) -> str:
    """The sentence of a step shown on Explore or How it works, for the selected pixel."""
    step = cur.step
    oy, ox = state.selected_pixel(step)
    if key == "pins" and step.carafe is not None:
        return pin_choice_sentence(choose_pins(step, cur.image, cur.analysis.segmentation))
    channel = st.session_state.get(CHANNEL_KEYS.get(page, ""))
    if channel not in widgets.channel_choices(step):
        channel = None  # the page's own default: the most energetic channel
    return pixel_sentence(
        key,
        step,
        oy,
        ox,
        segmentation=cur.analysis.segmentation,
        class_names=cur.analysis.class_names,
        channel=channel,
    )


def _arrive(cur) -> None:
    """Work a step left for this page: pick the tour's pixel, pin the edge and flat pixels."""
    ss = st.session_state
    if cur is None or cur.step.carafe is None:
        return
    if ss.pop("tour_pick", False):
        state.select_start_pixel(cur)
    if STEPS[active()].pins and ss.pop("tour_pin_pending", False):
        pins.pin_pair(cur)


def banner(page: str, cur=None) -> None:
    """The tour's banner for ``page`` when the tour's current step is on it (else nothing).

    ``cur``: the page's state.Current (None on the Sandbox, which has its own image).
    """
    i = active()
    if i is None or STEPS[i].page != page:
        return
    _arrive(cur)
    step = STEPS[i]
    with st.container(border=True):
        st.markdown(f"**Guided tour · step {i + 1} of {len(STEPS)}: {step.title}**")
        st.progress((i + 1) / len(STEPS))
        st.markdown(step.look)
        text = _sandbox_text() if step.page == "sandbox" else _pixel_text(step.key, page, cur)
        if text:
            st.info(text, icon=":material/tour:")
        b1, b2, b3, _ = st.columns([1.2, 1.2, 1, 2])
        b1.button(
            "◀ Previous tour step",
            key="tour_back",
            disabled=i == 0,
            on_click=_enter,
            args=(i - 1,),
        )
        b2.button(
            "Finish the tour" if i == len(STEPS) - 1 else "Next tour step ▶",
            key="tour_next",
            on_click=_enter,
            args=(i + 1,),
        )
        b3.button("End the tour", key="tour_end", on_click=end)
