"""Compare upsamplers: CARAFE vs nearest, bilinear, deconv and pixel shuffle on the same map."""

from __future__ import annotations

import figures.images as image_figs
import figures.maps as map_figs
import pandas as pd
import state
import streamlit as st
import texts
from figures import style

from carafe.inspect.catalog import (
    baseline_note,
    display_name,
    load_metrics,
    metrics_view,
    twin_names,
    upsampler_kinds,
)
from carafe.inspect.summaries import agreement, pca_rgb, rms_difference

st.title("Compare upsamplers")
cur = state.require_current()
step = cur.step
kinds = [k for k in upsampler_kinds() if k in step.outputs]
NAMES = {k: display_name(k) for k in kinds}
st.markdown(
    f"The **same input map** (one FPN level of your image) upsampled ×2 by {len(kinds)} "
    "methods, all drawn with the **same colour scale**. Nearest copies pixels (blocky), "
    "bilinear blends neighbours with fixed weights (blurry across edges); CARAFE chooses its "
    "weights per pixel from the content, so edges can stay sharp where the image has them."
)
st.caption(f"{texts.step_title(step)}")
with st.expander("How the baselines are set up (important for deconv and pixel shuffle)"):
    for k in kinds:
        note = baseline_note(k)
        if k == step.kind:
            note = f"{NAMES[k]}: this checkpoint's own trained upsampler."
        st.markdown(f"- {note}")
    st.markdown(
        "- DySample has no fixed initialisation worth showing (untrained, it is bilinear): it "
        "appears through its trained twin below (segmentation, metrics) and on the Explore "
        "page (where each pixel samples), when assets/dysample.safetensors is shipped."
    )

order = step.channel_order
ch = st.selectbox(
    "Feature channel (sorted by energy)",
    [int(c) for c in order[:32]],
    key="compare_channel",
    format_func=lambda c: f"channel {c}",
)
maps = [step.input[ch]] + [step.outputs[k][ch] for k in kinds]
titles = [f"input {step.input.shape[1]}×{step.input.shape[2]}"] + [NAMES[k] for k in kinds]
st.plotly_chart(
    map_figs.grid_figure(
        maps,
        titles,
        cols=3,
        height_per_row=330,
        colorbar_title="value",
        scales=[step.scale] + [1] * len(kinds),
    ),
    config=style.png_config("compare_channel"),
    key="compare_grid",
)

st.subheader("All channels at once: PCA → RGB")
st.markdown(
    "Each feature map has many channels. Projecting every pixel's feature vector onto the "
    "three main directions of variation of the input map (principal components) gives an RGB "
    "picture of the **whole** map; the same projection and colour range are used for every "
    "upsampler, so equal colours mean equal features."
)
rgbs = pca_rgb([step.input] + [step.outputs[k] for k in kinds], fit_index=0)
st.plotly_chart(
    image_figs.images_row(rgbs, titles, height=260),
    config=style.png_config("compare_pca"),
    key="compare_pca",
)

st.subheader("Differences: CARAFE − baseline")
if "carafe" in step.outputs:
    others = [k for k in kinds if k != "carafe"]
    diffs = [step.outputs["carafe"][ch] - step.outputs[k][ch] for k in others]
    st.plotly_chart(
        map_figs.grid_figure(
            diffs,
            [f"CARAFE − {NAMES[k]}" for k in others],
            cols=4,
            height_per_row=280,
            colorbar_title="difference",
        ),
        config=style.png_config("compare_diff"),
        key="compare_diff",
    )
    rms = {NAMES[k]: rms_difference(step.outputs["carafe"], step.outputs[k]) for k in others}
    st.caption(
        "RMS difference over all channels: "
        + ", ".join(f"{n} {v:.3g}" for n, v in rms.items())
        + ". Red: CARAFE is higher; blue: lower. Differences concentrate at edges."
    )
else:
    st.info("This checkpoint has no CARAFE step here; pick the 'carafe' checkpoint.")

st.subheader("Segmentation: CARAFE model vs its bilinear twin")
st.markdown(
    "Models with the same backbone, FPN and head, trained the same way; the only difference "
    "is the upsampler of the FPN's top-down path."
)
a = cur.analysis
twins = twin_names(exclude=cur.model_name)
if not cur.training_like:
    st.caption(texts.TRAINED_FOR)
if a.segmentation is None:
    st.info("This checkpoint has no segmentation head (a converted detection model).")
elif not twins:
    st.info("The twin checkpoints (e.g. assets/bilinear.safetensors) are not available.")
else:
    segs = [state.segmentation_for(t, cur.image_key, cur.image) for t in twins]
    st.plotly_chart(
        image_figs.images_row(
            [cur.image, image_figs.overlay(cur.image, a.segmentation, 0.6)]
            + [image_figs.overlay(cur.image, sg, 0.6) for sg in segs],
            ["image", f"{cur.model_name} (CARAFE)"] + [f"{display_name(t)} twin" for t in twins],
            height=360 if len(twins) == 1 else 300,
        ),
        config=style.png_config("compare_segmentation"),
        key="compare_seg",
    )
    st.markdown(
        "Agreement with the CARAFE model: "
        + ", ".join(
            f"{display_name(t)} twin **{agreement(sg, a.segmentation):.1%}**"
            for t, sg in zip(twins, segs, strict=True)
        )
        + " of the pixels. Classes: "
        + image_figs.legend_html(a.class_names),
        unsafe_allow_html=True,
    )

st.subheader("Held-out metrics (stored: assets/metrics.json)")
metrics = load_metrics()
view = None
if metrics is None:
    st.info("Held-out metrics are not available (assets/metrics.json is missing).")
else:
    try:
        view = metrics_view(metrics)
    except (KeyError, TypeError) as err:
        st.warning(
            f"assets/metrics.json does not have the layout `python -m carafe.training.evaluate` writes "
            f"(missing {err}); regenerate it to see the table."
        )
if view is not None:
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
    st.dataframe(
        pd.DataFrame(view.means.rows, columns=view.means.columns),
        hide_index=True,
        width="stretch",
        column_config=fmt,
        key="metrics_means",
    )
    st.caption(
        view.caption + " Mean over seeds. Parameters and FLOPs: 'one upsampler' is one ×2 "
        "module (as on the Performance page); 'all FPN upsamplers' adds the model's steps."
    )
    if view.alignment is not None:
        st.markdown(
            "**Do the kernels follow the objects?** Own-object share of the kernel weight at held-out object boundaries:"
        )
        st.dataframe(
            pd.DataFrame(view.alignment.rows, columns=view.alignment.columns),
            hide_index=True,
            width="stretch",
            column_config={
                **{
                    c: st.column_config.NumberColumn(format="%.3f")
                    for c in view.alignment.columns[2:4]
                },
                "boundary pixels": st.column_config.NumberColumn(format="localized"),
            },
            key="metrics_alignment",
        )
        for note in view.notes:
            if note:
                st.markdown(note)
    with st.expander(f"Every run ({len(view.runs.rows)}) and per-class IoU"):
        st.dataframe(
            pd.DataFrame(view.runs.rows, columns=view.runs.columns),
            hide_index=True,
            width="stretch",
            column_config=fmt,
            key="metrics_runs",
        )
        st.dataframe(
            pd.DataFrame(view.per_class.rows, columns=view.per_class.columns),
            hide_index=True,
            width="stretch",
            key="metrics_per_class",
        )
    st.caption(
        "Written by `python -m carafe.training.evaluate`; see assets/MODEL_CARD.md for the data and "
        "the protocol."
    )
st.markdown(
    "For reference, the paper (Table 4, Faster R-CNN R50 on COCO, box AP, stored): nearest "
    "36.5, bilinear 36.7, deconv 36.4, pixel shuffle 36.5, CARAFE **37.8**."
)
texts.cite(stored="the held-out metrics (assets/metrics.json) and the paper's AP figures")
