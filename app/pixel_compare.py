"""Explore's "CARAFE vs bilinear vs nearest" panel for the clicked pixel (the paper's Fig. 5, live).

Draws what ``carafe.inspect.compare_pixel`` computed: the three kernels on the same window and
colour scale, which taps lie on the pixel's own (predicted) object, and the numbers side by side.
"""

from __future__ import annotations

import figures as fg
import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from carafe.inspect import compare_pixel


def _comparison_figure(cmp, class_names) -> go.Figure:
    k = cmp.methods[0].kernel.shape[0]
    r = (k - 1) // 2
    ticks = [f"{d:+d}" if d else "0" for d in range(-r, r + 1)]
    fig = make_subplots(1, len(cmp.methods), subplot_titles=[m.display_name for m in cmp.methods])
    for i, m in enumerate(cmp.methods, start=1):
        text = fg.number_text(m.kernel, ".2f")
        if cmp.window_labels is not None:
            mark = np.where(cmp.window_labels == cmp.own_label, "", "<br>other")
            mark = np.where(cmp.window_labels < 0, "<br>pad", mark)
            text = np.char.add(text, mark)
        fig.add_trace(
            go.Heatmap(
                z=m.kernel,
                x=ticks,
                y=ticks,
                zmin=0.0,
                zmax=1.0,
                colorscale=fg.KERNEL,
                text=text,
                texttemplate="%{text}",
                textfont=dict(size=10),
                showscale=i == len(cmp.methods),
                colorbar=dict(title="weight", thickness=12),
                hovertemplate="dy %{y}, dx %{x}: %{z:.4f}<extra></extra>",
            ),
            1,
            i,
        )
        fig.update_xaxes(type="category", title_text="dx", row=1, col=i)
        fig.update_yaxes(type="category", autorange="reversed", row=1, col=i)
    fig.update_layout(height=330, margin=dict(l=10, r=10, t=50, b=10))
    return fig


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
                "weight on own object": None if m.own_share is None else round(m.own_share, 3),
                "weight on zero padding": round(m.padding_weight, 3),
                f"output value (channel {channel})": round(m.value, 4),
            }
        )
    st.dataframe(rows, hide_index=True)
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
