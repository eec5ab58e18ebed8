"""Session state and caching: the cached model and analysis, the current image, the selected pixel.

Pages call :func:`require_current` to get the model's analysis of the image chosen in the
sidebar, and :func:`pixel_inputs` / :func:`selected_pixel` for the clicked pixel. The selected
pixel is kept in image coordinates (``sel_y``, ``sel_x``), so it survives switching pages and
FPN steps. All maths goes through ``carafe.inspect`` (``step.geometry`` for coordinates).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import streamlit as st

from carafe.inspect.imageio import (
    DEFAULT_MAX_SIDE,
    MODEL_MIN_SIDE,
    ImageLoadError,
    load_image,
    sample_images,
)

MAX_SIDE = DEFAULT_MAX_SIDE


def sample_names() -> list[str]:
    """Bundled sample images (file names in assets/samples), training-like scenes first."""
    return list(sample_images())


def is_training_like(name: str) -> bool:
    """Whether an image looks like the training data (the bundled shapes scenes)."""
    return name.startswith("shapes_") and name in sample_names()


def image_is_photo() -> bool:
    """Whether the sidebar's image is a photo (an upload or a photo sample), not a scene."""
    if st.session_state.get("image_source", "Sample") == "Upload":
        return True
    names = sample_names()
    label = st.session_state.get("sample") or names[0]
    return not is_training_like(label if label in names else names[0])


def image_identity() -> str:
    """What names the sidebar's image choice (the sample, or the upload's name and size)."""
    if st.session_state.get("image_source", "Sample") == "Upload":
        data = st.session_state.get("upload_bytes") or b""
        return f"upload:{st.session_state.get('upload_name')}:{len(data)}"
    return f"sample:{st.session_state.get('sample')}"


def default_task() -> str:
    """The "Trained on" choice an image starts with: "photos" for a photo, else "scenes"."""
    return "photos" if image_is_photo() else "scenes"


def photos_task() -> bool:
    """Whether the photo models run (the sidebar's "Trained on" choice; it follows the image
    until the learner switches it)."""
    return st.session_state.get("model_task", default_task()) == "photos"


def running_model_name(checkpoint: str | None = None) -> str:
    """The checkpoint that runs for the sidebar's choice: its photo model on the photo task."""
    from carafe.inspect.catalog import running_model

    name = checkpoint or st.session_state.get("checkpoint") or checkpoint_names()[0]
    return running_model(name, photos_task())


def checkpoint_names() -> list[str]:
    """Checkpoints for the sidebar (see carafe.inspect.model_names)."""
    from carafe.inspect.catalog import model_names

    return model_names()


def checkpoint_label(name: str) -> str:
    """The sidebar's name for a checkpoint (see carafe.inspect.catalog.model_label)."""
    from carafe.inspect.catalog import model_label

    return model_label(name)


@st.cache_resource(show_spinner="Loading the model…")
def get_model(name: str):
    """Load a checkpoint once per process (shared by all sessions; read-only, eval mode)."""
    from carafe.inspect.catalog import load_model

    return load_model(name)


@st.cache_data(show_spinner=False, max_entries=32)
def decode(data: bytes, max_side: int = MAX_SIDE, min_long_side: int = MODEL_MIN_SIDE):
    """Bytes -> (array, notes) or (None, error message). Cached per file content."""
    try:
        loaded = load_image(data, max_side=max_side, min_long_side=min_long_side)
    except ImageLoadError as err:
        return None, str(err)
    return loaded.array, loaded.notes


@st.cache_data(show_spinner="Running the model on your image…", max_entries=6)
def analysis_for(model_name: str, image_key: str, _image: np.ndarray):
    """Cached :func:`carafe.inspect.analyze` (key: model name + image content hash)."""
    from carafe.inspect.analysis import analyze

    return analyze(get_model(model_name), _image)


@st.cache_resource(show_spinner="Loading the twin…")
def get_twin(name: str):
    """A twin for running beside the current model, loaded once per process (folded
    BatchNorm: faster, same outputs to float rounding)."""
    from carafe.inspect.catalog import load_twin

    return load_twin(name)


def twin_analysis_for(kind: str, image_key: str, image: np.ndarray):
    """Analysis of the ``kind`` twin shown beside the current model (Explore's kernel family,
    Compare's twin, the sampling points), trained for the same task (its photo model on the
    photo task): its own outputs, kernels and points, without the untrained baselines (the
    current model's analysis has those), so it costs less."""
    return _twin_analysis(running_model_name(kind), image_key, image)


@st.cache_data(show_spinner="Running the twin on your image…", max_entries=12)
def _twin_analysis(model_name: str, image_key: str, _image: np.ndarray):
    from carafe.inspect.analysis import analyze

    return analyze(get_twin(model_name), _image, baselines=False)


twin_analysis_for.clear = _twin_analysis.clear  # like the cached functions: empties the cache


@st.cache_data(show_spinner=False, max_entries=6)
def image_alignment_for(model_name: str, image_key: str, _analysis, sample: str | None = None):
    """Cached :func:`carafe.inspect.regions.image_alignment` of the current analysis, against
    the image's parts (:func:`part_labels`: a shapes sample's true object masks, else the
    photo's colour regions, computed once per image for every model)."""
    from carafe.inspect.regions import image_alignment

    labels, true_labels = part_labels(image_key, _analysis.image, sample)
    return image_alignment(_analysis, labels=labels, true_labels=true_labels)


@st.cache_data(show_spinner=False, max_entries=6)
def part_labels(image_key: str, _image: np.ndarray, sample: str | None = None):
    """(labels (H, W), whether they are true objects): the image's parts that measures count
    as a pixel's own (carafe.inspect.regions.image_regions), never the model's predicted
    classes. Cached per image, so every model and page shares one segmentation."""
    from carafe.inspect.regions import image_regions

    return image_regions(_image, sample)


@st.cache_data(show_spinner=False, max_entries=6)
def segmentation_for(model_name: str, image_key: str, _image: np.ndarray):
    """Cached segmentation of another checkpoint (the twins on the Compare page)."""
    from carafe.inspect.analysis import segment

    return segment(get_model(model_name), _image)


def points_for(kind: str, image_key: str, image: np.ndarray):
    """Sampling points of the shipped ``kind`` twin (a point sampler, such as DySample) on the
    image, one entry per step, read from its cached analysis (the same pass, nothing runs
    twice); None when that twin is not shipped."""
    from carafe.inspect.catalog import twin_names
    from carafe.inspect.sampling import step_points

    if kind not in twin_names():
        return None
    return step_points(twin_analysis_for(kind, image_key, image))


@st.cache_data(show_spinner=False, max_entries=12)
def habits_for(model_name: str, image_key: str, step_index: int, group: int, _step, _image):
    """Cached border and flat-region measures of one step (see carafe.inspect.habits)."""
    from carafe.inspect.habits import border_habit, flat_habit

    return border_habit(_step, group), flat_habit(_step, _image, group)


@st.cache_data(show_spinner=False, max_entries=24)
def border_profile_for(
    model_name: str, image_key: str, step_index: int, row: int, channel: int, _step
):
    """Cached profile of one output row across the image (carafe.inspect.habits)."""
    from carafe.inspect.habits import border_profile

    return border_profile(_step, row, channel)


@dataclass
class Current:
    """What every page works on: the image, the checkpoint and the model's analysis."""

    image: np.ndarray
    image_key: str
    name: str  # image label for captions and file names
    model_name: str  # the checkpoint that runs (a photo model on the photo task)
    analysis: object  # carafe.inspect.Analysis
    step_index: int  # position in analysis.steps
    training_like: bool = False  # a shapes scene like the training data (else: a photo)
    checkpoint: str = ""  # the sidebar's choice (the scene model's name)

    @property
    def step(self):
        """The selected upsampling step of the analysis."""
        return self.analysis.steps[self.step_index]


def store_upload() -> None:
    """Uploader callback: keep the file's bytes in this session's state (never shared).

    When the uploader is cleared (also for a moment while a second file replaces the first),
    the last upload stays, so the page never flashes back to a sample image.
    """
    up = st.session_state.get("upload")
    if up is not None:
        st.session_state["upload_bytes"] = up.getvalue()
        st.session_state["upload_name"] = up.name


def image_from_sidebar() -> tuple[np.ndarray | None, str, str]:
    """The chosen image as (array or None, content key, label); shows errors/notes itself."""
    source = st.session_state.get("image_source", "Sample")
    data = st.session_state.get("upload_bytes") if source == "Upload" else None
    if data is not None:
        label = st.session_state.get("upload_name") or "upload"
    else:
        if source == "Upload":
            st.info("Upload an image in the sidebar; until then a sample image is shown.")
        names = sample_names()
        label = st.session_state.get("sample") or names[0]
        if label not in names:
            label = names[0]
        data = sample_images()[label].read_bytes()
    array, info = decode(data)
    if array is None:
        st.error(f"**{label}** cannot be used: {info}")
        return None, "", label
    if info:
        st.info(f"**{label}**: " + "; ".join(info) + ".")
    return array, hashlib.sha1(data).hexdigest(), label


def scene_name(label: str) -> str | None:
    """The sample's file name when the sidebar shows a bundled sample (else None)."""
    return label if st.session_state.get("image_source", "Sample") != "Upload" else None


def require_current() -> Current:
    """The current analysis; stops the page when there is none (the reason is already shown)."""
    cur = current()
    if cur is None:
        st.stop()
    return cur


def current() -> Current | None:
    """The analysis of the current image, or None (an error message is already shown)."""
    from carafe.inspect.catalog import RANDOM_INIT

    image, key, label = image_from_sidebar()
    if image is None:
        return None
    checkpoint = st.session_state.get("checkpoint") or checkpoint_names()[0]
    model_name = running_model_name(checkpoint)
    if model_name == RANDOM_INIT:
        st.warning(
            "No trained checkpoint was found in assets/, so this is a **randomly "
            "initialised** model: the kernels are nearly uniform and the segmentation "
            "is meaningless."
        )
    try:
        analysis = analysis_for(model_name, key, image)
    except Exception as err:  # noqa: BLE001 - show, never crash
        st.error(f"The model could not analyse this image: {type(err).__name__}: {err}")
        return None
    steps = analysis.steps
    if not steps:
        st.error("This model has no upsampling steps to show.")
        return None
    idx = st.session_state.get("step_pos")
    if idx is None or not 0 <= idx < len(steps):
        idx = len(steps) - 1  # the finest step: most pixels, clearest edges
    source = st.session_state.get("image_source", "Sample")
    training_like = source != "Upload" and is_training_like(label)
    cur = Current(image, key, label, model_name, analysis, idx, training_like, checkpoint)
    if st.session_state.get("sel_image") != key:  # a new image: start at the running model's
        st.session_state["sel_image"] = key  # typical edge pixel
        st.session_state["sel_y"], st.session_state["sel_x"] = (s // 2 for s in image.shape[:2])
        select_start_pixel(cur)
    return cur


def select_start_pixel(cur: Current) -> None:
    """Select the image's typical straddling pixel (carafe.inspect.regions), where the page
    and the tour start; without one, the step's most-leaning edge pixel."""
    from carafe.inspect.pixel import start_pixel

    measure = image_alignment_for(cur.model_name, cur.image_key, cur.analysis, scene_name(cur.name))
    if measure is not None and measure.typical is not None:
        finest = next(s for s in cur.analysis.steps if s.index == measure.step_index)
        select_output_pixel(finest, *measure.typical)
    elif cur.step.carafe is not None:
        select_output_pixel(cur.step, *start_pixel(cur.step, 0, cur.analysis.segmentation))


def step_labels(model_name: str) -> list[str]:
    """Sidebar labels of the model's upsampling steps, coarsest first (as in Analysis.steps)."""
    from carafe.inspect.catalog import step_labels as labels_of

    try:
        return labels_of(get_model(model_name))
    except Exception:  # noqa: BLE001 - the page shows the real error
        return []


def selected_pixel(step) -> tuple[int, int]:
    """The selected output pixel (row, col) of ``step``, from the image-coordinate selection."""
    h, w = step.image_hw
    return output_pixel_of(
        step, st.session_state.get("sel_y", h // 2), st.session_state.get("sel_x", w // 2)
    )


def output_pixel_of(step, iy: int, ix: int) -> tuple[int, int]:
    """The visible output pixel (row, col) of ``step`` under image pixel (iy, ix)."""
    h, w = step.image_hw
    iy, ix = int(np.clip(iy, 0, h - 1)), int(np.clip(ix, 0, w - 1))
    oy, ox = step.geometry.output_pixel_at(iy, ix)
    oh, ow = step.visible_output_hw()
    return min(oy, oh - 1), min(ox, ow - 1)


MAX_PINS = 2


def pins(image_key: str) -> list[dict]:
    """The pinned pixels of this image: dicts with ``y``, ``x`` (image pixels) and ``what``
    (how they were chosen: "" by hand, else e.g. "edge"). Pins of another image are dropped."""
    if st.session_state.get("pins_image") != image_key:
        return []
    return list(st.session_state.get("pins", []))


def set_pins(image_key: str, pinned: list[dict], note: str = "") -> None:
    """Replace the pins of this image (at most MAX_PINS) and the note that says how."""
    st.session_state["pins_image"] = image_key
    st.session_state["pins"] = list(pinned)[:MAX_PINS]
    st.session_state["pins_note"] = note


def pin_selected(step, image_key: str) -> None:
    """Pin the selected pixel (its output pixel's centre on ``step``), if a pin is free."""
    pinned = pins(image_key)
    if len(pinned) < MAX_PINS:
        iy, ix = step.geometry.image_centre(*selected_pixel(step))
        set_pins(image_key, pinned + [{"y": int(iy), "x": int(ix), "what": ""}])


def select_output_pixel(step, oy: int, ox: int) -> None:
    """Select output pixel (oy, ox) of ``step`` (stored as its centre in image pixels)."""
    iy, ix = step.geometry.image_centre(int(oy), int(ox))
    st.session_state["sel_y"], st.session_state["sel_x"] = int(iy), int(ix)


def pixel_inputs(step, key: str = "px") -> tuple[int, int]:
    """Row/column number inputs for the selected output pixel (keyboard + tests).

    Values past the map are clamped to the last row/column, with a note saying so (a
    number_input with a maximum would only show a red "press Enter" and ignore Enter).
    """
    oy, ox = selected_pixel(step)
    oh, ow = step.visible_output_hw()
    note_key = f"{key}_clamped"

    def _changed():
        y, x = int(st.session_state[f"{key}_y"]), int(st.session_state[f"{key}_x"])
        cy, cx = min(max(y, 0), oh - 1), min(max(x, 0), ow - 1)
        st.session_state[note_key] = (
            f"({y}, {x}) is outside this {oh}×{ow} map: showing ({cy}, {cx}), the nearest "
            "pixel inside it."
            if (cy, cx) != (y, x)
            else ""
        )
        select_output_pixel(step, cy, cx)

    st.session_state[f"{key}_y"], st.session_state[f"{key}_x"] = oy, ox
    c1, c2 = st.columns(2)
    c1.number_input(
        "Output row y",
        min_value=0,
        step=1,
        key=f"{key}_y",
        on_change=_changed,
        help=f"Row of the output pixel in this step's upsampled map (0–{oh - 1}).",
    )
    c2.number_input(
        "Output column x",
        min_value=0,
        step=1,
        key=f"{key}_x",
        on_change=_changed,
        help=f"Column of the output pixel in this step's upsampled map (0–{ow - 1}).",
    )
    if st.session_state.get(note_key):
        st.caption(st.session_state[note_key])
    return selected_pixel(step)
