"""Explore's "Upsampled maps (PCA)" tab: the selected step's coarse map, bilinear, the model's
own output and every other learned upsampler's reassembly of the same coarse map, all in one
PCA basis (carafe.inspect.feature_pca), with one measured line on where colours change."""

from __future__ import annotations

import state
import streamlit as st
from figures import pca as pca_figs
from figures import style

from carafe.inspect.feature_pca import (
    basis_sentence,
    change_sentence,
    family_kinds,
    missing_sentence,
    pca_maps,
)

PCA_TAB = "Upsampled maps (PCA)"


@st.cache_data(show_spinner="Projecting the maps…", max_entries=12)
def pca_maps_for(
    model_name: str,
    image_key: str,
    step_index: int,
    sample: str | None,
    _step,
    _members,
    _regions,
):
    """Cached :func:`carafe.inspect.feature_pca.pca_maps` of one step (key: model, image, step
    and the sample whose true objects are the regions). ``_regions``: (labels, true objects),
    the image's parts (state.part_labels)."""
    labels, true_labels = _regions
    return pca_maps(_step, _members, labels, true_labels)


def _members(cur) -> list:
    """(kind, that twin's StepAnalysis of the selected step, or None) per family member."""
    members = []
    for kind in family_kinds(cur.step.kind):
        twin = state.twin_analysis_for(kind, cur.image_key, cur.image)
        steps = twin.steps
        members.append((kind, steps[cur.step_index] if cur.step_index < len(steps) else None))
    return members


def show_pca_maps(cur) -> None:
    """The tab: the figure, the measured sentence under it, and what the colours mean. The
    regions are the image's parts (a scene's true objects, a photo's colour regions), the
    same ones Explore's image-wide measure uses."""
    step = cur.step
    sample = state.scene_name(cur.name)
    regions = state.part_labels(cur.image_key, cur.image, sample)
    maps = pca_maps_for(
        cur.model_name,
        cur.image_key,
        cur.step_index,
        sample,
        step,
        _members(cur),
        regions,
    )
    images = [maps.coarse] + [p.rgb for p in maps.panels]
    labels = [maps.coarse_label] + [p.label for p in maps.panels]
    st.plotly_chart(
        pca_figs.pca_row(
            images, labels, f"{step.levels}: every map in the coarse map's PCA colours"
        ),
        config=style.png_config(f"pca_maps_step{step.index}"),
        key="explore_pca_maps",
    )
    st.markdown(change_sentence(maps))
    missing = missing_sentence(maps)
    if missing:
        st.caption(missing)
    with st.expander("What the PCA colours mean"):
        st.caption(
            "Each pixel of a feature map is a vector of many channels. Red, green and blue are "
            "its coordinates along the three directions in which the coarse map varies most "
            "(principal components), on one scale for every panel, so equal colours mean equal "
            "features: a sharp upsampler changes colour in one step where two regions meet and "
            "stays even inside them. The other upsamplers live in their own networks, so their "
            "panels apply their kernels or sampling points to this model's coarse map. "
            + basis_sentence(maps)
        )
