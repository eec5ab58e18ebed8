"""CARAFE Explorer: see what CARAFE (Wang et al., ICCV 2019) predicts on your own image.

Run with ``streamlit run app/main.py``. This file sets up the page, the sidebar shared by all
pages (image, checkpoint, FPN step) and the navigation; each page lives in app/app_pages/.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

st.set_page_config(page_title="CARAFE Explorer", page_icon=":material/search:", layout="wide")

PAGES = Path(__file__).resolve().parent / "app_pages"
pages = [
    st.Page(PAGES / "explore.py", title="Explore", icon=":material/search:", default=True),
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
    st.Page(
        PAGES / "performance.py",
        title="Performance",
        icon=":material/speed:",
        url_path="performance",
    ),
]
nav = st.navigation(pages)


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
                on_change=common.store_upload,
                max_upload_size=25,
                type=["png", "jpg", "jpeg", "bmp", "gif", "tif", "tiff", "webp"],
                help=f"Images are converted to RGB and downscaled to a maximum side of "
                f"{common.MAX_SIDE} px. Your image stays in your session only.",
            )
        else:
            st.selectbox(
                "Sample image",
                common.sample_names(),
                key="sample",
                format_func=common.sample_label,
                help="Bundled images (assets/samples/, sources in SOURCES.md). The "
                "shapes scenes look like the training data: textured shapes "
                "pasted on photographs.",
            )
        st.markdown("### Model")
        st.selectbox(
            "Checkpoint",
            names,
            key="checkpoint",
            help="'carafe' is the shipped segmentation model. Converted mmdetection "
            "checkpoints (python -m carafe.convert_mmdet IN.pth "
            "assets/converted/NAME.safetensors) appear here too.",
        )
        if labels:
            st.selectbox(
                "FPN upsampling step",
                range(len(labels)),
                key="step_pos",
                format_func=lambda i: labels[i],
                help="The FPN's top-down path upsamples ×2 once per level, coarsest "
                "first; P2 (stride 4) is the finest level.",
            )
        st.caption(
            "CARAFE: Wang et al., ICCV 2019, [arXiv 1905.02188](https://arxiv.org/abs/1905.02188)"
        )


names = common.checkpoint_names()
if st.session_state.get("checkpoint") not in names:
    st.session_state["checkpoint"] = names[0]
labels = common.step_labels(st.session_state["checkpoint"])
if labels and st.session_state.get("step_pos") not in range(len(labels)):
    st.session_state["step_pos"] = len(labels) - 1  # finest step: most pixels, clearest edges
_sidebar()
nav.run()
