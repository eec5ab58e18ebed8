"""Compare upsamplers: CARAFE vs nearest, bilinear, deconv and pixel shuffle on the same map."""

from __future__ import annotations

import common
import figures as fg
import numpy as np
import pandas as pd
import streamlit as st

from carafe.inspect import BASELINE_NOTES, agreement, pca_rgb, rms_difference

KINDS = ("carafe", "bilinear", "nearest", "deconv", "pixel_shuffle")
NAMES = {
    "carafe": "CARAFE",
    "bilinear": "bilinear",
    "nearest": "nearest",
    "deconv": "deconv",
    "pixel_shuffle": "pixel shuffle",
}

st.title("Compare upsamplers")
st.markdown(
    "The **same input map** (one FPN level of your image) upsampled ×2 by five methods, all "
    "drawn with the **same colour scale**. Nearest copies pixels (blocky), bilinear blends "
    "neighbours with fixed weights (blurry across edges); CARAFE chooses its weights per pixel "
    "from the content, so edges can stay sharp where the image has them."
)

cur = common.require_current()
step = cur.step
kinds = [k for k in KINDS if k in step.outputs]
st.caption(f"{common.step_title(step)}")
with st.expander("How the baselines are set up (important for deconv and pixel shuffle)"):
    for k in kinds:
        note = BASELINE_NOTES[k]
        if k == step.kind:
            note = f"{NAMES[k]}: this checkpoint's own trained upsampler."
        st.markdown(f"- {note}")

order = step.channel_order
ch = st.selectbox(
    "Feature channel (sorted by energy)",
    [int(c) for c in order[:32]],
    key="compare_channel",
    format_func=lambda c: f"channel {c}",
)
maps = [step.input[ch]] + [step.outputs[k][ch] for k in kinds]
titles = [f"input {step.input.shape[1]}×{step.input.shape[2]}"] + [NAMES[k] for k in kinds]
zmax = float(max(np.abs(m).max() for m in maps)) or 1.0
st.plotly_chart(
    fg.grid_figure(
        maps,
        titles,
        cols=3,
        zmax=zmax,
        height_per_row=330,
        colorbar_title="value",
        scales=[step.scale] + [1] * len(kinds),
    ),
    config=fg.png_config("compare_channel"),
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
    fg.images_row(rgbs, titles, height=260), config=fg.png_config("compare_pca"), key="compare_pca"
)

st.subheader("Differences: CARAFE − baseline")
if "carafe" in step.outputs:
    others = [k for k in kinds if k != "carafe"]
    diffs = [step.outputs["carafe"][ch] - step.outputs[k][ch] for k in others]
    st.plotly_chart(
        fg.grid_figure(
            diffs,
            [f"CARAFE − {NAMES[k]}" for k in others],
            cols=4,
            height_per_row=280,
            colorbar_title="difference",
        ),
        config=fg.png_config("compare_diff"),
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
try:
    from carafe.models import list_pretrained

    available = set(list_pretrained())
except Exception:  # noqa: BLE001
    available = set()
twins = [
    n
    for n in ("bilinear", "nearest", "deconv", "pixel_shuffle")
    if n in available and n != cur.model_name
]
if a.segmentation is None:
    st.info("This checkpoint has no segmentation head (a converted detection model).")
elif not twins:
    st.info("The bilinear twin checkpoint (assets/bilinear.safetensors) is not available yet.")
else:
    segs = [common.segmentation_for(t, cur.image_key, cur.image) for t in twins]
    st.plotly_chart(
        fg.images_row(
            [cur.image, fg.overlay(cur.image, a.segmentation, 0.6)]
            + [fg.overlay(cur.image, sg, 0.6) for sg in segs],
            ["image", f"{cur.model_name} (CARAFE)"] + [f"{NAMES[t]} twin" for t in twins],
            height=360 if len(twins) == 1 else 300,
        ),
        config=fg.png_config("compare_segmentation"),
        key="compare_seg",
    )
    st.markdown(
        "Agreement with the CARAFE model: "
        + ", ".join(
            f"{NAMES[t]} twin **{agreement(sg, a.segmentation):.1%}**"
            for t, sg in zip(twins, segs, strict=True)
        )
        + " of the pixels. Classes: "
        + fg.legend_html(a.class_names),
        unsafe_allow_html=True,
    )

st.subheader("Measured held-out metrics (model card)")
metrics = common.load_metrics()
if metrics:
    means, runs, split_caption, alignment = common.metrics_tables(metrics)
    pct = {c: st.column_config.NumberColumn(format="%.2f") for c in ("mIoU (%)", "boundary F (%)")}
    pct.update(
        {
            c: st.column_config.NumberColumn(format="localized")
            for c in ("upsampler params", "FLOPs / input px")
        }
    )
    if means:
        st.dataframe(pd.DataFrame(means), hide_index=True, width="stretch", column_config=pct)
    if alignment:
        st.markdown(alignment)
    if runs:
        with st.expander(f"Every run ({len(runs)})"):
            st.dataframe(pd.DataFrame(runs), hide_index=True, width="stretch", column_config=pct)
    st.caption(
        (split_caption + " " if split_caption else "")
        + "From assets/metrics.json (`python -m carafe.evaluate --json`); see "
        "assets/MODEL_CARD.md for the data and the protocol."
    )
else:
    st.info("Held-out metrics are not available yet (assets/metrics.json is missing).")
st.markdown(
    "For reference, the paper (Table 4, Faster R-CNN R50 on COCO, box AP): nearest 36.5, "
    "bilinear 36.7, deconv 36.4, pixel shuffle 36.5, CARAFE **37.8**."
)
common.cite()
