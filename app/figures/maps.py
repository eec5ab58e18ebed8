"""Maps: one map with a colour bar, small multiples on one scale, and the lean (centre-of-mass)
maps drawn as direction colours with a colour-wheel legend."""

from __future__ import annotations

import colorsys

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from figures.draw import outline, rgb_image
from figures.style import DIV, HIGHLIGHT, KERNEL, PAD_FILL, SEQ, square, symmetric_range


def map_figure(
    z,
    title,
    colorscale=SEQ,
    zmin=None,
    zmax=None,
    window=None,
    cell=None,
    colorbar_title="",
    text_fmt=None,
    height=420,
) -> go.Figure:
    """A heatmap with a colour bar; optional dashed ``window`` and solid ``cell`` outlines.

    window / cell: (y0, x0, y1, x1) in map pixels (half-open).
    """
    z = np.asarray(z)
    if zmin is None and zmax is None and colorscale == DIV:
        zmax = symmetric_range(z)
        zmin = -zmax
    hm = go.Heatmap(
        z=z,
        colorscale=colorscale,
        zmin=zmin,
        zmax=zmax,
        colorbar=dict(title=colorbar_title, thickness=12),
        hovertemplate="row %{y}, col %{x}: %{z:.4g}<extra></extra>",
    )
    if text_fmt:
        hm.update(
            text=np.vectorize(lambda v: format(v, text_fmt))(z),
            texttemplate="%{text}",
            textfont=dict(size=11),
        )
    fig = go.Figure(hm)
    if window is not None:
        outline(fig, *window, dash="dash")
    if cell is not None:
        outline(fig, *cell, color=HIGHLIGHT)
    fig.update_layout(title=title)
    return square(fig, height=height)


def grid_figure(
    maps,
    titles,
    cols=4,
    colorscale=DIV,
    zmax=None,
    height_per_row=170,
    colorbar_title="",
    scales=None,
) -> go.Figure:
    """Small multiples sharing one colour scale (symmetric for DIV) and one colour bar.

    ``scales[i]`` stretches map i by that factor (e.g. 2 for an input map shown next to its ×2
    outputs), so every panel covers the same area.
    """
    n = len(maps)
    rows = max(1, -(-n // cols))
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=titles,
        horizontal_spacing=0.02,
        vertical_spacing=0.08 if rows > 1 else 0.02,
    )
    if zmax is None:
        zmax = symmetric_range(*maps)
    zmin = -zmax if colorscale == DIV else 0.0
    for i, m in enumerate(maps):
        f = (scales or [1] * n)[i]
        fig.add_trace(
            go.Heatmap(
                z=m,
                x0=(f - 1) / 2,
                dx=f,
                y0=(f - 1) / 2,
                dy=f,
                colorscale=colorscale,
                zmin=zmin,
                zmax=zmax,
                showscale=(i == 0),
                colorbar=dict(title=colorbar_title, thickness=12),
                hovertemplate="%{z:.3g}<extra></extra>",
            ),
            row=i // cols + 1,
            col=i % cols + 1,
        )
        axis = "" if i == 0 else str(i + 1)
        fig.update_yaxes(scaleanchor=f"x{axis}", row=i // cols + 1, col=i % cols + 1)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, autorange="reversed")
    fig.update_layout(height=rows * height_per_row + 40, margin=dict(l=5, r=5, t=30, b=5))
    fig.update_annotations(font_size=12)
    return fig


def direction_rgb(dy, dx, vmax) -> np.ndarray:
    """Hue = direction of (dy, dx), brightness = length / vmax (HSV colour wheel)."""
    ang = (np.arctan2(-dy, dx) / (2 * np.pi)) % 1.0
    mag = np.clip(np.hypot(dy, dx) / (vmax or 1.0), 0, 1)
    hsv = np.stack([ang, np.full_like(ang, 0.85), mag], axis=-1).reshape(-1, 3)
    rgb = np.array([colorsys.hsv_to_rgb(*v) for v in hsv]).reshape(*dy.shape, 3)
    return (rgb * 255).round().astype(np.uint8)


def offset_figure(
    dy, dx, title, background=None, max_arrows=8, height=420, vmax: float | None = None
) -> go.Figure:
    """Centre-of-mass offsets: direction colours over the (grey) image, plus a few arrows.

    ``background``: optional (H, W) grey image in [0, 1] blended under the colours, so the
    colours can be read against the objects. Arrows sit on a coarse grid (at most
    ``max_arrows`` per side) and only where the lean is clear (over half the 99th
    percentile), so the map stays readable. ``vmax``: the lean (input pixels) drawn at full
    brightness, for one absolute scale across several maps; default this map's 99th percentile.
    """
    h, w = dy.shape
    length = np.hypot(dy, dx)
    if vmax is None:
        vmax = float(np.percentile(length, 99))
    vmax = float(vmax) or 1e-6
    rgb = direction_rgb(dy, dx, vmax).astype(np.float32)
    if background is not None:
        rgb = 0.55 * rgb + 0.45 * 255 * background[..., None]
    fig = go.Figure(rgb_image(rgb.round().astype(np.uint8)))
    step = max(1, -(-max(h, w) // max_arrows))
    ys, xs = np.mgrid[step // 2 : h : step, step // 2 : w : step]
    clear = length[ys, xs] > vmax / 2
    ys, xs = ys[clear], xs[clear]
    ady, adx = dy[ys, xs], dx[ys, xs]
    scale = 0.9 * step / vmax
    lx, ly = [], []
    for y0, x0, vy, vx in zip(ys, xs, ady, adx, strict=True):
        lx += [x0, x0 + vx * scale, None]
        ly += [y0, y0 + vy * scale, None]
    fig.add_trace(
        go.Scatter(
            x=lx,
            y=ly,
            mode="lines",
            line=dict(color="white", width=2.5),
            hoverinfo="skip",
            showlegend=False,
        )
    )
    fig.add_trace(
        go.Scatter(
            x=xs + adx * scale,
            y=ys + ady * scale,
            mode="markers",
            marker=dict(size=9, color="white", symbol="circle"),
            showlegend=False,
            customdata=np.stack([ady, adx], axis=1),
            hovertemplate="dy %{customdata[0]:.2f}, dx %{customdata[1]:.2f}<extra></extra>",
        )
    )
    fig.update_layout(title=title)
    square(fig, height=height)
    fig.update_xaxes(range=[-0.5, w - 0.5], autorange=False, showticklabels=False)
    fig.update_yaxes(range=[h - 0.5, -0.5], autorange=False, showticklabels=False)
    return fig


def wheel_legend(size=64) -> np.ndarray:
    """A small colour wheel (RGBA, transparent outside the disc, so no white box in dark mode)
    explaining :func:`direction_rgb`: right = +dx, up = −dy."""
    yy, xx = np.mgrid[-1 : 1 : size * 1j, -1 : 1 : size * 1j]
    rgb = direction_rgb(yy, xx, 1.0)
    alpha = np.where(np.hypot(yy, xx) > 1, 0, 255).astype(np.uint8)
    return np.dstack([rgb, alpha])


#: Region colours of :func:`region_figure`: zero padding's grey, the highlight red, a pale fill.
REGION_COLOURS = (PAD_FILL, HIGHLIGHT, "rgba(200,200,200,0.15)")


def region_figure(labels, names, title, colours=REGION_COLOURS, height=300) -> go.Figure:
    """A map of labelled regions (labels 0..n-1 named ``names``) in flat colours, with a legend.

    Each region is one heatmap trace (NaN elsewhere), so the legend names them and a hover
    says which region a pixel belongs to.
    """
    labels = np.asarray(labels)
    fig = go.Figure()
    for i, name in enumerate(names):
        z = np.where(labels == i, 1.0, np.nan)
        colour = colours[i % len(colours)]
        fig.add_trace(
            go.Heatmap(
                z=z,
                colorscale=[[0, colour], [1, colour]],
                showscale=False,
                name=name,
                showlegend=True,
                hovertemplate=f"row %{{y}}, col %{{x}}: {name}<extra></extra>",
            )
        )
    fig.update_layout(title=title, legend=dict(orientation="h", y=-0.05))
    return square(fig, height=height)


def kernel_statistics_figures(
    details, group: int, background, suffix: str = "", height=380, lean_max: float | None = None
):
    """The three maps of one step's kernels (``details``: a CarafeDetails), one group:
    entropy (0 to log k², uniform), peak weight (0 to 1) and lean (centre-of-mass offsets over
    the grey ``background``). ``suffix`` ends every title (e.g. ", step 200"); ``lean_max``:
    the lean drawn at full brightness (default: the map's own 99th percentile)."""
    k = details.up_kernel
    entropy = map_figure(
        details.entropy[group],
        f"Entropy (nats){suffix}",
        zmin=0,
        zmax=float(np.log(k * k)),
        colorbar_title="nats",
        height=height,
    )
    peak = map_figure(
        details.peak[group],
        f"Peak weight{suffix}",
        colorscale=KERNEL,
        zmin=0,
        zmax=1,
        colorbar_title="weight",
        height=height,
    )
    lean = offset_figure(
        details.com_dy[group],
        details.com_dx[group],
        f"Centre-of-mass offset (lean){suffix}",
        background=background,
        height=height,
        vmax=lean_max,
    )
    return entropy, peak, lean
