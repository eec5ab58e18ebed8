"""Shared app state: cached model and analysis, the current image, the selected pixel.

Pages call :func:`current` to get the model's analysis of the image chosen in the sidebar, and
:func:`pixel_inputs` / :func:`selected_pixel` for the clicked pixel. The selected pixel is kept
in image coordinates (``sel_y``, ``sel_x``), so it survives switching pages and FPN steps.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st
import torch

from carafe.imageio import DEFAULT_MAX_SIDE, ImageLoadError, load_image

ROOT = Path(__file__).resolve().parents[1]
SAMPLES_DIR = ROOT / "assets" / "samples"
METRICS_FILE = ROOT / "assets" / "metrics.json"
RANDOM_INIT = "random init (no checkpoint)"
PAPER = (
    "Wang, Chen, Xu, Liu, Loy, Lin: *CARAFE: Content-Aware ReAssembly of FEatures*, "
    "ICCV 2019 ([arXiv 1905.02188](https://arxiv.org/abs/1905.02188))"
)
SAMPLE_EXTS = (".png", ".jpg", ".jpeg")
MAX_SIDE = DEFAULT_MAX_SIDE


def cite() -> None:
    """The paper reference, as a caption at the bottom of a page."""
    st.caption(
        f"Paper: {PAPER}. Everything on this page is computed live by the shipped model "
        "and the real CARAFE operator."
    )


SAMPLE_LABELS = {
    "shapes_1.png": "Shapes scene 1 (like the training data)",
    "shapes_2.png": "Shapes scene 2 (like the training data)",
    "astronaut.jpg": "Astronaut (photo, 512×512)",
    "cat.jpg": "Cat (photo)",
    "coffee.jpg": "Coffee cup (photo)",
}


def sample_label(name: str) -> str:
    """Friendly name of a bundled sample (the file name for unknown files)."""
    return SAMPLE_LABELS.get(name, name)


def sample_names() -> list[str]:
    """Bundled sample images (file names in assets/samples)."""
    names = [p.name for p in SAMPLES_DIR.iterdir() if p.suffix.lower() in SAMPLE_EXTS]
    return sorted(names, key=lambda n: (not n.startswith("shapes"), n))  # training-like first


def checkpoint_names() -> list[str]:
    """Checkpoints for the sidebar: CARAFE first, then converted ones; random init if none."""
    try:
        from carafe.models import list_pretrained

        names = [n for n in list_pretrained() if n != "bilinear"]
    except Exception:  # noqa: BLE001 - the app must start even if the models are broken
        names = []
    names.sort(key=lambda n: (n != "carafe", n))
    return names or [RANDOM_INIT]


@st.cache_resource(show_spinner="Loading the model…")
def get_model(name: str):
    """Load a checkpoint once per process (shared by all sessions; read-only, eval mode)."""
    if name == RANDOM_INIT:
        from carafe.models import build_model, default_config

        torch.manual_seed(0)
        from carafe.data import CLASS_NAMES

        return build_model(default_config(class_names=list(CLASS_NAMES))).eval()
    from carafe.models import load_pretrained

    return load_pretrained(name)


@st.cache_data(show_spinner=False, max_entries=32)
def decode(data: bytes, max_side: int = MAX_SIDE):
    """Bytes -> (array, notes) or (None, error message). Cached per file content."""
    try:
        loaded = load_image(data, max_side=max_side)
    except ImageLoadError as err:
        return None, str(err)
    return loaded.array, loaded.notes


@st.cache_data(show_spinner="Running the model on your image…", max_entries=6)
def analysis_for(model_name: str, image_key: str, _image: np.ndarray):
    """Cached :func:`carafe.inspect.analyze` (key: model name + image content hash)."""
    from carafe.inspect import analyze

    return analyze(get_model(model_name), _image)


@st.cache_data(show_spinner=False, max_entries=6)
def segmentation_for(model_name: str, image_key: str, _image: np.ndarray):
    """Cached segmentation of another checkpoint (the bilinear twin on the Compare page)."""
    from carafe.inspect import segment

    return segment(get_model(model_name), _image)


@st.cache_data(show_spinner=False)
def load_metrics() -> dict | None:
    """assets/metrics.json, or None when it is missing or unreadable."""
    try:
        return json.loads(METRICS_FILE.read_text())
    except (OSError, ValueError):
        return None


@dataclass
class Current:
    """What every page works on: the image, the checkpoint and the model's analysis."""

    image: np.ndarray
    image_key: str
    name: str  # image label for captions and file names
    model_name: str
    analysis: object  # carafe.inspect.Analysis
    step_index: int  # position in analysis.steps

    @property
    def step(self):
        """The selected upsampling step of the analysis."""
        return self.analysis.steps[self.step_index]


def store_upload() -> None:
    """Uploader callback: keep the file's bytes in this session's state (never shared)."""
    up = st.session_state.get("upload")
    if up is None:
        st.session_state.pop("upload_bytes", None)
        st.session_state.pop("upload_name", None)
    else:
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
        data = (SAMPLES_DIR / label).read_bytes()
    array, info = decode(data)
    if array is None:
        st.error(f"**{label}** cannot be used: {info}")
        return None, "", label
    if info:
        st.info(f"**{label}**: " + "; ".join(info) + ".")
    return array, hashlib.sha1(data).hexdigest(), label


def require_current() -> Current:
    """The current analysis; stops the page when there is none (the reason is already shown)."""
    cur = current()
    if cur is None:
        st.stop()
    return cur


def current() -> Current | None:
    """The analysis of the current image, or None (an error message is already shown)."""
    image, key, label = image_from_sidebar()
    if image is None:
        return None
    model_name = st.session_state.get("checkpoint") or checkpoint_names()[0]
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
    if st.session_state.get("sel_image") != key:  # a new image: start at an edge pixel
        st.session_state["sel_image"] = key
        st.session_state["sel_y"], st.session_state["sel_x"] = (s // 2 for s in image.shape[:2])
        if steps[idx].carafe is not None:
            from carafe.inspect import strongest_lean

            select_output_pixel(steps[idx], *strongest_lean(steps[idx], 0, image.shape[:2]))
    return Current(image, key, label, model_name, analysis, idx)


def step_labels(model_name: str) -> list[str]:
    """Sidebar labels of the model's upsampling steps, coarsest first (as in Analysis.steps)."""
    try:
        strides = list(get_model(model_name).neck.strides)
    except Exception:  # noqa: BLE001 - the page shows the real error
        return []
    return [
        f"P{i + 2}→P{i + 1} (stride {strides[i]}→{strides[i - 1]})"
        for i in range(len(strides) - 1, 0, -1)
    ]


def step_title(step) -> str:
    return (
        f"P{step.source_level + 2}→P{step.target_level + 2}: {step.input.shape[1]}×"
        f"{step.input.shape[2]} → {step.output.shape[1]}×{step.output.shape[2]} "
        f"(stride {step.stride_in}→{step.stride_out}, {step.kind})"
    )


def selected_pixel(step, image_shape) -> tuple[int, int]:
    """The selected output pixel (row, col) of ``step``, from the image-coordinate selection."""
    h, w = image_shape[:2]
    iy = int(np.clip(st.session_state.get("sel_y", h // 2), 0, h - 1))
    ix = int(np.clip(st.session_state.get("sel_x", w // 2), 0, w - 1))
    oh, ow = step.output.shape[-2:]
    return min(iy // step.stride_out, oh - 1), min(ix // step.stride_out, ow - 1)


def select_output_pixel(step, oy: int, ox: int) -> None:
    """Select output pixel (oy, ox) of ``step`` (stored as its centre in image pixels)."""
    st.session_state["sel_y"] = int(oy * step.stride_out + step.stride_out // 2)
    st.session_state["sel_x"] = int(ox * step.stride_out + step.stride_out // 2)


def pixel_inputs(step, image_shape, key: str = "px") -> tuple[int, int]:
    """Row/column number inputs for the selected output pixel (keyboard + tests)."""
    oy, ox = selected_pixel(step, image_shape)
    h, w = image_shape[:2]
    oh = min(step.output.shape[-2], -(-h // step.stride_out))
    ow = min(step.output.shape[-1], -(-w // step.stride_out))
    st.session_state[f"{key}_y"] = min(oy, oh - 1)
    st.session_state[f"{key}_x"] = min(ox, ow - 1)

    def _changed():
        select_output_pixel(step, st.session_state[f"{key}_y"], st.session_state[f"{key}_x"])

    c1, c2 = st.columns(2)
    c1.number_input(
        "Output row y",
        0,
        oh - 1,
        step=1,
        key=f"{key}_y",
        on_change=_changed,
        help="Row of the output pixel in this step's upsampled map.",
    )
    c2.number_input(
        "Output column x",
        0,
        ow - 1,
        step=1,
        key=f"{key}_x",
        on_change=_changed,
        help="Column of the output pixel in this step's upsampled map.",
    )
    return selected_pixel(step, image_shape)


def download_npz(cur: Current) -> bytes:
    """The kernels and maps of the current image as an .npz archive."""
    import io

    arrays = {"image": cur.image}
    a = cur.analysis
    if a.segmentation is not None:
        arrays["segmentation"] = a.segmentation
    for st_ in a.steps:
        p = f"step{st_.index}_"
        arrays[p + "input"] = st_.input
        for kind, out in st_.outputs.items():
            arrays[p + "output_" + kind] = out
        if st_.carafe is not None:
            d = st_.carafe
            for name in (
                "compressed",
                "encoder_logits",
                "kernel_logits",
                "kernels",
                "entropy",
                "peak",
                "com_dy",
                "com_dx",
            ):
                arrays[p + name] = getattr(d, name)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def explain(step, y: int, x: int, channel: int = 0):
    """:func:`carafe.explain.explain_pixel` (cheap: a few k×k arrays, no caching needed)."""
    from carafe.explain import explain_pixel

    return explain_pixel(step, y, x, channel)


def metrics_rows(obj) -> list[dict]:
    """Flatten metrics.json (nested dicts/lists, schema not fixed) into table rows.

    Each dict holding plain values becomes one row named by its path, e.g.
    ``{"carafe": {"seed0": {"mIoU": 0.8}}}`` -> ``{"run": "carafe / seed0", "mIoU": 0.8}``.
    """
    rows: list[dict] = []

    def walk(o, path):
        if isinstance(o, dict):
            leaves = {
                str(k): v
                for k, v in o.items()
                if isinstance(v, (int, float, str)) and not isinstance(v, bool)
            }
            if any(isinstance(v, (int, float)) for v in leaves.values()):
                rows.append({"run": " / ".join(path) or "all", **leaves})
            for k, v in o.items():
                if isinstance(v, (dict, list)):
                    walk(v, [*path, str(k)])
        elif isinstance(o, list):
            for i, v in enumerate(o):
                name = str(v.get("upsampler", v.get("name", i))) if isinstance(v, dict) else str(i)
                walk(v, [*path, name])

    walk(obj, [])
    return rows


_METRIC_COLUMNS = {
    "upsampler": "upsampler",
    "seed": "seed",
    "num_seeds": "seeds",
    "miou": "mIoU (%)",
    "boundary_f": "boundary F (%)",
    "upsampler_params": "upsampler params",
    "upsampler_flops_per_input_pixel": "FLOPs / input px",
}


def metrics_tables(metrics: dict) -> tuple[list[dict], list[dict], str, str]:
    """carafe.evaluate's JSON -> (mean rows, per-run rows, split caption, alignment sentence).

    Unknown layouts fall back to :func:`metrics_rows` (mean rows = everything found).
    """
    if not isinstance(metrics, dict) or not isinstance(metrics.get("runs"), list):
        return metrics_rows(metrics), [], "", ""

    def pick(rows):
        return [
            {label: r.get(key) for key, label in _METRIC_COLUMNS.items() if key in r}
            for r in rows
            if isinstance(r, dict)
        ]

    means = [{k: v for k, v in r.items() if k != "seed"} for r in pick(metrics.get("means") or [])]
    runs = pick(metrics["runs"])
    caption = ""
    if "val_images" in metrics:
        caption = (
            f"Held-out split '{metrics.get('split', 'val')}': {metrics['val_images']} "
            f"scenes of {metrics.get('image_size', '?')}×{metrics.get('image_size', '?')}"
            f" px, boundary tolerance {metrics.get('boundary_tolerance_px', '?')} px."
        )
    alignment = ""
    kas = [
        r["kernel_alignment"]
        for r in metrics["runs"]
        if isinstance(r, dict)
        and isinstance(r.get("kernel_alignment"), dict)
        and "same_object_mass" in r["kernel_alignment"]
    ]
    if kas:
        same = float(np.mean([ka["same_object_mass"] for ka in kas]))
        uniform = float(np.mean([ka.get("uniform_mass", np.nan) for ka in kas]))
        alignment = (
            f"At object boundaries (output pixels whose k×k source window holds two objects; "
            f"{kas[0].get('boundary_pixels', '?'):,} per run), the trained CARAFE kernels put "
            f"**{100 * same:.1f}%** of their weight on the pixel's own object, against "
            f"{100 * uniform:.1f}% for a uniform (bilinear-like) kernel"
            f"{f' (mean of {len(kas)} runs)' if len(kas) > 1 else ''}: the paper's Fig. 5, "
            "measured on held-out scenes."
        )
    return means, runs, caption, alignment
