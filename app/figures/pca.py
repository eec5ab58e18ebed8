"""Feature maps in PCA colours: the coarse map and its upsampled versions in one row, each an
RGB picture of every channel at once (colours from carafe.inspect.feature_pca)."""

from __future__ import annotations

import textwrap

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from figures.draw import rgb_image

TITLE_WIDTH = 16  # characters per line of a panel's title (six panels share the page's width)


def _title(label: str) -> str:
    return "<br>".join(textwrap.wrap(label, TITLE_WIDTH))


def pca_row(
    images: list[np.ndarray], labels: list[str], title: str, height: int = 270
) -> go.Figure:
    """(H, W, 3) float images in [0, 1] side by side, equal aspect, each titled by its label."""
    fig = make_subplots(
        rows=1,
        cols=len(images),
        subplot_titles=[_title(label) for label in labels],
        horizontal_spacing=0.012,
    )
    for i, rgb in enumerate(images):
        pixels = (np.clip(rgb, 0.0, 1.0) * 255).round().astype(np.uint8)
        fig.add_trace(rgb_image(pixels), row=1, col=i + 1)
        fig.update_xaxes(range=[-0.5, rgb.shape[1] - 0.5], row=1, col=i + 1)
        fig.update_yaxes(
            range=[rgb.shape[0] - 0.5, -0.5],
            scaleanchor=f"x{i + 1 if i else ''}",
            row=1,
            col=i + 1,
        )
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_annotations(font_size=11)
    fig.update_layout(
        title=dict(text=title, font_size=13),
        height=height,
        margin=dict(l=5, r=5, t=80, b=5),
    )
    return fig
