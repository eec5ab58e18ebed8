"""Small drawing pieces the figure modules share: images as data URIs, cell outlines, padding
patches and numbers written on cells."""

from __future__ import annotations

import base64
import io

import numpy as np
import plotly.graph_objects as go
from PIL import Image

from figures.style import PAD_FILL, SELECT


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


def outline(fig, y0, x0, y1, x1, color=SELECT, dash=None, width=2, row=None, col=None):
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


def pad_area(fig, y0, x0, y1, x1, row=None, col=None) -> None:
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
