"""Plotly figure builders: take plain arrays from carafe.inspect, return figures. No maths.

Every figure has a colour bar (or a legend), equal axis scaling and a PNG button in its mode
bar (``PLOTLY_CONFIG``). Image coordinates: x = column, y = row, row 0 at the top.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import plotly.graph_objects as go
from PIL import Image

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
PAD_FILL = "rgba(128,128,128,0.55)"  # zero padding (outside the image or the map)
PAD_TEXT = "#f5f5f5"


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


def _click_trace(step, rows, cols, size: int, name: str) -> go.Scatter:
    cy, cx = step.geometry.image_centre(rows, cols)
    return go.Scatter(
        x=np.asarray(cx, np.float32),
        y=np.asarray(cy, np.float32),
        mode="markers",
        marker=dict(size=size, color="rgba(255,255,255,0.01)", symbol="square"),
        customdata=np.stack([rows, cols], axis=1).astype(np.int16),
        hovertemplate="output pixel (%{customdata[0]}, %{customdata[1]})<extra></extra>",
        showlegend=False,
        name=name,
    )


def image_figure(image, step, view, seg=None, alpha=0.45, title="") -> go.Figure:
    """The image (with segmentation) plus invisible click targets (see :func:`click_targets`).

    ``view`` is the selected pixel's :class:`carafe.inspect.KernelView`: its output pixel is
    outlined in red and its k×k source window dashed, both in image pixels. Where the window
    reaches past the image, the axes grow to show it and the part outside the image is
    greyed and labelled "zero padding".
    """
    h, w = image.shape[:2]
    fig = go.Figure(
        rgb_image(
            overlay(image, seg, alpha),
            fmt="JPEG" if image.shape[0] * image.shape[1] > 128**2 else "PNG",
        )
    )
    oh, ow = step.visible_output_hw()
    (gy, gx, sub), (fy, fx) = click_targets((oh, ow), (view.y, view.x))
    cell = max(2, 600 // max(oh, ow))  # one output pixel, in screen pixels (about)
    fig.add_trace(_click_trace(step, gy, gx, max(4, cell * sub), "grid"))
    fig.add_trace(_click_trace(step, fy, fx, max(4, cell), "pixels"))  # on top: wins near it
    wy0, wx0, wy1, wx1 = view.window_box
    y0, x0, y1, x1 = min(0, wy0), min(0, wx0), max(h, wy1), max(w, wx1)
    if (y0, x0, y1, x1) != (0, 0, h, w):  # the window reaches past the image
        for box in ((y0, x0, 0, x1), (h, x0, y1, x1), (0, x0, h, 0), (0, w, h, x1)):
            if box[2] > box[0] and box[3] > box[1]:
                _pad_area(fig, *box)
        fig.add_annotation(
            x=(wx0 + wx1) / 2 - 0.5,
            y=wy1 - 0.5 if wy1 > h else wy0 - 0.5,
            text="zero padding",
            showarrow=False,
            yanchor="top" if wy1 > h else "bottom",
            font=dict(color="white", size=12),
            bgcolor="rgba(70,70,70,0.85)",
        )
    _rect(fig, wy0, wx0, wy1, wx1, dash="dash")
    _rect(fig, *view.output_box, color="#ff1744", width=2)
    fig.update_layout(title=title)
    span_h, span_w = y1 - y0, x1 - x0
    _square(fig, height=int(np.clip(50 + 540 * span_h / span_w, 200, 560)))
    fig.update_xaxes(range=[x0 - 0.5, x1 - 0.5], autorange=False, showticklabels=False)
    fig.update_yaxes(range=[y1 - 0.5, y0 - 0.5], autorange=False, showticklabels=False)
    return fig


def _pad_area(fig, y0, x0, y1, x1, row=None, col=None) -> None:
    """Grey cells [y0, y1) × [x0, x1): zero padding outside the image or map."""
    fig.add_shape(
        type="rect",
        x0=x0 - 0.5,
        x1=x1 - 0.5,
        y0=y0 - 0.5,
        y1=y1 - 0.5,
        line=dict(width=0),
        fillcolor=PAD_FILL,
        layer="above",
        name="zero padding",
        row=row,
        col=col,
    )


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


def number_text(values, fmt: str) -> np.ndarray:
    """Cell labels: ``format`` without a misleading "-0.00" (tiny negatives print as 0)."""

    def one(v):
        text = format(v, fmt)
        if text.startswith("-") and float(text) == 0:  # a tiny negative rounded to zero
            return ("+" if "+" in fmt else "") + text[1:]
        return text

    values = np.asarray(values)
    if fmt.endswith("d"):  # integers (e.g. channel numbers): never a negative zero
        return np.vectorize(lambda v: format(v, fmt))(values.astype(np.int64))
    return np.vectorize(one, otypes=[object])(values.astype(np.float64)).astype(str)


def kernel_figure(
    kernel,
    title,
    fmt=".3f",
    colorscale=KERNEL,
    zmin=0.0,
    zmax=None,
    colorbar_title="weight",
    height=380,
    outside=None,
) -> go.Figure:
    """A k×k kernel with its numbers on the cells; offsets from the centre on the axes.

    ``zmax``: top of the colour bar (None: the kernel's own maximum). ``outside``: (k, k) bool,
    taps that read zero padding: greyed, their number kept, labelled "pad".
    """
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
    text = number_text(kernel, fmt)
    if outside is not None:
        text = np.where(outside, np.char.add(text, "<br>pad"), text)
    fig = go.Figure(
        go.Heatmap(
            z=kernel,
            x=ticks,
            y=ticks,
            colorscale=colorscale,
            zmin=zmin,
            zmax=zmax,
            text=text,
            texttemplate="%{text}",
            textfont=dict(size=12 if k <= 5 else 9),
            colorbar=dict(title=colorbar_title, thickness=12),
            hovertemplate="dy %{y}, dx %{x}: %{z:.5f}<extra></extra>",
        )
    )
    if outside is not None:
        for i, j in zip(*np.nonzero(outside), strict=True):
            _pad_area(fig, int(i), int(j), int(i) + 1, int(j) + 1)
    fig.update_layout(title=title)
    fig.update_xaxes(title="dx (input pixels)", type="category")
    fig.update_yaxes(title="dy", type="category")
    return _square(fig, height=height)
