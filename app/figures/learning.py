"""Figures of the training snapshots: stored curves across the snapshots, with the snapshot
shown on the page marked on every curve."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative

from figures.style import SELECT


@dataclass(frozen=True)
class Curve:
    """One line of a snapshot chart: a value per snapshot (None where not stored)."""

    name: str
    values: list[float | None]
    colour: str | None = None  # None: plotly's qualitative colour of its position
    dash: str | None = None  # "dash", "dot", ...
    width: float = 2.5
    fmt: str = ".3f"


def snapshot_curves(
    steps: list[int],
    curves: list[Curve],
    current: int,
    title: str,
    yaxis_title: str,
    height: int = 300,
) -> go.Figure:
    """Curves over the snapshots (one x position per snapshot, labelled by its step count, so
    the early snapshots 0, 25, 50 are not squeezed together), with the snapshot ``current``
    (a step count) marked by a band and a ring on every curve."""
    x = np.arange(len(steps))
    fig = go.Figure()
    pos = steps.index(current) if current in steps else None
    if pos is not None:
        fig.add_vrect(
            x0=pos - 0.3, x1=pos + 0.3, fillcolor=SELECT, opacity=0.18, line_width=0, layer="below"
        )
    for i, c in enumerate(curves):
        colour = c.colour or qualitative.Plotly[i % len(qualitative.Plotly)]
        y = np.array([np.nan if v is None else v for v in c.values], dtype=np.float64)
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                name=c.name,
                mode="lines+markers",
                line=dict(color=colour, dash=c.dash, width=c.width),
                marker=dict(size=6),
                customdata=np.asarray(steps),
                hovertemplate=f"{c.name}, step %{{customdata}}: %{{y:{c.fmt}}}<extra></extra>",
            )
        )
        if pos is not None and not np.isnan(y[pos]):
            # a ring on the curve at the shown snapshot, in the curve's own colour
            fig.add_trace(
                go.Scatter(
                    x=[pos],
                    y=[y[pos]],
                    name=f"{c.name} (shown snapshot)",
                    mode="markers",
                    marker=dict(
                        size=13,
                        symbol="circle-open",
                        line=dict(width=3, color=colour),
                        color=colour,
                    ),
                    showlegend=False,
                    hovertemplate=f"{c.name}, step {current} (shown): %{{y:{c.fmt}}}"
                    "<extra></extra>",
                )
            )
    fig.update_layout(
        title=title,
        height=height,
        margin=dict(l=10, r=10, t=40, b=10),
        legend=dict(orientation="h", yanchor="top", y=-0.25, x=0),
        yaxis_title=yaxis_title,
    )
    fig.update_xaxes(
        tickvals=list(x),
        ticktext=[str(s) for s in steps],
        title_text="optimizer steps done (snapshot)",
        range=[-0.5, len(steps) - 0.5],
    )
    return fig
