"""Charts of plain numbers: bars."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from figures.style import BAR_NEGATIVE, BAR_POSITIVE, METHOD_COLOURS


def bar_figure(values, title, xlabel="channel", height=260) -> go.Figure:
    """A vector (e.g. the features of one pixel) as bars, blue < 0 < red."""
    values = np.asarray(values, dtype=np.float64)
    colours = np.where(values >= 0, BAR_POSITIVE, BAR_NEGATIVE)
    fig = go.Figure(
        go.Bar(
            x=np.arange(len(values)),
            y=values,
            marker_color=colours,
            hovertemplate=f"{xlabel} %{{x}}: %{{y:.4g}}<extra></extra>",
        )
    )
    fig.update_layout(
        title=title,
        height=height,
        margin=dict(l=10, r=10, t=40, b=10),
        bargap=0.1,
        xaxis_title=xlabel,
        showlegend=False,
    )
    return fig


def profile_lines(
    columns, values: dict[str, np.ndarray], names: dict[str, str], title: str, height: int = 340
) -> go.Figure:
    """Values of several methods along one row (x = output column), one line each; lines named
    by ``names`` and coloured as on the other pages (dashed for a what-if)."""
    fig = go.Figure()
    for key, ys in values.items():
        fig.add_trace(
            go.Scatter(
                x=np.asarray(columns),
                y=np.asarray(ys, dtype=np.float64),
                mode="lines",
                name=names.get(key, key),
                line=dict(
                    color=METHOD_COLOURS[key],
                    dash="dash" if key == "renormalised" else None,
                    width=2,
                ),
                hovertemplate=f"{names.get(key, key)}: column %{{x}}, %{{y:.4g}}<extra></extra>",
            )
        )
    fig.update_layout(
        title=title,
        height=height,
        margin=dict(l=10, r=10, t=40, b=10),
        xaxis_title="output column (left border → right border)",
        yaxis_title="value",
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0),
    )
    return fig
