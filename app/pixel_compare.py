"""Explore's "CARAFE vs bilinear vs nearest" panel for the clicked pixel (the paper's Fig. 5, live).

Draws what ``carafe.inspect.compare_pixel`` computed: the three kernels on the same window and
colour scale, which taps lie on the pixel's own (predicted) object, and the numbers side by side.
"""

from __future__ import annotations

import figures as fg
import numpy as np
import plotly.graph_objects as go
import streamlit as st

from carafe.inspect.kernel_compare import compare_pixel

GAP = 1  # empty columns between two kernels


def _comparison_figure(cmp, class_names) -> go.Figure:
    """The three kernels side by side as ONE heatmap with empty columns between them.

    One trace and one pair of axes instead of three subplots: Streamlit redraws this figure
    from scratch on every click, and in the browser each subplot's axes and canvas cost time.
    """
    k = cmp.methods[0].kernel.shape[0]
    r = (k - 1) // 2
    n = len(cmp.methods)
    width = n * k + (n - 1) * GAP
    z = np.full((k, width), np.nan)
    text = np.full((k, width), "", dtype=object)
    hover = np.full((k, width), "", dtype=object)
    dy, dx = np.mgrid[-r : r + 1, -r : r + 1]
    tickvals, ticktext = [], []
    for i, m in enumerate(cmp.methods):
        c0 = i * (k + GAP)
        cells = np.s_[:, c0 : c0 + k]
        z[cells] = m.kernel
        labels = fg.number_text(m.kernel, ".2f")
        if cmp.window_labels is not None:
            mark = np.where(cmp.window_labels == cmp.own_label, "", "<br>other")
            labels = np.char.add(labels, np.where(cmp.window_labels < 0, "<br>pad", mark))
        text[cells] = labels
        hover[cells] = np.char.add(
            np.char.add(f"{m.display_name}: dy ", dy.astype(str)),
            np.char.add(", dx ", dx.astype(str)),
        )
        tickvals += list(range(c0, c0 + k))
        ticktext += [f"{d:+d}" if d else "0" for d in range(-r, r + 1)]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            zmin=0.0,
            zmax=1.0,
            colorscale=fg.KERNEL,
            text=text,
            texttemplate="%{text}",
            textfont=dict(size=10),
            customdata=hover,
            colorbar=dict(title="weight", thickness=12),
            hovertemplate="%{customdata}: %{z:.4f}<extra></extra>",
            hoverongaps=False,
        )
    )
    for i, m in enumerate(cmp.methods):
        fig.add_annotation(
            x=i * (k + GAP) + r, y=-0.5, yanchor="bottom", text=m.display_name, showarrow=False
        )
    fig.update_xaxes(
        tickvals=tickvals, ticktext=ticktext, title_text="dx", showgrid=False, zeroline=False
    )
    fig.update_yaxes(
        tickvals=list(range(k)),
        ticktext=[f"{d:+d}" if d else "0" for d in range(-r, r + 1)],
        title_text="dy",
        autorange="reversed",
        showgrid=False,
        zeroline=False,
        scaleanchor="x",
    )
    fig.update_layout(height=330, margin=dict(l=10, r=10, t=50, b=10), plot_bgcolor="rgba(0,0,0,0)")
    return fig


def numbers_table(rows: list[dict]) -> str:
    """A markdown table of ``rows`` (a dash for None). Lighter in the browser than a
    st.dataframe, which Streamlit rebuilds on every click."""
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        lines.append("| " + " | ".join("–" if row[h] is None else str(row[h]) for h in head) + " |")
    return "\n".join(lines)


def show_comparison(step, oy: int, ox: int, channel: int, segmentation, class_names) -> None:
    """The panel: three kernels on one window, then own-object share, padding weight, value."""
    cmp = compare_pixel(step, oy, ox, channel, segmentation)
    st.subheader("The same pixel, three ways")
    st.markdown(
        "Bilinear interpolation and nearest neighbour are weighted sums of the same window too, "
        "with **fixed** weights: bilinear gives every output pixel up to 4 taps that depend only "
        "on where it sits in its s×s block; nearest copies the centre tap. CARAFE predicts its "
        "weights from the content. All three on the same 0–1 colour scale; taps marked "
        "*other* lie on another object of the predicted segmentation, *pad* outside the image."
    )
    st.plotly_chart(
        _comparison_figure(cmp, class_names),
        config=fg.png_config(f"three_kernels_{oy}_{ox}"),
        key="explore_three_kernels",
    )
    rows = []
    for m in cmp.methods:
        rows.append(
            {
                "method": m.display_name,
                "weight on own object": None if m.own_share is None else f"{m.own_share:.3f}",
                "weight on zero padding": f"{m.padding_weight:.3f}",
                f"output value (channel {channel})": f"{m.value:.4f}",
            }
        )
    st.markdown(numbers_table(rows))
    if cmp.own_label is not None and class_names:
        own = class_names[cmp.own_label] if cmp.own_label < len(class_names) else cmp.own_label
        shares = {m.method: m.own_share for m in cmp.methods}
        st.caption(
            f"The output pixel's predicted class is **{own}**. CARAFE puts "
            f"{shares['carafe']:.3f} of its weight on taps of that class, bilinear "
            f"{shares['bilinear']:.3f}, nearest {shares['nearest']:.3f}. Where the whole window "
            "is one object all three are 1 and the kernels differ only in how they average "
            "the texture."
        )
