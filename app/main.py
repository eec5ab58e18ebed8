"""CARAFE Explorer: see what CARAFE (Wang et al., ICCV 2019) predicts on your own image.

Run with ``streamlit run app/main.py``. This file sets up the page, the sidebar shared by all
pages (image, checkpoint, FPN step) and the navigation; each page lives in app/app_pages/.
Streamlit puts this file's folder on ``sys.path``, so the app's modules import plainly.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

HERE = Path(__file__).resolve().parent
ICON = HERE / "static" / "icon.png"  # shipped: nothing is fetched from a font host

st.set_page_config(page_title="CARAFE Explorer", page_icon=str(ICON), layout="wide")

PAGES = HERE / "app_pages"
pages = [
    st.Page(PAGES / "explore.py", title="Explore", icon=":material/search:", default=True),
    st.Page(
        PAGES / "network.py",
        title="The whole network",
        icon=":material/account_tree:",
        url_path="network",
    ),
    st.Page(
        PAGES / "learning.py",
        title="Watch CARAFE learn",
        icon=":material/timeline:",
        url_path="learning",
    ),
    st.Page(
        PAGES / "compressed.py",
        title="Compressed channels",
        icon=":material/grid_view:",
        url_path="compressed",
    ),
    st.Page(
        PAGES / "compare.py",
        title="Compare upsamplers",
        icon=":material/compare:",
        url_path="compare",
    ),
    st.Page(
        PAGES / "how_it_works.py",
        title="How it works",
        icon=":material/school:",
        url_path="how-it-works",
    ),
    st.Page(PAGES / "sandbox.py", title="Sandbox", icon=":material/science:", url_path="sandbox"),
    st.Page(
        PAGES / "train_tiny.py",
        title="Train a tiny CARAFE",
        icon=":material/model_training:",
        url_path="train-tiny",
    ),
    st.Page(
        PAGES / "performance.py",
        title="Performance",
        icon=":material/speed:",
        url_path="performance",
    ),
]
nav = st.navigation(pages)

# The page frame is drawn; now the heavy imports, with a message the learner sees at once.
first_run = "booted" not in st.session_state  # a session's first run does the heavy work
boot = st.empty()
if first_run:
    boot.info(
        "Preparing the CARAFE operator (on the very first start it compiles its C++ kernels, "
        "once: 15–50 s on 2 cores, longer when they are busy; `carafe-build` does it ahead "
        "of time)…",
        icon="⏳",
    )
import state  # noqa: E402 - after the message: imports carafe (and may build the op)
import texts  # noqa: E402
import tour  # noqa: E402

from carafe.inspect.catalog import model_label, photo_model_of, trained_for  # noqa: E402
from carafe.inspect.glossary import glossary_markdown  # noqa: E402

names = state.checkpoint_names()
if st.session_state.get("checkpoint") not in names:
    st.session_state["checkpoint"] = names[0]
if first_run:
    boot.info("Loading the model…", icon="⏳")
labels = state.step_labels(state.running_model_name())
boot.empty()
st.session_state["booted"] = True
if labels and st.session_state.get("step_pos") not in range(len(labels)):
    st.session_state["step_pos"] = len(labels) - 1  # finest step: most pixels, clearest edges


def _task_choice() -> None:
    """Scene or photo model: follows the image (photos run the photo models) until the
    learner switches; one line says which model runs and what it was trained to do."""
    identity = state.image_identity()
    if st.session_state.get("task_image") != identity:  # a new image: its own default
        st.session_state["task_image"] = identity
        st.session_state["model_task"] = state.default_task()
    has_photo = photo_model_of(st.session_state["checkpoint"]) is not None
    st.radio(
        "Trained on",
        ["scenes", "photos"],
        key="model_task",
        horizontal=True,
        format_func={"scenes": "shapes scenes", "photos": "photos (no labels)"}.get,
        disabled=not has_photo,
        help="Photos and uploads run the photo model, the shapes scenes the scene model; "
        "switch to see the other on the same image.",
    )
    running = state.running_model_name()
    line = f"Runs the **{model_label(running)}**: it {trained_for(running)}."
    if st.session_state["model_task"] == "photos" and not has_photo:
        line += " (This checkpoint has no photo model.)"
    st.caption(line)


def _sidebar() -> None:
    """Image, checkpoint and FPN step: shared by every page (kept in session state)."""
    with st.sidebar:
        st.markdown("### Your image")
        st.radio(
            "Image source",
            ["Sample", "Upload"],
            key="image_source",
            horizontal=True,
            label_visibility="collapsed",
        )
        if st.session_state.get("image_source") == "Upload":
            st.file_uploader(
                "Upload an image",
                key="upload",
                on_change=state.store_upload,
                max_upload_size=25,
                type=["png", "jpg", "jpeg", "bmp", "gif", "tif", "tiff", "webp"],
                help=f"Images are converted to RGB and resized into the models' working range "
                f"({state.MODEL_MIN_SIDE}–{state.MAX_SIDE} px on the long side). Your image "
                "stays in your session only.",
            )
        else:
            st.selectbox(
                "Sample image",
                state.sample_names(),
                key="sample",
                format_func=texts.sample_label,
                help="Bundled images (assets/samples/, sources in SOURCES.md). The "
                "shapes scenes are held-out scenes like the training data (textured "
                "shapes pasted on photographs the model never saw); the others are photos.",
            )
        st.markdown("### Model")
        st.selectbox(
            "Checkpoint",
            names,
            key="checkpoint",
            format_func=state.checkpoint_label,
            help="CARAFE is the shipped segmentation model; each twin is the same network "
            "trained the same way with another upsampler (bilinear, DySample, FADE, SAPA). "
            "Each also has a photo model, trained without labels on photos, which runs on "
            "photos and uploads (see 'Trained on'). "
            "Converted mmdetection checkpoints (carafe-convert-mmdet IN.pth "
            "assets/converted/NAME.safetensors) appear here too.",
        )
        _task_choice()
        if labels:
            st.selectbox(
                "FPN upsampling step",
                range(len(labels)),
                key="step_pos",
                format_func=lambda i: labels[i],
                help="The FPN's top-down path upsamples ×2 once per level, coarsest "
                "first; P2 (stride 4) is the finest level.",
            )
        tour.sidebar()
        with st.expander("Glossary", icon=":material/menu_book:"):
            st.markdown(glossary_markdown())
        st.caption(texts.WORKING_RANGE)
        st.caption(texts.PAPER)


_sidebar()
nav.run()
