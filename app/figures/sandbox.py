"""The Sandbox's figures: the pattern with its profile line, maps on one scale, the profiles along
the line, and CARAFE's kernels along it."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from figures.draw import number_text, rgb_image
from figures.style import HIGHLIGHT, KERNEL, METHOD_COLOURS, PROFILE_SCALE, square


def _line_trace(line, showlegend=False) -> go.Scatter:
    """The profile line from (x0, y0) to (x1, y1), with a dot at its start."""
    return go.Scatter(
        x=[line.x0, line.x1],
        y=[line.y0, line.y1],
        mode="lines+markers",
        line=dict(color=HIGHLIGHT, width=2),
        marker=dict(size=[8, 0], color=HIGHLIGHT),
        hoverinfo="skip",
        showlegend=showlegend,
        name="profile line",
    )


def pattern_figure(image: np.ndarray, line, title: str, height: int = 360) -> go.Figure:
    """The image the model sees, with the profile line (continuous image coordinates)."""
    fig = go.Figure(rgb_image(image))
    fig.data[0].update(x0=0.5, y0=0.5)  # pixel (i, j) covers [i, i+1): centre at i + ½
    fig.add_trace(_line_trace(line))
    h, w = image.shape[:2]
    fig.update_layout(title=title)
    square(fig, height=height)
    fig.update_xaxes(range=[0, w], autorange=False, showticklabels=False)
    fig.update_yaxes(range=[h, 0], autorange=False, showticklabels=False)
    return fig


def maps_figure(maps, titles, lines, zmin, zmax, cols=5, height=300) -> go.Figure:
    """Maps side by side on ONE colour scale [zmin, zmax] with one colour bar; ``lines[i]`` is
    the profile line in map i's pixel coordinates. Values beyond the scale take its end colours.
    """
    fig = make_subplots(rows=1, cols=len(maps), subplot_titles=titles, horizontal_spacing=0.015)
    for i, (m, line) in enumerate(zip(maps, lines, strict=True)):
        fig.add_trace(
            go.Heatmap(
                z=m,
                colorscale=PROFILE_SCALE,
                zmin=zmin,
                zmax=zmax,
                showscale=i == 0,
                colorbar=dict(title="value", thickness=12),
                hovertemplate="row %{y}, col %{x}: %{z:.3f}<extra></extra>",
            ),
            row=1,
            col=i + 1,
        )
        fig.add_trace(_line_trace(line), row=1, col=i + 1)
        h, w = m.shape
        fig.update_xaxes(range=[-0.5, w - 0.5], autorange=False, row=1, col=i + 1)
        fig.update_yaxes(
            range=[h - 0.5, -0.5],
            autorange=False,
            scaleanchor=f"x{i + 1 if i else ''}",
            row=1,
            col=i + 1,
        )
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_layout(
        title="The step's input and four outputs, one colour scale",
        height=height,
        margin=dict(l=5, r=5, t=60, b=5),
    )
    fig.update_annotations(font_size=12)
    return fig


def profile_figure(profile, names: dict[str, str], height: int = 380) -> go.Figure:
    """Every method's pixel values along the line (each pixel held flat across its width, as
    pixels are), with the input map and the pattern itself for reference."""
    fig = go.Figure()
    if profile.pattern_values is not None:
        fig.add_trace(
            go.Scatter(
                x=profile.distance,
                y=profile.pattern_values,
                mode="lines",
                line=dict(color="#9e9e9e", dash="dot", shape="hvh"),
                name="pattern (0 = A, 1 = B)",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=profile.distance,
            y=profile.input_values,
            mode="lines",
            line=dict(color="#616161", width=4, shape="hvh"),
            opacity=0.45,
            name="input map (coarse)",
        )
    )
    for m, values in profile.values.items():
        fig.add_trace(
            go.Scatter(
                x=profile.distance,
                y=values,
                mode="lines+markers",
                line=dict(
                    color=METHOD_COLOURS.get(m), width=2.5 if m == "carafe" else 1.5, shape="hvh"
                ),
                marker=dict(size=5),
                name=names.get(m, m),
                hovertemplate="%{x:.1f} px: %{y:.3f}<extra>" + names.get(m, m) + "</extra>",
            )
        )
    fig.update_layout(
        title="Profile along the line",
        height=height,
        margin=dict(l=10, r=10, t=40, b=10),
        xaxis_title="position along the line (image pixels from its centre)",
        yaxis_title="value",
        legend=dict(orientation="h", y=-0.25),
    )
    return fig


def kernels_figure(kernels, cols: int = 4, height_per_row: int = 250) -> go.Figure:
    """CARAFE's kernels along the line on one colour scale, ``cols`` per row; a small white dot
    (top right of a tap) marks the taps whose input lies on the high side of the line's range."""
    n = max(len(kernels), 1)
    rows = -(-n // cols)
    titles = [
        f"pixel ({kv.pixel[0]}, {kv.pixel[1]}), {kv.distance:+.1f} px<br>"
        f"weight on dotted taps {kv.high_weight:.2f}"
        for kv in kernels
    ]
    fig = make_subplots(
        rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.02, vertical_spacing=0.1
    )
    zmax = max((float(kv.kernel.max()) for kv in kernels), default=1.0)
    for i, kv in enumerate(kernels):
        k = kv.kernel.shape[0]
        row, col = i // cols + 1, i % cols + 1
        fig.add_trace(
            go.Heatmap(
                z=kv.kernel,
                colorscale=KERNEL,
                zmin=0.0,
                zmax=zmax,
                showscale=i == 0,
                colorbar=dict(title="weight", thickness=12),
                text=number_text(kv.kernel, ".2f"),
                texttemplate="%{text}" if k <= 7 else "",
                textfont=dict(size=10),
                hovertemplate="dy %{y}, dx %{x}: %{z:.3f}<extra></extra>",
            ),
            row=row,
            col=col,
        )
        yy, xx = np.nonzero(kv.high_side)
        fig.add_trace(
            go.Scatter(
                x=xx + 0.36,
                y=yy - 0.36,
                mode="markers",
                marker=dict(size=6, color="white", line=dict(color="black", width=1)),
                hoverinfo="skip",
                showlegend=False,
            ),
            row=row,
            col=col,
        )
        fig.update_xaxes(range=[-0.5, k - 0.5], row=row, col=col)
        fig.update_yaxes(
            range=[k - 0.5, -0.5], scaleanchor=f"x{i + 1 if i else ''}", row=row, col=col
        )
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_layout(
        title="CARAFE's kernels along the line",
        height=rows * height_per_row + 60,
        margin=dict(l=5, r=5, t=80, b=5),
    )
    fig.update_annotations(font_size=12)
    return fig
