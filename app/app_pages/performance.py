"""Performance: parameters, FLOPs and stored latency of each upsampler, and a live benchmark of
the op beside the whole CARAFE upsampler. It opens with where CARAFE stands, worded from the
numbers; the rest waits in expanders and later tabs."""

from __future__ import annotations

import plotly.graph_objects as go
import state
import streamlit as st
import texts
import widgets
from figures import style

from carafe.inspect.catalog import (
    PAPER_CARAFE,
    benchmark_table,
    cost_table,
    display_name,
    load_metrics,
    model_cost,
    operator_backend,
    paper_check,
)
from carafe.inspect.performance import (
    cost_sentence,
    costs,
    latency_sentence,
    stored_latency,
    whole_upsampler_timing,
)

NUMBERS = {
    "parameters (one upsampler)": st.column_config.NumberColumn(format="localized"),
    "FLOPs per input pixel": st.column_config.NumberColumn(format="localized"),
}


def paper_costs() -> None:
    """One ×2 upsampler of each kind at the paper's C, counted as the paper does, and the check
    against the paper's stored count for CARAFE."""
    ours, paper = paper_check()
    cfg = PAPER_CARAFE["config"]
    metrics = load_metrics()
    notice = [
        f"At the paper's C = {PAPER_CARAFE['channels']}: "
        + cost_sentence(*costs(PAPER_CARAFE["channels"], cfg)),
        latency_sentence(stored_latency(metrics), metrics),
    ]
    st.markdown("\n".join(f"- {line}" for line in notice if line))
    table = cost_table(PAPER_CARAFE["channels"], cfg)
    widgets.table(table, "cost_paper", NUMBERS)
    with st.expander("How these are counted"):
        st.markdown(
            f"CARAFE's kernel prediction works on C_m = {cfg['compressed_channels']} compressed "
            "channels and its reassembly touches only a k×k window per output pixel. The table "
            "counts parameters and floating-point operations per *input* pixel of **one** ×2 "
            f"upsampler, the way the paper does (k_up = {cfg['up_kernel']}, k_enc = "
            f"{cfg['encoder_kernel']}). Deconv here is mmdetection's 3×3 stride-2 transposed "
            "conv and pixel shuffle a 3×3 conv to C·4 channels. Stored latencies come from "
            "assets/metrics.json (`carafe-evaluate`), measured on the machine that wrote it."
        )
    same = (ours["params"], ours["flops_per_input_pixel"]) == (
        paper["params"],
        paper["flops_per_input_pixel"],
    )
    (st.success if same else st.warning)(
        f"CARAFE at C = {PAPER_CARAFE['channels']}: computed here {ours['params']:,} parameters "
        f"/ {ours['flops_per_input_pixel']:,} FLOPs per input pixel; the paper (stored) "
        f"{paper['params']:,} / {paper['flops_per_input_pixel']:,}"
        + (" — identical." if same else " — they differ (see carafe.nn.upsampler_cost).")
    )


def loaded_model_cost() -> None:
    """The same counts for the loaded checkpoint's own upsampler, one and all of them."""
    try:
        model = state.get_model(state.running_model_name())
        cost = model_cost(model)
    except Exception as err:  # noqa: BLE001 - the paper's table is still useful
        st.info(f"The loaded model's upsampler cost is not available: {err}")
        cost = None
    if cost is not None:
        st.subheader(f"The loaded model: C = {cost.channels}")
        model_table = cost_table(cost.channels, cost.config if cost.kind == "carafe" else None)
        widgets.table(model_table, "cost_model", NUMBERS)
        st.markdown(
            f"This checkpoint upsamples with **{display_name(cost.kind)}** at each of its "
            f"{cost.steps} FPN steps: **{cost.params_one:,}** parameters and "
            f"**{cost.flops_per_input_pixel:,}** FLOPs per input pixel for **one** upsampler, "
            f"**{cost.params_all:,}** parameters for **all {cost.steps}** upsamplers of the FPN "
            "(the Compare page lists both)."
        )


def live_benchmark() -> None:
    """The quick benchmark of the op on this machine, run on a button press."""
    st.markdown(
        f"Operator backend: **{operator_backend()}**. The button runs the benchmark in quick "
        "mode (the same code as `carafe-bench --quick`): the CARAFE op, the plain-PyTorch "
        "reference and bilinear interpolation, forward and forward+backward, on the quick shape "
        "list, then the **whole** CARAFE upsampler beside its op. The op's time **excludes "
        "kernel prediction** (channel compressor, content encoder, softmax): it reassembles "
        "with kernels given. Timings on a shared machine move by ±10 % and more when other "
        "work runs."
    )
    if st.button("Run benchmark", type="primary", key="bench_run"):
        bar = st.progress(0.0, text="Starting…")

        def _progress(done: int, total: int, label: str) -> None:
            bar.progress(min(1.0, done / max(total, 1)), text=f"{done}/{total}: {label}")

        try:
            st.session_state["bench_table"] = benchmark_table(progress=_progress)
            bar.progress(0.9, text="The whole CARAFE upsampler")
            st.session_state["bench_whole"] = whole_upsampler_timing()
            bar.progress(1.0, text="Done")
        except Exception as err:  # noqa: BLE001 - show, never crash
            st.error(f"The benchmark failed: {type(err).__name__}: {err}")
    bench = st.session_state.get("bench_table")
    if bench:
        benchmark_results(bench)
    whole = st.session_state.get("bench_whole")
    if whole:
        whole_results(whole)


def whole_results(whole) -> None:
    """The whole CARAFE upsampler beside its op alone and bilinear, measured just now."""
    widgets.table(
        whole,
        "bench_whole_df",
        {
            whole.columns[1]: st.column_config.NumberColumn(format="%.2f"),
            whole.columns[2]: st.column_config.NumberColumn(format="percent"),
        },
    )
    ms = {r[whole.columns[0]]: r[whole.columns[1]] for r in whole.rows}
    names = [r[whole.columns[0]] for r in whole.rows]
    st.caption(
        f"Measured just now ({whole.caption}). The whole upsampler took {ms[names[0]]:.2f} ms, "
        f"its op alone {ms[names[1]]:.2f} ms ({ms[names[1]] / ms[names[0]]:.0%}): the rest is "
        "kernel prediction."
    )


def benchmark_results(bench) -> None:
    """The last benchmark's table and bar chart (log scale)."""
    widgets.table(
        bench,
        "bench_df",
        {c: st.column_config.NumberColumn(format="%.2f") for c in bench.columns[2:]},
    )
    st.caption(
        f"Measured just now, {len(bench.rows)} rows ({len({r['shape'] for r in bench.rows})} "
        "shape(s) × forward / forward+backward), medians of repeated runs."
    )
    fig = go.Figure()
    labels = [f"{r['shape']} {r['direction']}" for r in bench.rows]
    for col in bench.columns[2:5]:
        fig.add_trace(go.Bar(name=col, x=labels, y=[r[col] for r in bench.rows]))
    values = [r[col] for r in bench.rows for col in bench.columns[2:5] if r[col]]
    # the reference is ~100× slower: on a linear axis the rest vanish; ticks written in full
    style.readable_log_axis(fig, values, title="milliseconds, log scale (lower is better)")
    fig.update_layout(
        barmode="group",
        height=380,
        margin=dict(l=10, r=10, t=30, b=10),
        legend=dict(orientation="h", y=1.1),
    )
    st.plotly_chart(fig, config=style.png_config("benchmark"), key="bench_fig")


def main() -> None:
    st.title("Performance")
    paper_costs()
    bench, model = st.tabs(["Live benchmark on this machine", "The loaded model"])
    with bench:
        live_benchmark()
    with model:
        loaded_model_cost()
    texts.cite(
        stored="the paper's parameter and FLOP counts and the upsamplers' latencies "
        "(assets/metrics.json)"
    )


main()
