"""Charts of plain numbers: bars."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from figures.style import BAR_NEGATIVE, BAR_POSITIVE


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
