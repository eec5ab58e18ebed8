"""The Sandbox's figures: the pattern with its profile line, maps on one scale, the profiles along
the line, CARAFE's kernels along it, and the DySample twin's maps with its sampling points."""

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


def _axes(i: int) -> tuple[str, str, str, str]:
    """Subplot i's trace axis ids and layout keys: ('x', 'y', 'xaxis', 'yaxis') for i = 0."""
    n = "" if i == 0 else str(i + 1)
    return f"x{n}", f"y{n}", f"xaxis{n}", f"yaxis{n}"


def _place(fig: go.Figure, traces: list[list], axes: dict) -> go.Figure:
    """Add subplot i's traces on its axes and set every axis in one layout update: plotly's
    per-subplot ``add_trace(row=, col=)`` and ``update_xaxes(row=, col=)`` cost tens of ms
    each, which a page answering a slider must not spend."""
    flat = []
    for i, group in enumerate(traces):
        x, y, _, _ = _axes(i)
        for tr in group:
            tr.update(xaxis=x, yaxis=y)
            flat.append(tr)
    fig.add_traces(flat)
    fig.update_layout(axes)
    return fig


def maps_figure(maps, titles, lines, zmin, zmax, title: str, height=300, points=None) -> go.Figure:
    """Maps side by side on ONE colour scale [zmin, zmax] with one colour bar; ``lines[i]`` is
    the profile line in map i's pixel coordinates. Values beyond the scale take its end colours.
    points: optional {map index: (start (n, 2), points (n, G, 2))} sampling points (x, y) in
    that map's pixel coordinates, drawn as rings (start) and dots (where it samples).
    """
    fig = make_subplots(rows=1, cols=len(maps), subplot_titles=titles, horizontal_spacing=0.015)
    traces, axes = [], {}
    hidden = dict(showticklabels=False, showgrid=False, zeroline=False, autorange=False)
    for i, (m, line) in enumerate(zip(maps, lines, strict=True)):
        group = [
            go.Heatmap(
                z=m,
                colorscale=PROFILE_SCALE,
                zmin=zmin,
                zmax=zmax,
                showscale=i == 0,
                colorbar=dict(title="value", thickness=12),
                hovertemplate="row %{y}, col %{x}: %{z:.3f}<extra></extra>",
            ),
            _line_trace(line),
        ]
        if points and i in points:
            group += _sampling_traces(*points[i])
        traces.append(group)
        h, w = m.shape
        x, _, xkey, ykey = _axes(i)
        axes[xkey] = dict(range=[-0.5, w - 0.5], **hidden)
        axes[ykey] = dict(range=[h - 0.5, -0.5], scaleanchor=x, **hidden)
    _place(fig, traces, axes)
    fig.update_layout(
        title=title,
        height=height,
        margin=dict(l=5, r=5, t=60, b=5),
    )
    fig.update_annotations(font_size=12)
    return fig


def _sampling_traces(start: np.ndarray, points: np.ndarray) -> list[go.Scatter]:
    """Rings at the sub-pixel centres (where bilinear samples) and dots where the learned points
    sample, joined by thin lines; (x, y) in map pixels."""
    n, g, _ = points.shape
    xs = np.full((n, g, 3), np.nan)
    ys = np.full((n, g, 3), np.nan)
    xs[..., 0], ys[..., 0] = start[:, None, 0], start[:, None, 1]
    xs[..., 1], ys[..., 1] = points[..., 0], points[..., 1]
    return [
        go.Scatter(
            x=xs.ravel(),
            y=ys.ravel(),
            mode="lines",
            line=dict(color="white", width=1),
            hoverinfo="skip",
            showlegend=False,
        ),
        go.Scatter(
            x=start[:, 0],
            y=start[:, 1],
            mode="markers",
            marker=dict(size=7, color="rgba(0,0,0,0)", line=dict(color="white", width=1.5)),
            name="bilinear's point",
            hoverinfo="skip",
            showlegend=False,
        ),
        go.Scatter(
            x=points[..., 0].ravel(),
            y=points[..., 1].ravel(),
            mode="markers",
            marker=dict(size=5, color=HIGHLIGHT, line=dict(color="black", width=0.5)),
            name="sampling points",
            hovertemplate="x %{x:.2f}, y %{y:.2f}<extra>sampling point</extra>",
            showlegend=False,
        ),
    ]


def profile_figure(
    profile, names: dict[str, str], separate: tuple[str, ...] = (), height: int = 380
) -> go.Figure:
    """Every method's pixel values along the line (each pixel held flat across its width, as
    pixels are), with the input map and the pattern itself for reference (exact along the line:
    a thin line shows however thin it is). ``separate``: methods from another model, dashed."""
    fig = go.Figure()
    if profile.pattern is not None:
        trace = profile.pattern.trace
        fig.add_trace(
            go.Scatter(
                x=trace[:, 0],
                y=trace[:, 1],
                mode="lines",
                line=dict(color="#9e9e9e", dash="dot"),
                name="pattern (0 = A, 1 = B)",
                connectgaps=False,
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
                    color=METHOD_COLOURS.get(m),
                    width=2.5 if m == "carafe" else 1.5,
                    shape="hvh",
                    dash="dash" if m in separate else None,
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
        f"dotted taps {kv.high_weight:.2f} (bilinear {kv.bilinear_high_weight:.2f})"
        for kv in kernels
    ]
    fig = make_subplots(
        rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.02, vertical_spacing=0.1
    )
    zmax = max((float(kv.kernel.max()) for kv in kernels), default=1.0)
    traces, axes = [], {}
    hidden = dict(showticklabels=False, showgrid=False, zeroline=False)
    for i, kv in enumerate(kernels):
        k = kv.kernel.shape[0]
        yy, xx = np.nonzero(kv.high_side)
        traces.append(
            [
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
                go.Scatter(
                    x=xx + 0.36,
                    y=yy - 0.36,
                    mode="markers",
                    marker=dict(size=6, color="white", line=dict(color="black", width=1)),
                    hoverinfo="skip",
                    showlegend=False,
                ),
            ]
        )
        x, _, xkey, ykey = _axes(i)
        axes[xkey] = dict(range=[-0.5, k - 0.5], **hidden)
        axes[ykey] = dict(range=[k - 0.5, -0.5], scaleanchor=x, **hidden)
    _place(fig, traces, axes)
    fig.update_layout(
        title="CARAFE's kernels along the line",
        height=rows * height_per_row + 60,
        margin=dict(l=5, r=5, t=80, b=5),
    )
    fig.update_annotations(font_size=12)
    return fig
