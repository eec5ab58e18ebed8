"""Kernels: one k×k kernel with its numbers, and CARAFE's kernel beside bilinear's and nearest's
on the same window."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from figures.draw import number_text, pad_area
from figures.style import DIV, KERNEL, numbers_fit, square, symmetric_range


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
    width=None,
) -> go.Figure:
    """A k×k kernel, square cells, with its numbers on the cells when they fit (always on
    hover); offsets from the centre on the axes.

    ``zmax``: top of the colour bar (None: the kernel's own maximum). ``outside``: (k, k) bool,
    taps that read zero padding: greyed, their number kept, labelled "pad". ``width``: the CSS
    width the figure is shown at (a narrow column: G kernels side by side); None assumes the
    plot can be as wide as it is tall.
    """
    kernel = np.asarray(kernel)
    k = kernel.shape[0]
    r = (k - 1) // 2
    if fmt == "auto":  # short labels that still show the size of the numbers
        m = float(np.abs(kernel).max())
        fmt = ".1f" if m >= 10 else ".2f" if m >= 1 else ".3f" if m >= 0.01 else ".1e"
    ticks = [f"{d:+d}" if d else "0" for d in range(-r, r + 1)]
    if colorscale == DIV:
        zmax = symmetric_range(kernel)
        zmin = -zmax
    elif zmin is not None and zmax is None:  # plotly mis-colours a half-open range
        zmax = max(float(kernel.max()), zmin + 1e-9)
    text = number_text(kernel, fmt)
    if outside is not None:
        text = np.where(outside, np.char.add(text, "<br>pad"), text)
    font = 12 if k <= 5 else 9
    side = min(height - 110, (width or height) - 130)  # the square plot: minus title, axes, bar
    show = numbers_fit(side / k, fmt, font)  # else the numbers would overlap: hover only
    fig = go.Figure(
        go.Heatmap(
            z=kernel,
            x=ticks,
            y=ticks,
            colorscale=colorscale,
            zmin=zmin,
            zmax=zmax,
            text=text,
            texttemplate="%{text}" if show else "",
            textfont=dict(size=font),
            colorbar=dict(title=colorbar_title, thickness=12),
            hovertemplate="dy %{y}, dx %{x}: %{text}<extra></extra>",
        )
    )
    if outside is not None:
        for i, j in zip(*np.nonzero(outside), strict=True):
            pad_area(fig, int(i), int(j), int(i) + 1, int(j) + 1)
    fig.update_layout(title=title)
    fig.update_xaxes(title="dx (input pixels)", type="category")
    fig.update_yaxes(title="dy", type="category")
    return square(fig, height=height)


GAP = 1  # empty columns between two kernels


def comparison_figure(cmp, class_names) -> go.Figure:
    """The three kernels side by side as ONE heatmap with empty columns between them.

    One trace and one pair of axes instead of three subplots: Streamlit redraws this figure
    from scratch on every click, and in the browser each subplot's axes and canvas cost time.
    """
    k = cmp.methods[0].kernel.shape[0]
    r = (k - 1) // 2
    n = len(cmp.methods)
    width = n * k + (n - 1) * GAP
    z = np.full((k, width), np.nan)
    text = np.full((k, width), "", dtype=object)
    hover = np.full((k, width), "", dtype=object)
    dy, dx = np.mgrid[-r : r + 1, -r : r + 1]
    tickvals, ticktext = [], []
    for i, m in enumerate(cmp.methods):
        c0 = i * (k + GAP)
        cells = np.s_[:, c0 : c0 + k]
        z[cells] = m.kernel
        labels = number_text(m.kernel, ".2f")
        if cmp.window_labels is not None:
            mark = np.where(cmp.window_labels == cmp.own_label, "", "<br>other")
            labels = np.char.add(labels, np.where(cmp.window_labels < 0, "<br>pad", mark))
        text[cells] = labels
        hover[cells] = np.char.add(
            np.char.add(f"{m.display_name}: dy ", dy.astype(str)),
            np.char.add(", dx ", dx.astype(str)),
        )
        tickvals += list(range(c0, c0 + k))
        ticktext += [f"{d:+d}" if d else "0" for d in range(-r, r + 1)]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            zmin=0.0,
            zmax=1.0,
            colorscale=KERNEL,
            text=text,
            texttemplate="%{text}",
            textfont=dict(size=10),
            customdata=hover,
            colorbar=dict(title="weight", thickness=12),
            hovertemplate="%{customdata}: %{z:.4f}<extra></extra>",
            hoverongaps=False,
        )
    )
    for i, m in enumerate(cmp.methods):
        fig.add_annotation(
            x=i * (k + GAP) + r, y=-0.5, yanchor="bottom", text=m.display_name, showarrow=False
        )
    fig.update_xaxes(
        tickvals=tickvals, ticktext=ticktext, title_text="dx", showgrid=False, zeroline=False
    )
    fig.update_yaxes(
        tickvals=list(range(k)),
        ticktext=[f"{d:+d}" if d else "0" for d in range(-r, r + 1)],
        title_text="dy",
        autorange="reversed",
        showgrid=False,
        zeroline=False,
        scaleanchor="x",
    )
    fig.update_layout(height=330, margin=dict(l=10, r=10, t=50, b=10), plot_bgcolor="rgba(0,0,0,0)")
    return fig
