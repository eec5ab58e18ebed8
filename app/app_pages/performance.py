"""Performance: parameters and FLOPs of each upsampler, and a live benchmark of the op."""

from __future__ import annotations

import common
import figures as fg
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

PAPER_CARAFE = {"params": 74_148, "flops_per_input_pixel": 199_496}
NAMES = {
    "carafe": "CARAFE",
    "nearest": "nearest",
    "bilinear": "bilinear",
    "deconv": "deconv",
    "pixel_shuffle": "pixel shuffle",
}

st.title("Performance")
st.markdown(
    "CARAFE is **lightweight**: its kernel prediction works on C_m = 64 compressed channels and "
    "its reassembly touches only a k×k window per output pixel. The table counts parameters "
    "and floating-point operations per *input* pixel for a ×2 upsampler, the way the paper "
    "does (C = 256, k_up = 5, k_enc = 3)."
)


@st.cache_data(show_spinner=False)
def _costs(channels: int) -> list[dict]:
    from carafe.nn import UPSAMPLER_KINDS, upsampler_cost

    rows = []
    for kind in UPSAMPLER_KINDS:
        c = upsampler_cost(kind, channels, 2)
        rows.append(
            {
                "upsampler": NAMES[kind],
                "channels C": channels,
                "parameters": c["params"],
                "FLOPs per input pixel": c["flops_per_input_pixel"],
            }
        )
    return rows


model_c = None
try:
    model_c = int(
        common.get_model(
            st.session_state.get("checkpoint") or common.checkpoint_names()[0]
        ).neck.out_channels
    )
except Exception:  # noqa: BLE001 - the table for C=256 is still useful
    pass
rows = _costs(256) + (_costs(model_c) if model_c and model_c != 256 else [])
df = pd.DataFrame(rows)
paper = {"CARAFE": PAPER_CARAFE}
df["paper (C=256)"] = [
    (
        f"{paper['CARAFE']['params']:,} params / {paper['CARAFE']['flops_per_input_pixel']:,} FLOPs"
        if r["upsampler"] == "CARAFE" and r["channels C"] == 256
        else ""
    )
    for r in rows
]
st.dataframe(
    df,
    hide_index=True,
    width="stretch",
    column_config={
        "parameters": st.column_config.NumberColumn(format="localized"),
        "FLOPs per input pixel": st.column_config.NumberColumn(format="localized"),
    },
)
c256 = next(r for r in rows if r["upsampler"] == "CARAFE" and r["channels C"] == 256)
ok = (c256["parameters"], c256["FLOPs per input pixel"]) == (
    PAPER_CARAFE["params"],
    PAPER_CARAFE["flops_per_input_pixel"],
)
(st.success if ok else st.warning)(
    f"CARAFE at C=256: ours {c256['parameters']:,} parameters / "
    f"{c256['FLOPs per input pixel']:,} FLOPs per input pixel; paper 74,148 / 199,496"
    + (" — identical." if ok else " — they differ (see carafe.nn.upsampler_cost).")
)
if model_c and model_c != 256:
    st.caption(f"The shipped model's FPN has C = {model_c} channels (second block of rows).")
st.caption(
    "Deconv here is mmdetection's 3×3 stride-2 transposed conv and pixel shuffle a 3×3 "
    "conv to C·4 channels; both cost far more than CARAFE at C = 256."
)

st.subheader("Live benchmark on this machine")
try:
    from carafe.ops import backend

    st.markdown(
        f"Operator backend: **{backend()}**. The button times the CARAFE op, the "
        "plain-PyTorch reference and bilinear interpolation on a few shapes (quick "
        "mode, a few seconds on a 2-core CPU)."
    )
except Exception as err:  # noqa: BLE001
    st.error(f"The CARAFE operator could not be imported: {err}")
try:
    from carafe.bench import benchmark_rows
except Exception:  # noqa: BLE001 - the benchmark module may not exist yet
    benchmark_rows = None
    st.info("The benchmark module (carafe.bench) is not available in this installation yet.")

if benchmark_rows is not None and st.button("Run benchmark", type="primary", key="bench_run"):
    bar = st.progress(0.0, text="Starting…")

    def _progress(done: int, total: int, label: str) -> None:
        bar.progress(min(1.0, done / max(total, 1)), text=f"{done}/{total}: {label}")

    try:
        st.session_state["bench_rows"] = benchmark_rows(quick=True, progress=_progress)
        bar.progress(1.0, text="Done")
    except Exception as err:  # noqa: BLE001 - show, never crash
        st.error(f"The benchmark failed: {type(err).__name__}: {err}")

bench = st.session_state.get("bench_rows")
if bench:
    cols = ["shape", "direction", "op_ms", "reference_ms", "bilinear_ms", "speedup_vs_reference"]
    bdf = pd.DataFrame(bench)
    bdf = bdf[[c for c in cols if c in bdf.columns]]
    st.dataframe(
        bdf,
        hide_index=True,
        width="stretch",
        column_config={
            c: st.column_config.NumberColumn(label, format="%.2f")
            for c, label in zip(
                cols[2:],
                ["CARAFE op (ms)", "reference (ms)", "bilinear (ms)", "op speed-up vs reference ×"],
                strict=True,
            )
        },
    )
    fig = go.Figure()
    labels = [f"{r['shape']} {r['direction']}" for r in bench]
    for key, name in (
        ("op_ms", "CARAFE op"),
        ("reference_ms", "reference (PyTorch)"),
        ("bilinear_ms", "bilinear"),
    ):
        fig.add_trace(go.Bar(name=name, x=labels, y=[r.get(key) for r in bench]))
    fig.update_layout(
        barmode="group",
        yaxis_title="milliseconds (lower is better)",
        height=380,
        margin=dict(l=10, r=10, t=30, b=10),
        legend=dict(orientation="h", y=1.1),
    )
    st.plotly_chart(fig, config=fg.png_config("benchmark"), key="bench_fig")
common.cite()
