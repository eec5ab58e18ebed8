"""The look shared by every figure: colour scales, highlight colours, the symmetric range of
signed maps, the square layout of image-like plots and the PNG button.

Image coordinates everywhere: x = column, y = row, row 0 at the top.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from carafe.inspect.catalog import kind_colour, upsampler_kinds

SEQ = "Viridis"  # plain maps
DIV = "RdBu_r"  # signed maps / differences (blue < 0 < red)
KERNEL = "Plasma"  # kernel weights (Magma's #000004 end renders wrongly in plotly.js)
PROFILE_SCALE = (
    "Cividis"  # the Sandbox's maps: one sequential scale, readable with colour-blindness
)


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
HIGHLIGHT = "#ff1744"  # the selected output pixel, the selected tap, the profile line
PAD_FILL = "rgba(128,128,128,0.55)"  # zero padding (outside the image or the map)
PAD_TEXT = "#f5f5f5"
BAR_POSITIVE, BAR_NEGATIVE = "#d6604d", "#4393c3"  # bars: red >= 0 > blue, as DIV


class _KindColours(Mapping):
    """Each upsampler kind's colour, read from the registry (plug-in kinds included); names
    that are not kinds (controls, references) are grey."""

    def __getitem__(self, kind: str) -> str:
        return kind_colour(kind)

    def __iter__(self):
        return iter(upsampler_kinds())

    def __len__(self) -> int:
        return len(upsampler_kinds())


METHOD_COLOURS = _KindColours()
CONTROL_COLOUR = "#7f7f7f"  # a content-blind control (CARAFE's kernels moved elsewhere)


def symmetric_range(*arrays) -> float:
    """The largest |value| over ``arrays``, NaNs ignored (1.0 when all are zero): a diverging
    scale centred on 0 runs from minus this to plus this."""
    return float(max((np.nanmax(np.abs(np.asarray(a))) for a in arrays), default=0.0)) or 1.0


def png_config(filename: str) -> dict:
    """Plotly config: the camera button downloads a 2× PNG named ``filename``."""
    return {
        "displaylogo": False,
        "toImageButtonOptions": {"format": "png", "filename": filename, "scale": 2},
    }


def class_colour(i: int) -> str:
    r, g, b = PALETTE[i % len(PALETTE)]
    return f"rgb({r},{g},{b})"


def square(fig, height=None, **kw):
    fig.update_layout(margin=dict(l=10, r=10, t=40, b=10), height=height, **kw)
    fig.update_yaxes(
        autorange="reversed", scaleanchor="x", constrain="domain", showgrid=False, zeroline=False
    )
    fig.update_xaxes(constrain="domain", showgrid=False, zeroline=False)
    return fig


def _tick_text(v: float, scientific: bool) -> str:
    """A log tick's label: "2e-3" when ``scientific``, else plain ("0.02", "5", "100")."""
    if not scientific:
        return f"{v:g}"
    mantissa, exponent = f"{v:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def log_ticks(values) -> tuple[list[float], list[str]]:
    """Readable ticks for a log axis over ``values`` (non-positive and NaN ignored): every
    decade when the data spans three or more, else 1, 2, 5 per decade; each tick labelled in
    full, one style per axis ("1e-3", "1e-2" or "0.02", "5"), never plotly's bare mantissas ("3, 2, 0.01, 9, 8")."""
    v = np.asarray(values, np.float64).ravel()
    v = v[np.isfinite(v) & (v > 0)]
    if not v.size:
        return [], []
    lo, hi = float(v.min()), float(v.max())
    e0, e1 = int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi)))
    ticks: list[float] = []
    for mantissas in (
        ((1,), (1, 2, 5), (1, 2, 3, 5, 7)) if e1 - e0 >= 3 else ((1, 2, 5), (1, 2, 3, 5, 7))
    ):
        ticks = [
            float(f"{m}e{e}")
            for e in range(e0, e1 + 1)
            for m in mantissas
            if lo / 1.0001 <= m * 10.0**e <= hi * 1.0001
        ]
        if len(ticks) >= 3:
            break
    if len(ticks) < 2:  # a narrow range: its own ends, labelled with three digits
        ends = sorted({lo, hi})
        return ends, [f"{v:.3g}" for v in ends]
    scientific = ticks[0] < 1e-2 or ticks[-1] >= 1e4  # one style on the whole axis
    return ticks, [_tick_text(t, scientific) for t in ticks]


def readable_log_axis(fig, values, axis: str = "y", **kw):
    """Make ``fig``'s x or y axis logarithmic with :func:`log_ticks` over ``values``."""
    tickvals, ticktext = log_ticks(values)
    update = fig.update_yaxes if axis == "y" else fig.update_xaxes
    update(type="log", tickvals=tickvals, ticktext=ticktext, **kw)
    return fig


def numbers_fit(cell_px: float, fmt: str, font_px: float) -> bool:
    """Whether a number written with ``fmt`` ("0.123" for ".3f") fits in a cell of
    ``cell_px`` CSS pixels at ``font_px`` (digits about 0.6 em wide, 4 px of room)."""
    chars = len(format(0.123456, fmt))
    return cell_px >= chars * 0.6 * font_px + 4
