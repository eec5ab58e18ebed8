"""Plotly figure builders: take plain arrays from carafe.inspect, return figures. No maths.

Every figure has a colour bar (or a legend), equal axis scaling and a PNG button in its mode
bar (``PLOTLY_CONFIG``). Image coordinates: x = column, y = row, row 0 at the top.
"""

from __future__ import annotations

import base64
import colorsys
import io

import numpy as np
import plotly.graph_objects as go
from PIL import Image
from plotly.subplots import make_subplots

SEQ = "Viridis"  # plain maps
DIV = "RdBu_r"  # signed maps / differences (blue < 0 < red)
KERNEL = "Plasma"  # kernel weights (Magma's #000004 end renders wrongly in plotly.js)
#: Segmentation colours (class 0 = background is left unpainted).
PALETTE = np.array(
    [
        [0, 0, 0],
        [230, 25, 75],
        [60, 180, 75],
        [0, 130, 200],
        [255, 225, 25],
        [145, 30, 180],
        [70, 240, 240],
        [240, 50, 230],
        [210, 245, 60],
        [250, 190, 212],
    ],
    np.uint8,
)
SELECT = "#00e5ff"  # selected pixel / window outline (visible on light and dark)


def image_uri(rgb: np.ndarray, fmt: str = "PNG") -> str:
    """An RGB array as a data URI: go.Image(source=...) sends far less than z=[[...]].

    PNG is lossless (feature maps, small images); JPEG (quality 90) keeps a 512×512 photo
    at ~60 kB instead of ~700 kB, which keeps a click → redraw fast.
    """
    buf = io.BytesIO()
    img = Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8))
    if fmt == "JPEG":
        img.save(buf, format="JPEG", quality=90)
    else:
        img.save(buf, format="PNG", compress_level=1)
    return f"data:image/{fmt.lower()};base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def rgb_image(rgb: np.ndarray, fmt: str = "PNG", **kw) -> go.Image:
    """go.Image from an (H, W, 3) uint8 array; pixel centres at integer coordinates."""
    return go.Image(source=image_uri(rgb, fmt), x0=0, y0=0, dx=1, dy=1, hoverinfo="skip", **kw)


def png_config(filename: str) -> dict:
    """Plotly config: the camera button downloads a 2× PNG named ``filename``."""
    return {
        "displaylogo": False,
        "toImageButtonOptions": {"format": "png", "filename": filename, "scale": 2},
    }


def class_colour(i: int) -> str:
    r, g, b = PALETTE[i % len(PALETTE)]
    return f"rgb({r},{g},{b})"


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


def _square(fig, height=None, **kw):
    fig.update_layout(margin=dict(l=10, r=10, t=40, b=10), height=height, **kw)
    fig.update_yaxes(
        autorange="reversed", scaleanchor="x", constrain="domain", showgrid=False, zeroline=False
    )
    fig.update_xaxes(constrain="domain", showgrid=False, zeroline=False)
    return fig


def _rect(fig, y0, x0, y1, x1, color=SELECT, dash=None, width=2, row=None, col=None):
    """Rectangle around pixel cells [y0, y1) × [x0, x1) (cell centres at integers)."""
    fig.add_shape(
        type="rect",
        x0=x0 - 0.5,
        x1=x1 - 0.5,
        y0=y0 - 0.5,
        y1=y1 - 0.5,
        line=dict(color=color, width=width, dash=dash),
        row=row,
        col=col,
    )


def image_figure(
    image, step, sel, up_kernel, seg=None, alpha=0.45, title="", max_grid=64
) -> go.Figure:
    """The image (with segmentation) plus an invisible click target per output pixel.

    ``sel`` = (oy, ox) output pixel of ``step``; its cell is outlined, and so is the k×k source
    window of the input map (dashed), both in image pixels.
    """
    h, w = image.shape[:2]
    so, si = step.stride_out, step.stride_in
    fig = go.Figure(
        rgb_image(
            overlay(image, seg, alpha),
            fmt="JPEG" if image.shape[0] * image.shape[1] > 128**2 else "PNG",
        )
    )
    oh = min(step.output.shape[-2], -(-h // so))
    ow = min(step.output.shape[-1], -(-w // so))
    sub = max(1, -(-max(oh, ow) // max_grid))
    gy, gx = np.mgrid[0:oh:sub, 0:ow:sub]
    fig.add_trace(
        go.Scatter(
            x=((gx.ravel() + 0.5) * so - 0.5).astype(np.float32),
            y=((gy.ravel() + 0.5) * so - 0.5).astype(np.float32),
            mode="markers",
            marker=dict(
                size=max(4, 600 // max(oh, ow) * sub),
                color="rgba(255,255,255,0.01)",
                symbol="square",
            ),
            customdata=np.stack([gy.ravel(), gx.ravel()], axis=1).astype(np.int16),
            hovertemplate="output pixel (%{customdata[0]}, %{customdata[1]})<extra></extra>",
            showlegend=False,
            name="pixels",
        )
    )
    oy, ox = sel
    r = (up_kernel - 1) // 2
    sy, sx = oy // step.scale, ox // step.scale
    _rect(fig, (sy - r) * si, (sx - r) * si, (sy + r + 1) * si, (sx + r + 1) * si, dash="dash")
    _rect(fig, oy * so, ox * so, (oy + 1) * so, (ox + 1) * so, color="#ff1744", width=2)
    fig.update_layout(title=title)
    _square(fig, height=520)
    fig.update_xaxes(range=[-0.5, w - 0.5], autorange=False, showticklabels=False)
    fig.update_yaxes(range=[h - 0.5, -0.5], autorange=False, showticklabels=False)
    return fig


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
        m = float(np.nanmax(np.abs(z))) or 1.0
        zmin, zmax = -m, m
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
        _rect(fig, *window, dash="dash")
    if cell is not None:
        _rect(fig, *cell, color="#ff1744")
    fig.update_layout(title=title)
    return _square(fig, height=height)


def kernel_figure(
    kernel,
    title,
    fmt=".3f",
    colorscale=KERNEL,
    zmin=0.0,
    zmax=None,
    colorbar_title="weight",
    height=380,
) -> go.Figure:
    """A k×k kernel with its numbers on the cells; offsets from the centre on the axes."""
    kernel = np.asarray(kernel)
    k = kernel.shape[0]
    r = (k - 1) // 2
    if fmt == "auto":  # short labels that still show the size of the numbers
        m = float(np.abs(kernel).max())
        fmt = ".1f" if m >= 10 else ".2f" if m >= 1 else ".3f" if m >= 0.01 else ".1e"
    ticks = [f"{d:+d}" if d else "0" for d in range(-r, r + 1)]
    if colorscale == DIV:
        m = float(np.abs(kernel).max()) or 1.0
        zmin, zmax = -m, m
    elif zmin is not None and zmax is None:  # plotly mis-colours a half-open range
        zmax = max(float(kernel.max()), zmin + 1e-9)
    fig = go.Figure(
        go.Heatmap(
            z=kernel,
            x=ticks,
            y=ticks,
            colorscale=colorscale,
            zmin=zmin,
            zmax=zmax,
            text=np.vectorize(lambda v: format(v, fmt))(kernel),
            texttemplate="%{text}",
            textfont=dict(size=12 if k <= 5 else 9),
            colorbar=dict(title=colorbar_title, thickness=12),
            hovertemplate="dy %{y}, dx %{x}: %{z:.5f}<extra></extra>",
        )
    )
    fig.update_layout(title=title)
    fig.update_xaxes(title="dx (input pixels)", type="category")
    fig.update_yaxes(title="dy", type="category")
    return _square(fig, height=height)


def direction_rgb(dy, dx, vmax) -> np.ndarray:
    """Hue = direction of (dy, dx), brightness = length / vmax (HSV colour wheel)."""
    ang = (np.arctan2(-dy, dx) / (2 * np.pi)) % 1.0
    mag = np.clip(np.hypot(dy, dx) / (vmax or 1.0), 0, 1)
    hsv = np.stack([ang, np.full_like(ang, 0.85), mag], axis=-1).reshape(-1, 3)
    rgb = np.array([colorsys.hsv_to_rgb(*v) for v in hsv]).reshape(*dy.shape, 3)
    return (rgb * 255).round().astype(np.uint8)


def map_background(image: np.ndarray, out_hw, stride: int) -> np.ndarray:
    """The image as a grey (H_out, W_out) map in [0, 1] aligned with an output map of ``stride``
    (the maps cover the zero-padded input, so the part past the image stays black)."""
    oh, ow = int(out_hw[0]), int(out_hw[1])
    h, w = -(-image.shape[0] // stride), -(-image.shape[1] // stride)
    grey = Image.fromarray(image).convert("L").resize((w, h), Image.Resampling.BILINEAR)
    out = np.zeros((oh, ow), np.float32)
    g = np.asarray(grey, np.float32)[:oh, :ow] / 255.0
    out[: g.shape[0], : g.shape[1]] = g
    return out


def offset_figure(dy, dx, title, background=None, max_arrows=16, height=420) -> go.Figure:
    """Centre-of-mass offsets: direction colours over the (grey) image, plus arrows.

    ``background``: optional (H, W) grey image in [0, 1] blended under the colours, so the
    arrows can be read against the objects.
    """
    h, w = dy.shape
    vmax = float(np.percentile(np.hypot(dy, dx), 99)) or 1e-6
    rgb = direction_rgb(dy, dx, vmax).astype(np.float32)
    if background is not None:
        rgb = 0.55 * rgb + 0.45 * 255 * background[..., None]
    fig = go.Figure(rgb_image(rgb.round().astype(np.uint8)))
    step = max(1, -(-max(h, w) // max_arrows))
    ys, xs = np.mgrid[step // 2 : h : step, step // 2 : w : step]
    ady, adx = dy[ys, xs], dx[ys, xs]
    scale = 0.9 * step / vmax
    lx, ly = [], []
    for y0, x0, vy, vx in zip(ys.ravel(), xs.ravel(), ady.ravel(), adx.ravel(), strict=True):
        lx += [x0, x0 + vx * scale, None]
        ly += [y0, y0 + vy * scale, None]
    fig.add_trace(
        go.Scatter(
            x=lx,
            y=ly,
            mode="lines",
            line=dict(color="white", width=1.2),
            hoverinfo="skip",
            showlegend=False,
        )
    )
    fig.add_trace(
        go.Scatter(
            x=(xs + adx * scale).ravel(),
            y=(ys + ady * scale).ravel(),
            mode="markers",
            marker=dict(size=4, color="white"),
            showlegend=False,
            customdata=np.stack([ady.ravel(), adx.ravel()], axis=1),
            hovertemplate="dy %{customdata[0]:.2f}, dx %{customdata[1]:.2f}<extra></extra>",
        )
    )
    fig.update_layout(title=title)
    _square(fig, height=height)
    fig.update_xaxes(range=[-0.5, w - 0.5], autorange=False, showticklabels=False)
    fig.update_yaxes(range=[h - 0.5, -0.5], autorange=False, showticklabels=False)
    return fig


def wheel_legend(size=64) -> np.ndarray:
    """A small colour wheel image explaining :func:`direction_rgb` (right = +dx, up = −dy)."""
    yy, xx = np.mgrid[-1 : 1 : size * 1j, -1 : 1 : size * 1j]
    rgb = direction_rgb(yy, xx, 1.0)
    rgb[np.hypot(yy, xx) > 1] = 255
    return rgb


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
        zmax = float(max(np.abs(m).max() for m in maps)) or 1.0
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


def bar_figure(values, title, xlabel="channel", height=260) -> go.Figure:
    """A vector (e.g. the features of one pixel) as bars, blue < 0 < red."""
    values = np.asarray(values, dtype=np.float64)
    colours = np.where(values >= 0, "#d6604d", "#4393c3")
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
