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


def step_positions(steps: list[int]) -> tuple[list[float], float | None]:
    """(x, start): where each snapshot sits on the log step axis. Positive steps sit at their
    own value; step 0, which a log axis cannot show, sits apart at ``start`` (a fifth of a
    decade left of the first positive step, tick "0"), and the curves do not join it to the
    rest. ``start`` is None without a step 0."""
    positive = [s for s in steps if s > 0]
    start = (min(positive) if positive else 1) / 10**0.6 if 0 in steps else None
    return [float(s) if s > 0 else start for s in steps], start


def step_ticks(steps: list[int]) -> tuple[list[float], list[str]]:
    """Readable ticks of the log step axis: "0" apart at the left, then the powers of ten the
    snapshots span (10, 100, 1000), plus the last snapshot's step."""
    x, start = step_positions(steps)
    positive = [s for s in steps if s > 0]
    vals, text = ([start], ["0"]) if start is not None else ([], [])
    if positive:
        lo, hi = min(positive), max(positive)
        decades = [10**e for e in range(int(np.floor(np.log10(lo))), int(np.log10(hi)) + 1)]
        for d in decades:
            if lo <= d <= hi:
                vals.append(float(d))
                text.append(f"{d:,}")
        if hi not in decades:
            vals.append(float(hi))
            text.append(f"{hi:,}")
    return vals, text


def snapshot_curves(
    steps: list[int],
    curves: list[Curve],
    current: int,
    title: str,
    yaxis_title: str,
    height: int = 300,
) -> go.Figure:
    """Curves over the snapshots, each at its real step count on a log axis (so 0, 25, 50, 100,
    … 2400 are not drawn as if equally spaced; step 0 sits apart at the left, not joined), with
    the snapshot ``current`` (a step count) marked by a band and a ring on every curve."""
    x, start = step_positions(steps)
    xs = np.array(x, dtype=np.float64)
    fig = go.Figure()
    pos = steps.index(current) if current in steps else None
    if pos is not None:
        fig.add_vrect(
            x0=xs[pos] / 1.25,
            x1=xs[pos] * 1.25,
            fillcolor=SELECT,
            opacity=0.18,
            line_width=0,
            layer="below",
        )
    # a gap (None) between step 0 and the rest: a log axis has no honest line from 0
    gap = [i for i, s in enumerate(steps) if s == 0 and i + 1 < len(steps)]
    for i, c in enumerate(curves):
        colour = c.colour or qualitative.Plotly[i % len(qualitative.Plotly)]
        y = np.array([np.nan if v is None else v for v in c.values], dtype=np.float64)
        line_x, line_y, line_steps = list(xs), list(y), list(steps)
        for j in reversed(gap):
            line_x.insert(j + 1, None)
            line_y.insert(j + 1, None)
            line_steps.insert(j + 1, None)
        fig.add_trace(
            go.Scatter(
                x=line_x,
                y=line_y,
                name=c.name,
                mode="lines+markers",
                connectgaps=False,
                line=dict(color=colour, dash=c.dash, width=c.width),
                marker=dict(size=6),
                customdata=line_steps,
                hovertemplate=f"{c.name}, step %{{customdata}}: %{{y:{c.fmt}}}<extra></extra>",
            )
        )
        if pos is not None and not np.isnan(y[pos]):
            # a ring on the curve at the shown snapshot, in the curve's own colour
            fig.add_trace(
                go.Scatter(
                    x=[xs[pos]],
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
        legend=dict(orientation="h", yanchor="top", y=-0.3, x=0),
        yaxis_title=yaxis_title,
    )
    vals, text = step_ticks(steps)
    lo, hi = float(np.min(xs)), float(np.max(xs))
    fig.update_xaxes(
        type="log",
        tickvals=vals,
        ticktext=text,
        title_text="optimizer steps done (log scale; step 0 at the left, apart)"
        if start is not None
        else "optimizer steps done (log scale)",
        range=[np.log10(lo) - 0.15, np.log10(hi) + 0.15],
    )
    return fig
