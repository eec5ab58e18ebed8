"""The pixel shuffle made visible: the encoder's output at one input pixel, and the s² kernels of
its s×s output block."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from figures.draw import number_text
from figures.style import BAR_NEGATIVE, BAR_POSITIVE, DIV, HIGHLIGHT, SELECT


def encoder_vector_figure(values, channels_of_pixel, title, height=280) -> go.Figure:
    """All G·k²·s² encoder outputs at one input pixel as bars; the k² channels that feed the
    selected output pixel's kernel are drawn solid, the others faded."""
    values = np.asarray(values, dtype=np.float64)
    mine = np.zeros(len(values), bool)
    mine[np.asarray(channels_of_pixel).ravel()] = True
    colours = np.where(values >= 0, BAR_POSITIVE, BAR_NEGATIVE)
    fig = go.Figure(
        go.Bar(
            x=np.arange(len(values)),
            y=values,
            marker=dict(color=colours, opacity=np.where(mine, 1.0, 0.3)),
            hovertemplate="encoder channel %{x}: %{y:.4g}<extra></extra>",
        )
    )
    fig.update_layout(
        title=title,
        height=height,
        margin=dict(l=10, r=10, t=40, b=10),
        bargap=0.1,
        xaxis_title="encoder channel",
        yaxis_title="logit",
        showlegend=False,
    )
    return fig


def block_kernels_figure(view, tap, values=None, title="", height=None) -> go.Figure:
    """The s² k×k kernels of one input pixel's s×s output block, laid out as the block.

    ``values``: (s, s, k, k) to draw (default ``view.logits``); ``tap`` (dy, dx) is outlined in
    every kernel, the selected sub-pixel's kernel gets a thick frame. Hovering a tap names its
    encoder channel.
    """
    vals = np.asarray(view.logits if values is None else values, dtype=np.float64)
    s, k = vals.shape[0], vals.shape[2]
    r = (k - 1) // 2
    titles = [
        f"sub-pixel ({a}, {b}) → output ({view.outputs[a, b, 0]}, {view.outputs[a, b, 1]})"
        for a in range(s)
        for b in range(s)
    ]
    fig = make_subplots(
        rows=s, cols=s, subplot_titles=titles, horizontal_spacing=0.04, vertical_spacing=0.1
    )
    m = float(np.nanmax(np.abs(vals))) or 1.0
    ticks = [f"{d:+d}" if d else "0" for d in range(-r, r + 1)]
    for a in range(s):
        for b in range(s):
            i = a * s + b
            fig.add_trace(
                go.Heatmap(
                    z=vals[a, b],
                    x=ticks,
                    y=ticks,
                    colorscale=DIV,
                    zmin=-m,
                    zmax=m,
                    showscale=i == 0,
                    colorbar=dict(title="logit", thickness=12),
                    text=number_text(vals[a, b], ".2f"),
                    texttemplate="%{text}" if k <= 5 else "",
                    textfont=dict(size=10),
                    customdata=view.channels[a, b],
                    hovertemplate="dy %{y}, dx %{x}: %{z:.4f}<br>encoder channel "
                    "%{customdata}<extra></extra>",
                ),
                row=a + 1,
                col=b + 1,
            )
            dy, dx = tap
            fig.add_shape(
                type="rect",
                x0=dx - 0.5,
                x1=dx + 0.5,
                y0=dy - 0.5,
                y1=dy + 0.5,
                line=dict(color=HIGHLIGHT, width=3),
                row=a + 1,
                col=b + 1,
            )
            if (a, b) == tuple(view.sub_pixel):
                fig.add_shape(
                    type="rect",
                    x0=-0.5,
                    x1=k - 0.5,
                    y0=-0.5,
                    y1=k - 0.5,
                    line=dict(color=SELECT, width=5),
                    row=a + 1,
                    col=b + 1,
                )
            axis = "" if i == 0 else str(i + 1)
            fig.update_xaxes(type="category", row=a + 1, col=b + 1)
            fig.update_yaxes(
                type="category", autorange="reversed", scaleanchor=f"x{axis}", row=a + 1, col=b + 1
            )
    fig.update_xaxes(showgrid=False, zeroline=False)
    fig.update_yaxes(showgrid=False, zeroline=False)
    fig.update_layout(
        title=title, height=height or 60 + 300 * s, margin=dict(l=10, r=10, t=70, b=10)
    )
    fig.update_annotations(font_size=12)
    return fig
