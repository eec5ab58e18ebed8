"""Figures of a live training run: loss curves, the held-out picture through each model (with the
kernel window of the chosen pixel drawn on it), and the s² kernels one input pixel predicts."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from figures.draw import number_text, outline, rgb_image
from figures.style import (
    HIGHLIGHT,
    KERNEL,
    METHOD_COLOURS,
    SELECT,
    numbers_fit,
    readable_log_axis,
)


def _colour(kind: str) -> str:
    return METHOD_COLOURS[kind]


def loss_figure(steps, train_loss, heldout_steps, heldout_loss, names, height=360) -> go.Figure:
    """Training loss of every step (thin) and the held-out loss (thick, with markers), log y."""
    fig = go.Figure()
    for kind, name in names.items():
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=train_loss[kind],
                name=f"{name} (training batch)",
                line=dict(color=_colour(kind), width=1),
                opacity=0.45,
                hovertemplate=f"{name}, step %{{x}}: %{{y:.5f}}<extra>training</extra>",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=heldout_steps,
                y=heldout_loss[kind],
                name=f"{name} (held-out)",
                mode="lines+markers",
                line=dict(color=_colour(kind), width=3),
                marker=dict(size=4),
                hovertemplate=f"{name}, step %{{x}}: %{{y:.5f}}<extra>held-out</extra>",
            )
        )
    fig.update_layout(
        title="Loss curves (mean square error)",
        height=height,
        margin=dict(l=10, r=10, t=40, b=10),
        legend=dict(orientation="h", y=-0.2),
        xaxis_title="step",
        yaxis_title="MSE",
    )
    losses = [train_loss[k] for k in names] + [heldout_loss[k] for k in names]
    readable_log_axis(fig, np.concatenate([np.ravel(v) for v in losses]) if losses else [])
    return fig


def pictures_figure(images, titles, window, pixel, title, height=300) -> go.Figure:
    """(H, W, 3) uint8 pictures side by side; the k×k window (picture pixels, half-open
    (y0, x0, y1, x1)) and the chosen pixel outlined on each."""
    fig = make_subplots(rows=1, cols=len(images), subplot_titles=titles, horizontal_spacing=0.015)
    y, x = pixel
    for i, rgb in enumerate(images):
        fig.add_trace(rgb_image(rgb), row=1, col=i + 1)
        outline(fig, *window, color=SELECT, dash="dash", row=1, col=i + 1)
        outline(fig, y, x, y + 1, x + 1, color=HIGHLIGHT, row=1, col=i + 1)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, autorange="reversed")
    for i in range(len(images)):
        fig.update_yaxes(scaleanchor=f"x{i + 1 if i else ''}", row=1, col=i + 1)
    fig.update_layout(title=title, height=height, margin=dict(l=5, r=5, t=60, b=5))
    fig.update_annotations(font_size=12)
    return fig


def block_figure(block, sub_pixel, title, cell_px=None) -> go.Figure:
    """The s×s kernels (s, s, k, k) one input pixel predicts, laid out as its s×s output block,
    square cells on one colour scale, each weight written on its cell when it fits (always on
    hover); the chosen output pixel's kernel outlined."""
    s, k = block.shape[0], block.shape[-1]
    cell = cell_px or (34 if s <= 2 else 26)  # CSS px per tap: room for "0.12"
    font = 10 if cell >= 30 else 9
    show = numbers_fit(cell, ".2f", font) and k <= 7
    fig = make_subplots(
        rows=s,
        cols=s,
        subplot_titles=[f"sub-pixel ({a}, {b})" for a in range(s) for b in range(s)],
        horizontal_spacing=0.03,
        vertical_spacing=0.25 / s,
    )
    zmax = float(np.max(block)) or 1.0
    r = (k - 1) // 2
    offsets = [f"{d:+d}" if d else "0" for d in range(-r, r + 1)]
    for a in range(s):
        for b in range(s):
            fig.add_trace(
                go.Heatmap(
                    z=block[a, b],
                    zmin=0.0,
                    zmax=zmax,
                    colorscale=KERNEL,
                    showscale=(a == 0 and b == 0),
                    colorbar=dict(title="weight", thickness=12),
                    text=number_text(block[a, b], ".2f"),
                    texttemplate="%{text}" if show else "",
                    textfont=dict(size=font),
                    customdata=np.stack(np.meshgrid(offsets, offsets, indexing="ij"), -1),
                    hovertemplate="tap dy %{customdata[0]}, dx %{customdata[1]}: "
                    "%{z:.4f}<extra></extra>",
                ),
                row=a + 1,
                col=b + 1,
            )
            n = a * s + b + 1
            fig.update_yaxes(scaleanchor=f"x{n if n > 1 else ''}", row=a + 1, col=b + 1)
            if (a, b) == tuple(sub_pixel):
                outline(fig, 0, 0, k, k, color=HIGHLIGHT, width=3, row=a + 1, col=b + 1)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, constrain="domain")
    fig.update_yaxes(
        showticklabels=False, showgrid=False, zeroline=False, autorange="reversed",
        constrain="domain",
    )  # fmt: skip
    fig.update_layout(
        title=title, height=s * (k * cell + 40) + 70, margin=dict(l=5, r=5, t=60, b=5)
    )
    fig.update_annotations(font_size=11)
    return fig
