"""Compare upsamplers: CARAFE vs nearest, bilinear, deconv and pixel shuffle on the same map,
beside the DySample twin's own output (a separately trained model), where the differences lie,
the twins' segmentations and the stored held-out metrics.

Look first, read on demand: the panels open the page under one line worded from where the
differences lie; the rest waits in expanders and later tabs."""

from __future__ import annotations

import figures.images as image_figs
import figures.maps as map_figs
import pandas as pd
import state
import streamlit as st
import texts
import widgets
from figures import style

from carafe.inspect.catalog import (
    baseline_note,
    display_name,
    is_photo_model,
    kind_family,
    load_metrics,
    metrics_view,
    twin_names,
    upsampler_kinds,
)
from carafe.inspect.compare.differences import (
    REGIONS,
    border_padding_weight,
    difference_regions,
    split_energy,
)
from carafe.inspect.compare.words import (
    headline_sentence,
    learned_pair_sentence,
    panel_title,
    split_sentence,
    twin_input_sentence,
    twins_heading,
    undefined_share_note,
)
from carafe.inspect.family import difference_sentence, family_rows, family_table, published_table
from carafe.inspect.summaries import agreement, pca_rgb, rms_difference

FAMILY_SIZE = 256  # the size of the family table: the samples' size

# The trained twin whose outputs join the panels (a separately trained model): chosen on the
# page among the shipped learned twins (DySample, FADE, SAPA, ...); set by choose_peer().
PEER = ""
PEER_TITLE = ""


def choose_peer(cur) -> list[str]:
    """Pick the learned twin shown beside the panels (sets PEER / PEER_TITLE); the choices."""
    global PEER, PEER_TITLE
    learned = [k for k in twin_names(exclude=cur.checkpoint) if kind_family(k) != "fixed"]
    if not learned:
        PEER, PEER_TITLE = "", ""
        return learned
    PEER = st.selectbox(
        "Trained twin beside the panels",
        learned,
        format_func=display_name,
        key="compare_peer",
        help="Each twin is the same network trained the same way with another upsampler; "
        "its output is its own model's, at the same FPN step.",
    )
    PEER_TITLE = f"{display_name(PEER)} twin"
    return learned


def peer_step(cur, twins: list[str]):
    """The chosen twin's step at this FPN level (its own analysis, cached), or None."""
    step = cur.step
    if not PEER or PEER not in twins or step.kind not in step.outputs:
        return None
    try:
        twin = state.twin_analysis_for(PEER, cur.image_key, cur.image)
    except Exception as err:  # noqa: BLE001 - show, never crash
        st.warning(f"The {PEER_TITLE} could not analyse this image: {type(err).__name__}: {err}")
        return None
    same = [
        t for t in twin.steps if t.levels == step.levels and t.output_shape == step.output_shape
    ]
    return same[0] if same else None


def intro(step, kinds: list[str], names: dict[str, str], peer) -> None:
    """What the panels show, and how each baseline is set up (on demand)."""
    with st.expander("What the panels show, and how the baselines are set up"):
        intro_text(step, kinds, names, peer)


def intro_text(step, kinds: list[str], names: dict[str, str], peer) -> None:
    st.markdown(
        f"The **same input map** (one FPN level of your image) upsampled ×2 by {len(kinds)} "
        "methods, all drawn with the **same colour scale**. Nearest copies pixels (blocky), "
        "bilinear blends neighbours with fixed weights; CARAFE chooses its weights per pixel "
        "from the content. Panels marked **untrained** show a learned upsampler at its fixed "
        "initialisation (below), not a trained one."
        + (
            f" The last panel, **{PEER_TITLE}**, is the output of a separately trained model "
            "with a DySample upsampler at the same FPN step: its own input, on the same colour "
            "scale."
            if peer is not None
            else ""
        )
    )
    for kind in kinds:
        note = baseline_note(kind)
        if kind == step.kind:
            note = f"{names[kind]}: this checkpoint's own trained upsampler."
        st.markdown(f"- {note}")
    if peer is not None:
        st.markdown(
            f"- {PEER_TITLE}: the trained {display_name(PEER)} model's own output at this step. It is "
            "another model (own backbone and FPN), so its input is not the map the other "
            "panels upsample; its sampling points are on the Explore page."
        )
    else:
        st.markdown(
            "- DySample has no fixed initialisation worth showing (untrained, it is "
            "bilinear): it appears through its trained twin (segmentation, metrics, "
            "outputs) when assets/dysample.safetensors is shipped."
        )


def channel_panels(step, kinds: list[str], names: dict[str, str], peer, ch: int) -> list:
    """Channel ``ch`` of the input and of every upsampler's output on one colour scale;
    returns the panels' titles."""
    maps = [step.input[ch]] + [step.outputs[k][ch] for k in kinds]
    titles = [f"input {step.input.shape[1]}×{step.input.shape[2]}"] + [names[k] for k in kinds]
    scales = [step.scale] + [1] * len(kinds)
    if peer is not None:
        maps.append(peer.output[ch])
        titles.append(f"{PEER_TITLE} (own input)")
        scales.append(1)
    st.plotly_chart(
        map_figs.grid_figure(
            maps,
            titles,
            cols=4 if len(maps) > 6 else 3,
            height_per_row=330,
            colorbar_title="value",
            scales=scales,
        ),
        config=style.png_config("compare_channel"),
        key="compare_grid",
    )
    if peer is not None:
        with st.expander(f"The {PEER_TITLE}'s input"):
            st.caption(twin_input_sentence(display_name(PEER), step.input, peer.input))
    return titles


def pca_panels(step, kinds: list[str], titles: list[str], peer) -> None:
    """Every channel at once: the maps projected onto the input's top three components."""
    st.markdown(
        "Each feature map has many channels. Projecting every pixel's feature vector onto the "
        "three main directions of variation of the input map (principal components) gives an "
        "RGB picture of the **whole** map; the same projection and colour range are used for "
        "every upsampler, so equal colours mean equal features."
        + (
            f" The {PEER_TITLE}'s output is projected on the same basis, but its channels are "
            "its own model's: there equal colours mean equal values, not the same learned "
            "features."
            if peer is not None
            else ""
        )
    )
    rgbs = pca_rgb(
        [step.input]
        + [step.outputs[k] for k in kinds]
        + ([peer.output] if peer is not None else []),
        fit_index=0,
    )
    pca_titles = titles[:-1] + [PEER_TITLE] if peer is not None else titles  # 7 short titles fit
    st.plotly_chart(
        image_figs.images_row(rgbs, pca_titles, height=260),
        config=style.png_config("compare_pca"),
        key="compare_pca",
    )


def differences(cur, kinds: list[str], names: dict[str, str], ch: int, peer) -> None:
    """CARAFE − each baseline, where those differences lie, and CARAFE − the DySample twin."""
    step = cur.step
    if "carafe" not in step.outputs:
        st.info(widgets.no_kernels_note(step))
        return
    others = [k for k in kinds if k != "carafe"]
    carafe_out = step.outputs["carafe"]
    diffs = [carafe_out[ch] - step.outputs[k][ch] for k in others]
    st.plotly_chart(
        map_figs.grid_figure(
            diffs,
            [f"CARAFE − {names[k]}" for k in others],
            cols=4,
            height_per_row=280,
            colorbar_title="difference",
        ),
        config=style.png_config("compare_diff"),
        key="compare_diff",
    )
    regions = difference_regions(step.geometry, step.output_shape, _parts(cur))
    pad_weight = border_padding_weight(step, regions)
    rms = {names[k]: rms_difference(carafe_out, step.outputs[k]) for k in others}
    st.caption(
        "RMS difference over all channels: "
        + ", ".join(f"{n} {v:.3g}" for n, v in rms.items())
        + ". Red: CARAFE is higher; blue: lower."
    )
    st.caption(
        split_sentence(
            split_energy(diffs, regions, step.geometry.k),
            f"channel {ch} (the {len(others)} panels on the same input)",
            pad_weight,
        )
    )
    if peer is not None:
        # its own colour scale: another model's channels differ far more than the upsamplers
        # do, and on a shared scale they would wash the panels above out
        peer_diff = carafe_out[ch] - peer.output[ch]
        left, right = st.columns([1, 2])
        left.plotly_chart(
            map_figs.grid_figure(
                [peer_diff],
                [f"CARAFE − {PEER_TITLE}"],
                cols=1,
                height_per_row=280,
                colorbar_title="difference",
            ),
            config=style.png_config("compare_diff_twin"),
            key="compare_diff_twin",
        )
        right.caption(
            f"CARAFE − {PEER_TITLE}, on its own colour scale (±{style.symmetric_range(peer_diff):.3g}"
            f"; the panels above: ±{style.symmetric_range(*diffs):.3g}). RMS difference over "
            f"all channels: {rms_difference(carafe_out, peer.output):.3g}."
        )
        right.caption(
            split_sentence(
                split_energy([peer_diff], regions, step.geometry.k),
                f"channel {ch}, CARAFE − {PEER_TITLE}",
                pad_weight,
            )
        )
    with st.expander("Which pixels are the border frame and the object edges"):
        st.caption(
            "**Border frame**: every output pixel whose window reaches past the image. "
            "Explore's **border ring** is narrower: the outermost output pixels only."
        )
        st.plotly_chart(
            map_figs.region_figure(regions, REGIONS, "Regions of the output map"),
            config=style.png_config("compare_regions"),
            key="compare_regions",
        )


def twins_segmentations(cur, twins: list[str]) -> None:
    """The model's segmentation beside its twins', and how often they agree."""
    segmentation = cur.analysis.segmentation
    model_title = f"{display_name(cur.step.kind)} model"
    shown = twins if segmentation is not None else []
    st.subheader(twins_heading(display_name(cur.step.kind), [display_name(t) for t in shown]))
    st.markdown(
        "Models with the same backbone, FPN and head, trained the same way; the only difference "
        "is the upsampler of the FPN's top-down path."
    )
    if not cur.training_like and segmentation is not None:
        st.caption(texts.TRAINED_FOR)
    if segmentation is None:
        st.info(
            "This model has no segmentation: "
            + (
                "a photo model learned to rebuild maps, not classes; switch the sidebar's "
                "'Trained on' to shapes scenes to compare segmentations."
                if is_photo_model(cur.model_name)
                else "a converted detection model has no head."
            )
        )
        return
    if not twins:
        st.info("The twin checkpoints (e.g. assets/bilinear.safetensors) are not available.")
        return
    segs = [state.segmentation_for(t, cur.image_key, cur.image) for t in twins]
    st.plotly_chart(
        image_figs.images_row(
            [cur.image, image_figs.overlay(cur.image, segmentation, 0.6)]
            + [image_figs.overlay(cur.image, sg, 0.6) for sg in segs],
            ["image", model_title] + [f"{display_name(t)} twin" for t in twins],
            height=360 if len(twins) == 1 else 300,
        ),
        config=style.png_config("compare_segmentation"),
        key="compare_seg",
    )
    st.markdown(
        f"Agreement with the {model_title}: "
        + ", ".join(
            f"{display_name(t)} twin **{agreement(sg, segmentation):.1%}**"
            for t, sg in zip(twins, segs, strict=True)
        )
        + " of the pixels. Classes: "
        + image_figs.legend_html(cur.analysis.class_names),
        unsafe_allow_html=True,
    )


def split_table(table, key: str, fmt: dict) -> None:
    """Show a metrics table as two: quality (%) and cost, so neither needs a scroll bar."""
    quality = [c for c in table.columns if c in ("upsampler", "seed", "seeds") or "(%)" in c]
    cost = ["upsampler"] + [c for c in table.columns if c not in quality]
    for cols, part in ((quality, "quality"), (cost, "cost")):
        st.dataframe(
            pd.DataFrame(table.rows, columns=cols),
            hide_index=True,
            width="stretch",
            column_config=fmt,
            key=f"{key}_{part}",
        )


def stored_metrics_view():
    """The stored held-out metrics as tables, or None (the reason shown)."""
    st.subheader("Held-out metrics (stored: assets/metrics.json)")
    metrics = load_metrics()
    if metrics is None:
        st.info("Held-out metrics are not available (assets/metrics.json is missing).")
        return None
    try:
        return metrics_view(metrics)
    except (KeyError, TypeError) as err:
        st.warning(
            f"assets/metrics.json does not have the layout `carafe-evaluate` writes "
            f"(missing {err}); regenerate it to see the table."
        )
        return None


def learned_pairs(metrics) -> list[str]:
    """CARAFE beside each other trained upsampler with a kernel alignment, from the numbers."""
    kinds = [
        r["upsampler"] for r in metrics.get("means", []) if r.get("kernel_alignment")
    ]  # the order of metrics.json
    first = "carafe" if "carafe" in kinds else None
    if first is None:
        return []
    pairs = [learned_pair_sentence(metrics, first, k) for k in kinds if k != first]
    return [p for p in pairs if p]


def held_out_metrics(view, metrics) -> None:
    """The stored metrics: means over seeds, kernel alignment, every run and per-class IoU."""
    columns = set(view.means.columns) | set(view.runs.columns)
    fmt = {
        c: st.column_config.NumberColumn(format="%.2f")
        for c in columns
        if c.endswith(("(%)", "(ms)")) or c.startswith("MFLOPs")
    }
    fmt.update(
        {
            c: st.column_config.NumberColumn(format="localized")
            for c in columns
            if c.startswith(("params", "FLOPs", "seeds"))
        }
    )
    split_table(view.means, "metrics_means", fmt)
    st.caption(
        view.caption + " Mean over seeds. Parameters and FLOPs: 'one upsampler' is one ×2 "
        "module (as on the Performance page); 'all FPN upsamplers' adds the model's steps."
    )
    if view.alignment is not None:
        st.markdown(
            "**Do the kernels follow the objects?** Own-object share of the kernel weight at held-out object boundaries:"
        )
        share, off = view.alignment.columns[2:4]
        # 0/0 (a kernel with no weight off the centre tap) is said in words, not shown as None
        cells = [
            {**r, off: "not defined (0/0)" if r[off] is None else f"{r[off]:.3f}"}
            for r in view.alignment.rows
        ]
        st.dataframe(
            pd.DataFrame(cells, columns=view.alignment.columns),
            hide_index=True,
            width="stretch",
            column_config={
                share: st.column_config.NumberColumn(format="%.3f"),
                off: st.column_config.TextColumn(alignment="right"),
                "boundary pixels": st.column_config.NumberColumn(format="localized"),
            },
            key="metrics_alignment",
        )
        note = undefined_share_note(view.alignment.rows, off, "kernel")
        if note:
            st.caption(note)
        for note in view.notes:
            if note:
                st.markdown(note)
        for pair in learned_pairs(metrics):
            st.markdown(pair)
    with st.expander(f"Every run ({len(view.runs.rows)}) and per-class IoU"):
        split_table(view.runs, "metrics_runs", fmt)
        widgets.table(view.per_class, "metrics_per_class")
    st.caption(
        "Written by `carafe-evaluate`; see assets/MODEL_CARD.md for the data and the protocol."
    )


def _parts(cur):
    """The image's objects (a scene's true masks) or colour regions (a photo's): where the
    object edges are, never read from the model's predicted classes."""
    return state.part_labels(cur.image_key, cur.image, state.scene_name(cur.name))[0]


def notice(cur, kinds: list[str], names: dict[str, str], ch: int) -> None:
    """What to notice: where CARAFE differs from the panels on the same input (channel ch)."""
    step = cur.step
    if "carafe" not in step.outputs:
        return
    others = [k for k in kinds if k != "carafe"]
    diffs = [step.outputs["carafe"][ch] - step.outputs[k][ch] for k in others]
    regions = difference_regions(step.geometry, step.output_shape, _parts(cur))
    split = split_energy(diffs, regions, step.geometry.k)
    what = f"the {len(others)} other panels (channel {ch})"
    st.markdown(headline_sentence(split, what))


def the_family(metrics) -> None:
    """The reassembly family: what was measured here beside what was published (stored)."""
    measured = family_table(metrics, FAMILY_SIZE)
    if measured.rows:
        st.markdown(f"**Measured here** (held-out scenes, {FAMILY_SIZE} px)")
        widgets.table(measured, "family_measured")
        st.caption(measured.caption)
        for row in family_rows(metrics):
            if row.size == FAMILY_SIZE and row.vs_carafe is not None:
                st.markdown("- " + difference_sentence(row))
    else:
        st.info("assets/metrics.json has no size table: run carafe-evaluate-sizes.")
    published = published_table()
    st.markdown("**Published** (stored, not measured here)")
    widgets.table(published, "family_published")
    st.caption(published.caption)


def main() -> None:
    st.title("Compare upsamplers")
    cur = state.require_current()
    step = cur.step
    kinds = [k for k in upsampler_kinds() if k in step.outputs]
    channels = step.input.shape[0]
    names = {k: panel_title(k, step.kind, channels, step.scale) for k in kinds}
    twins = twin_names(exclude=cur.checkpoint)
    choose_peer(cur)
    peer = peer_step(cur, twins)
    ch = widgets.channel_picker(step, "compare_channel")
    notice(cur, kinds, names, ch)
    st.caption(texts.step_title(step))
    titles = channel_panels(step, kinds, names, peer, ch)
    intro(step, kinds, names, peer)
    diff_tab, pca_tab, seg_tab, metrics_tab, family_tab = st.tabs(
        ["Differences: CARAFE − baseline", "All channels (PCA → RGB)", "Segmentations",
         "Held-out metrics", "The family"]
    )  # fmt: skip
    with diff_tab:
        differences(cur, kinds, names, ch, peer)
    with pca_tab:
        pca_panels(step, kinds, titles, peer)
    with seg_tab:
        twins_segmentations(cur, twins)
    with metrics_tab:
        view = stored_metrics_view()
        if view is not None:
            held_out_metrics(view, load_metrics())
        st.markdown(
            "For reference, the paper (Table 4, Faster R-CNN R50 on COCO, box AP, stored): "
            "nearest 36.5, bilinear 36.7, deconv 36.4, pixel shuffle 36.5, CARAFE **37.8**."
        )
    with family_tab:
        the_family(load_metrics())
    texts.cite(stored="the held-out metrics (assets/metrics.json) and the paper's AP figures")


main()
