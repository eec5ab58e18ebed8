"""Words shared by the pages: the paper reference, sample names, step titles, footers."""

from __future__ import annotations

import streamlit as st

PAPER = (
    "Wang, Chen, Xu, Liu, Loy, Lin: *CARAFE: Content-Aware ReAssembly of FEatures*, "
    "ICCV 2019 ([arXiv 1905.02188](https://arxiv.org/abs/1905.02188))"
)

SAMPLE_LABELS = {
    "shapes_1.png": "Shapes 1 (scene, 256 px)",
    "shapes_2.png": "Shapes 2 (scene, 384 px)",
    "coffee.jpg": "Coffee (held-out photo)",
    "retina.jpg": "Retina (held-out photo)",
    "coins.jpg": "Coins (held-out photo)",
    "gravel.jpg": "Gravel (held-out photo)",
    "astronaut.jpg": "Astronaut (training photo)",
    "cat.jpg": "Cat (training photo)",
}

#: What the shipped model learned, said where its segmentation or kernels of a photo are shown.
TRAINED_FOR = (
    "This is not one of the generated scenes, so the model's classes (ellipse, triangle, "
    "rectangle, star) mean nothing here: it was trained only on textured shapes pasted on "
    "photographs, and the colours it paints are guesses about shapes, not about this picture. "
    "What its kernels follow can still be measured without labels, against the picture's own "
    "colour regions (below)."
)

#: Why a photo model's Explore shows no segmentation overlay (one line).
NO_SEGMENTATION_PHOTO = (
    "No segmentation overlay: a photo model has no classes, it learned to rebuild the "
    "full-size photo's maps from the half-size photo."
)

#: Under the stored photo-model targets on Explore: where they come from.
PHOTO_TARGETS_NOTE = (
    "Stored in assets/metrics.json by carafe.training.photo_eval, at a long side of 512 px, "
    "against the photos' own colour regions; the model card has every number."
)

#: The image sizes the shipped models were trained and measured at, said in the sidebar.
WORKING_RANGE = (
    "The models were trained and measured on images of 128–512 px (long side); others are "
    "resized into that range before the model sees them."
)


def sample_label(name: str) -> str:
    """Friendly name of a bundled sample (the file name for unknown files)."""
    return SAMPLE_LABELS.get(name, name)


def cite(stored: str = "") -> None:
    """Footer: the paper, what is computed live, and (``stored``) what is read from files."""
    live = "Everything else on this page is" if stored else "Everything on this page is"
    st.caption(
        f"Paper: {PAPER}. "
        + (f"Stored, not computed here: {stored}. " if stored else "")
        + f"{live} computed live by the loaded model and the real CARAFE operator."
    )


def cite_own(live: str) -> None:
    """Footer of a page that does not use the sidebar's loaded model: the paper and ``live``,
    what the page computes itself."""
    st.caption(f"Paper: {PAPER}. {live}")


def step_title(step) -> str:
    """One line naming an FPN step: levels (and what they mean), map sizes (rows × columns),
    strides and upsampler kind."""
    return (
        f"{step.levels} (the FPN's stride-{step.stride_in} map upsampled to its "
        f"stride-{step.stride_out} level): {step.input.shape[1]}×{step.input.shape[2]} → "
        f"{step.output.shape[1]}×{step.output.shape[2]}, {step.kind}"
    )


def numbers_table(rows: list[dict]) -> str:
    """A markdown table of ``rows`` (a dash for None). Lighter in the browser than a
    st.dataframe, which Streamlit rebuilds on every click."""
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        lines.append("| " + " | ".join("–" if row[h] is None else str(row[h]) for h in head) + " |")
    return "\n".join(lines)
