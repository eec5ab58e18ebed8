"""The image views: the image with its segmentation and click targets, rows of images, the
legend of classes, the image as a grey background for an output map."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from figures.draw import rgb_image
from figures.style import PALETTE, class_colour


def legend_html(class_names, present=None) -> str:
    """Coloured class chips (HTML) for ``st.markdown(..., unsafe_allow_html=True)``."""
    ids = [
        i
        for i in (present if present is not None else range(len(class_names)))
        if 0 < i < len(class_names)
    ]
    if not ids:
        return "only background"
    return " ".join(
        f"<span style='background:{class_colour(i)};padding:1px 8px;"
        f"border-radius:4px;color:black'>{class_names[i]}</span>"
        for i in ids
    )


def overlay(image: np.ndarray, seg: np.ndarray | None, alpha: float) -> np.ndarray:
    """Blend class colours over the image (background untouched)."""
    if seg is None or alpha <= 0:
        return image
    colours = PALETTE[seg % len(PALETTE)].astype(np.float32)
    mask = (seg > 0)[..., None]
    out = np.where(mask, (1 - alpha) * image + alpha * colours, image)
    return out.round().astype(np.uint8)


CLICK_GRID = 16  # coarse click markers per axis


CLICK_RADIUS = 6  # every output pixel this close to the selected one gets a marker


def click_grid_step(out_hw, coarse: int = CLICK_GRID) -> int:
    """Output pixels between two coarse click markers."""
    return max(1, -(-max(out_hw) // coarse))


def click_targets(out_hw, selected, coarse: int = CLICK_GRID, radius: int = CLICK_RADIUS):
    """Output pixels that get an invisible click marker, as (coarse, fine) (rows, cols) pairs.

    Every output pixel within ``radius`` of the selected one (exact clicks near it), and a
    grid of at most ``coarse`` × ``coarse`` pixels elsewhere (a far click lands within half a
    grid step). Plotly draws each marker as an SVG node and redraws them all on every click:
    a marker per pixel of a 64×64 map took over a second per click in the browser, this grid
    a few hundred markers.
    """
    oh, ow = out_hw
    sub = click_grid_step(out_hw, coarse)
    gy, gx = np.mgrid[sub // 2 : oh : sub, sub // 2 : ow : sub]
    oy, ox = selected
    fy, fx = np.mgrid[
        max(0, oy - radius) : min(oh, oy + radius + 1),
        max(0, ox - radius) : min(ow, ox + radius + 1),
    ]
    # coarse squares (sub pixels wide) must not reach into the fine area, or both would claim
    # a click there
    reach = radius + sub // 2
    far = (np.abs(gy - oy) > reach) | (np.abs(gx - ox) > reach)
    return (gy[far], gx[far], sub), (fy.ravel(), fx.ravel())


def click_trace(step, rows, cols, size: int, name: str, label: str = "output pixel") -> go.Scatter:
    """Invisible square markers at output pixels (rows, cols) of ``step`` whose customdata is
    (row, col): plotly reports the marker under a click. The hover label is needed: plotly
    sends no click for a trace that skips hovering."""
    cy, cx = step.geometry.image_centre(rows, cols)
    return go.Scatter(
        x=np.asarray(cx, np.float32),
        y=np.asarray(cy, np.float32),
        mode="markers",
        marker=dict(size=size, color="rgba(255,255,255,0.01)", symbol="square"),
        customdata=np.stack([rows, cols], axis=1).astype(np.int16),
        hovertemplate=f"{label} (%{{customdata[0]}}, %{{customdata[1]}})<extra></extra>",
        showlegend=False,
        name=name,
    )


def images_row(images, titles, height=300) -> go.Figure:
    """RGB images side by side (e.g. PCA views or segmentations)."""
    fig = make_subplots(rows=1, cols=len(images), subplot_titles=titles, horizontal_spacing=0.02)
    for i, im in enumerate(images):
        fig.add_trace(rgb_image(im), row=1, col=i + 1)
        fig.update_xaxes(range=[-0.5, im.shape[1] - 0.5], row=1, col=i + 1)
        fig.update_yaxes(
            range=[im.shape[0] - 0.5, -0.5], scaleanchor=f"x{i + 1 if i else ''}", row=1, col=i + 1
        )
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_layout(height=height, margin=dict(l=5, r=5, t=30, b=5))
    return fig


def map_background(image: np.ndarray, out_hw, visible_hw) -> np.ndarray:
    """The image as a grey (H_out, W_out) map in [0, 1] aligned with an output map whose first
    ``visible_hw`` rows/columns cover the image (the rest is zero padding and stays black)."""
    from PIL import Image

    oh, ow = int(out_hw[0]), int(out_hw[1])
    h, w = int(visible_hw[0]), int(visible_hw[1])
    grey = Image.fromarray(image).convert("L").resize((w, h), Image.Resampling.BILINEAR)
    out = np.zeros((oh, ow), np.float32)
    g = np.asarray(grey, np.float32)[:oh, :ow] / 255.0
    out[: g.shape[0], : g.shape[1]] = g
    return out
