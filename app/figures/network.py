"""The whole network: the diagram of the loaded model (its top-down steps clickable), one image
point's kernels at every step on one colour scale, the windows they cover on the image (a click
picture, exact at every pixel: :mod:`figures.click_image`) and DySample's sampling points at
every step."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from figures.click_image import ClickCanvas, finish, frame, zoomed_base
from figures.draw import number_text
from figures.style import HIGHLIGHT, KERNEL, PAD_FILL, SELECT

#: One colour per top-down step, coarsest first (cycled for deeper pyramids).
STEP_COLOURS = ("#ff9100", SELECT, HIGHLIGHT, "#76ff03", "#d500f9")
BOX_LINE = "#8a8a8a"
BOX_FILL = "rgba(128,128,128,0.10)"
UNUSED_LINE = "#b0b0b0"  # an output that is computed but feeds nothing: dotted, faded
STEP_FILL = "rgba(255,145,0,0.12)"

# diagram columns (x, in data units) and the half size of a box
_COLUMNS = {"backbone": 0.0, "lateral": 1.5, "top-down": 3.0, "output conv": 4.5, "FPN out": 6.0}
_HEAD_X = 7.6
_BOX_W, _BOX_H = 0.62, 0.34
_ROW = 2.0  # data units between two pyramid levels


@dataclass(frozen=True)
class StepMark:
    """What :func:`trace_image_figure` draws for one step on the image: the output pixel under
    the point (``output_box``), and either the window its CARAFE kernel covers (``window_box``)
    or DySample's sampling points (``points``, (G, 2) x, y, moved from ``start`` (x, y)); boxes
    in image pixels [y0, y1) × [x0, x1)."""

    name: str  # "P5→P4"
    position: int  # the step's position in Analysis.steps: its colour
    output_box: tuple[int, int, int, int]
    window_box: tuple[int, int, int, int] | None = None
    points: np.ndarray | None = None
    start: tuple[float, float] | None = None

    @classmethod
    def of_kernel(cls, traced) -> StepMark:
        """The mark of a :class:`carafe.inspect.network.trace.TracedKernel`."""
        return cls(traced.name, traced.position, traced.view.output_box, traced.view.window_box)

    @classmethod
    def of_sampling(cls, traced) -> StepMark:
        """The mark of a :class:`carafe.inspect.network.trace.TracedSampling`."""
        return cls(
            traced.name,
            traced.position,
            traced.output_box,
            points=traced.points_px,
            start=traced.start_px,
        )


def step_colour(position: int) -> str:
    """The colour of top-down step ``position`` in every figure of the page."""
    return STEP_COLOURS[position % len(STEP_COLOURS)]


# Shapes and annotations are collected as dicts and set once: plotly's add_shape and
# add_annotation copy the whole layout on every call (~20 ms each, seconds for a diagram).
def _cells(y0, x0, y1, x1, xref="x", yref="y", **style) -> dict:
    """A rectangle around pixel cells [y0, y1) × [x0, x1) (cell centres at integers, as
    :func:`figures.draw.outline`), as a layout shape dict."""
    return dict(
        type="rect",
        x0=x0 - 0.5,
        x1=x1 - 0.5,
        y0=y0 - 0.5,
        y1=y1 - 0.5,
        xref=xref,
        yref=yref,
        **style,
    )


def _pad_cells(y0, x0, y1, x1, xref="x", yref="y") -> dict:
    """Grey cells: zero padding (the look of :func:`figures.draw.pad_area`)."""
    return _cells(y0, x0, y1, x1, xref, yref, line=dict(width=0), fillcolor=PAD_FILL, layer="above")


def _box(x, y, w=_BOX_W, h=_BOX_H, line=BOX_LINE, fill=BOX_FILL, width=1, dash="solid") -> dict:
    return dict(
        type="rect",
        x0=x - w,
        x1=x + w,
        y0=y - h,
        y1=y + h,
        line=dict(color=line, width=width, dash=dash),
        fillcolor=fill,
        layer="below",
    )


def _text(x, y, text, size=11, **kw) -> dict:
    return dict(x=x, y=y, text=text, showarrow=False, font=dict(size=size), **kw)


def _arrow(x0, y0, x1, y1, colour=BOX_LINE) -> dict:
    return dict(
        x=x1,
        y=y1,
        ax=x0,
        ay=y0,
        xref="x",
        yref="y",
        axref="x",
        ayref="y",
        text="",
        showarrow=True,
        arrowhead=2,
        arrowsize=1,
        arrowwidth=1.2,
        arrowcolor=colour,
    )


def _hw(hw) -> str:
    return "?" if hw is None else f"{hw[0]}×{hw[1]}"


def diagram_figure(diagram, selected: int, kind_name) -> go.Figure:
    """The network from ``diagram`` (:class:`carafe.inspect.network.diagram.NetworkDiagram`), finest
    level at the bottom. The top-down step boxes are points of one scatter trace (customdata:
    the step's position) so a click selects them; ``selected`` is outlined in its colour.
    ``kind_name`` turns an upsampler kind into its display name."""
    shapes, notes = [], []

    def box(x, y, text, **kw):
        shapes.append(_box(x, y, **kw))
        if text:
            notes.append(_text(x, y, text))

    col = _COLUMNS
    unused = diagram.unused_levels  # the head reads one level: the others' outputs idle
    ys = {p.level: _ROW * p.level for p in diagram.pyramid}
    backbone = {b.level: b for b in diagram.backbone_levels}
    bottom = -_ROW
    # the image and the backbone column
    image_text = "image"
    if diagram.image_hw is not None:
        image_text = f"image {_hw(diagram.image_hw)}"
        if diagram.padded_hw != diagram.image_hw:
            image_text += f"<br>padded to {_hw(diagram.padded_hw)}"
    box(col["backbone"], bottom, image_text)
    previous = bottom
    for b in diagram.backbone_levels:
        y = ys.get(b.level, _ROW * b.level)
        box(col["backbone"], y, f"<b>{b.name}</b> · {b.channels} ch<br>stride {b.stride}")
        notes.append(_arrow(col["backbone"], previous + _BOX_H, col["backbone"], y - _BOX_H))
        previous = y
    # laterals, top-down nodes, output convs, outputs
    for p in diagram.pyramid:
        y = ys[p.level]
        lateral = p.lateral.label.replace(" conv ", " conv<br>") if p.lateral else "identity"
        box(col["lateral"], y, lateral)
        if p.level in backbone:
            notes.append(_arrow(col["backbone"] + _BOX_W, y, col["lateral"] - _BOX_W, y))
        else:  # an extra level reads the map below it (a strided conv)
            notes.append(_arrow(col["lateral"], y - _ROW + _BOX_H, col["lateral"], y - _BOX_H))
        summed = any(s.target_level == p.level for s in diagram.steps)
        node = "lateral + upsampled" if summed else "lateral"
        box(col["top-down"], y, f"<b>{p.name}</b> {node}<br>{_hw(p.map_hw)}")
        notes.append(_arrow(col["lateral"] + _BOX_W, y, col["top-down"] - _BOX_W, y))
        out_conv = p.output_conv.label.replace(" conv ", " conv<br>") if p.output_conv else "–"
        out_text = f"<b>{p.name}</b> · {p.channels} ch<br>{_hw(p.map_hw)}"
        idle = dict(line=UNUSED_LINE, fill="rgba(0,0,0,0)", dash="dot") if p in unused else {}
        if idle:  # computed, but nothing reads it: say so on the box itself
            out_conv = f"<span style='color:{UNUSED_LINE}'>{out_conv}</span>"
            out_text = f"<span style='color:{UNUSED_LINE}'>{out_text}<br>feeds nothing</span>"
        box(col["output conv"], y, out_conv, **idle)
        arrow = UNUSED_LINE if idle else BOX_LINE
        notes.append(_arrow(col["top-down"] + _BOX_W, y, col["output conv"] - _BOX_W, y, arrow))
        box(col["FPN out"], y, out_text, **idle)
        notes.append(_arrow(col["output conv"] + _BOX_W, y, col["FPN out"] - _BOX_W, y, arrow))
    # the top-down steps, between their two levels
    xs, yy, texts, hovers = [], [], [], []
    x = col["top-down"]
    for s in diagram.steps:
        y = (ys[s.source_level] + ys[s.target_level]) / 2
        chosen = s.position == selected
        box(
            x,
            y,
            "",
            w=_BOX_W + 0.12,
            h=_BOX_H + 0.1,
            line=step_colour(s.position) if chosen else BOX_LINE,
            fill=STEP_FILL if chosen else BOX_FILL,
            width=3 if chosen else 1,
        )
        notes.append(_arrow(x, ys[s.source_level] - _BOX_H, x, y + _BOX_H + 0.1))
        notes.append(_arrow(x, y - _BOX_H - 0.1, x, ys[s.target_level] + _BOX_H))
        xs.append(x)
        yy.append(y)
        texts.append(
            f"<b>{s.name}</b> ×{s.scale} {kind_name(s.kind)}<br>{_hw(s.input_hw)} → "
            f"{_hw(s.output_hw)}"
        )
        hovers.append(f"{s.label}: {s.module}({s.settings}), {s.parameters:,} parameters")
    top = max(ys.values(), default=0.0) + _ROW * 0.55
    if diagram.head is not None:
        y0 = ys.get(diagram.head.level, 0.0)
        layers = "<br>".join(diagram.head.layers)
        box(
            _HEAD_X,
            y0,
            f"<b>head</b><br>{layers}<br>→ {diagram.head.num_classes} classes",
            w=0.85,
            h=0.2 + 0.16 * (len(diagram.head.layers) + 2),
        )
        notes.append(_arrow(col["FPN out"] + _BOX_W, y0, _HEAD_X - 0.85, y0))
    headers = dict(col, **({"head": _HEAD_X} if diagram.head is not None else {}))
    for name, hx in headers.items():
        label = f"backbone ({diagram.backbone})" if name == "backbone" else name
        notes.append(_text(hx, top, f"<i>{label}</i>", size=12))
    fig = go.Figure(
        go.Scatter(
            x=xs,
            y=yy,
            mode="markers+text",
            text=texts,
            textposition="middle center",
            textfont=dict(size=11),
            marker=dict(size=48, symbol="square", color="rgba(255,255,255,0.01)"),
            customdata=[s.position for s in diagram.steps],
            hovertext=hovers,
            hovertemplate="%{hovertext}<br>click to select this step<extra></extra>",
            showlegend=False,
            name="steps",
        )
    )
    right = _HEAD_X + 1.0 if diagram.head is not None else col["FPN out"] + 0.8
    fig.update_xaxes(visible=False, range=[-0.8, right], fixedrange=True)
    fig.update_yaxes(visible=False, range=[bottom - 0.6, top + 0.4], fixedrange=True)
    fig.update_layout(
        title="The network, read from the loaded model",
        shapes=shapes,
        annotations=notes,
        height=int(120 + 72 * (top - bottom)),
        margin=dict(l=10, r=10, t=40, b=10),
        plot_bgcolor="rgba(0,0,0,0)",
        dragmode=False,
        clickmode="event+select",
    )
    return fig


def _row_layout(n: int, gap: float = 0.06) -> tuple[dict, list[tuple[str, str]]]:
    """Axes for ``n`` panels side by side (what make_subplots does, without its cost) and
    each panel's (xref, yref)."""
    width = (1 - gap * (n - 1)) / n
    layout, refs = {}, []
    for i in range(n):
        suffix = str(i + 1) if i else ""
        x0 = i * (width + gap)
        layout[f"xaxis{suffix}"] = dict(domain=[x0, x0 + width], anchor=f"y{suffix}")
        layout[f"yaxis{suffix}"] = dict(anchor=f"x{suffix}", scaleanchor=f"x{suffix}")
        refs.append((f"x{suffix}", f"y{suffix}"))
    return layout, refs


def _panel_title(refs, i: int, text: str) -> dict:
    """A panel's title above its axes (like make_subplots' subplot titles)."""
    return dict(
        x=0.5,
        y=1.0,
        xref=f"{refs[i][0]} domain",
        yref=f"{refs[i][1]} domain",
        yanchor="bottom",
        text=text,
        showarrow=False,
        font=dict(size=12),
    )


def trace_kernels_figure(traced, selected: int, height: int = 430) -> go.Figure:
    """The traced kernels (:class:`carafe.inspect.network.trace.TracedKernel`) side by side, one
    heatmap each, on ONE colour scale from 0 to the largest weight of all of them, each titled
    with its step, output and source pixel, strides, entropy, peak and padding weight."""
    layout, refs = _row_layout(len(traced))
    zmax = max((float(t.view.kernel.max()) for t in traced), default=1.0) or 1.0
    traces, shapes, notes = [], [], []
    for i, t in enumerate(traced):
        v = t.view
        k = v.kernel.shape[0]
        r = (k - 1) // 2
        xref, yref = refs[i]
        text = number_text(v.kernel, ".2f")
        if v.outside.any():
            text = np.where(v.outside, np.char.add(text, "<br>pad"), text)
        traces.append(
            go.Heatmap(
                z=v.kernel,
                coloraxis="coloraxis",
                text=text,
                texttemplate="%{text}",
                textfont=dict(size=10 if k <= 5 else 8),
                customdata=np.stack(np.mgrid[-r : r + 1, -r : r + 1], axis=-1),
                hovertemplate=f"{t.name}: dy %{{customdata[0]}}, dx %{{customdata[1]}}: "
                "%{z:.4f}<extra></extra>",
                name=t.name,
                xaxis=xref,
                yaxis=yref,
            )
        )
        shapes += [
            _pad_cells(a, b, a + 1, b + 1, xref, yref)
            for a, b in zip(*np.nonzero(v.outside), strict=True)
        ]
        mark = " (selected)" if t.position == selected else ""
        notes.append(
            _panel_title(
                refs,
                i,
                f"<b>{t.name}</b>{mark}<br>output ({v.y}, {v.x}) ← source ({v.source[0]}, "
                f"{v.source[1]}), stride {t.stride_in}→{t.stride_out}<br>entropy "
                f"{v.entropy:.2f} · peak {v.peak:.2f} · padding {v.padding_weight:.2f}",
            )
        )
        ticks = dict(
            tickvals=list(range(k)),
            ticktext=[f"{d:+d}" if d else "0" for d in range(-r, r + 1)],
            showgrid=False,
            zeroline=False,
        )
        layout[f"xaxis{xref[1:]}"].update(ticks, title="dx")
        layout[f"yaxis{yref[1:]}"].update(ticks, autorange="reversed", constrain="domain")
    layout["yaxis"]["title"] = "dy"
    return go.Figure(  # one constructor: plotly validates the layout once
        traces,
        layout=dict(
            title="The same image point at every step",
            coloraxis=dict(colorscale=KERNEL, cmin=0.0, cmax=zmax, colorbar=dict(title="weight")),
            shapes=shapes,
            annotations=notes,
            height=height,
            margin=dict(l=10, r=10, t=115, b=10),
            plot_bgcolor="rgba(0,0,0,0)",
            **layout,
        ),
    )


def _moves(start, points, colour: str, **axes) -> go.Scatter:
    """Thin lines from ``start`` to every point: how far each sampling point moved."""
    xs, ys = [], []
    for px, py in np.asarray(points, np.float64):
        xs += [float(start[0]), float(px), None]  # None breaks the line between segments
        ys += [float(start[1]), float(py), None]
    return go.Scatter(
        x=xs,
        y=ys,
        mode="lines",
        line=dict(color=colour, width=1),
        hoverinfo="skip",
        showlegend=False,
        **axes,
    )


def _rgb(colour: str) -> tuple[int, int, int]:
    """A "#rrggbb" colour as an RGB tuple."""
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))


def _reach_past(marks: list[StepMark], hw: tuple[int, int]) -> int:
    """How many image pixels the marks' windows (and points) reach past the image, at most."""
    h, w = hw
    reach = 0
    for m in marks:
        if m.window_box is not None:
            y0, x0, y1, x1 = m.window_box
            reach = max(reach, -y0, -x0, y1 - h, x1 - w)
        if m.points is not None and len(m.points):
            pts = np.asarray(m.points, np.float64)
            reach = max(
                reach, int(np.ceil(max(-pts.min(), pts[:, 0].max() - w, pts[:, 1].max() - h)))
            )
    return int(reach)


def trace_canvas(image, marks: list[StepMark], point) -> ClickCanvas:
    """The clickable picture of the traced point (the same exact click picture as Explore's):
    per step, in its colour, the output pixel under the point (solid) and either the window
    its kernel reads (dashed) or DySample's sampling points (squares); the point itself a
    white-on-black cross. Coarsest step drawn first, so finer marks lie on top; grey beyond
    the image wherever a window reaches past it."""
    h, w = image.shape[:2]
    margin = _reach_past(marks, (h, w))
    canvas, zoom, up = zoomed_base(np.asarray(image, np.uint8), margin)
    line = 2 * max(1, up)

    def scaled(box):
        return tuple((v + margin) * up for v in box)

    for m in sorted(marks, key=lambda m: m.position):
        colour = _rgb(step_colour(m.position))
        if m.window_box is not None:
            frame(canvas, scaled(m.window_box), (colour,), line, dash=4 * line)
        y0, x0, y1, x1 = scaled(m.output_box)
        frame(canvas, (y0 - line, x0 - line, y1 + line, x1 + line), (colour,), line)
        for px, py in np.asarray(m.points if m.points is not None else [], np.float64):
            cy, cx = int((py + 0.5 + margin) * up), int((px + 0.5 + margin) * up)
            r = 2 * line
            canvas[max(cy - r - 1, 0) : cy + r + 2, max(cx - r - 1, 0) : cx + r + 2] = 0
            canvas[max(cy - r, 0) : cy + r + 1, max(cx - r, 0) : cx + r + 1] = colour
    cy, cx = ((v + margin) * up + up // 2 for v in point)
    arm = 5 * line
    for colour, half in (((0, 0, 0), line), ((255, 255, 255), max(1, line // 2))):
        canvas[max(cy - arm, 0) : cy + arm + 1, max(cx - half, 0) : cx + half + 1] = colour
        canvas[max(cy - half, 0) : cy + half + 1, max(cx - arm, 0) : cx + arm + 1] = colour
    return finish(canvas, (h, w), margin, zoom)


def legend_html(marks: list[StepMark]) -> str:
    """One coloured swatch and name per step, for the line under :func:`trace_canvas`."""
    return " ".join(
        f'<span style="color:{step_colour(m.position)}">■</span> {m.name}'
        for m in sorted(marks, key=lambda m: m.position)
    )


def sampling_figure(traced, selected: int, height: int = 380) -> go.Figure:
    """DySample's points at every step (:class:`carafe.inspect.network.trace.TracedSampling`), each
    on its own input map around the source pixel (map pixels; cell centres at integers): the
    start (hollow) where bilinear samples and the learned points (filled), one per group."""
    layout, refs = _row_layout(len(traced))
    traces, shapes, notes = [], [], []
    for i, t in enumerate(traced):
        colour = step_colour(t.position)
        xref, yref = refs[i]
        sy, sx = t.view.source
        pts = np.asarray(t.view.points)
        shapes.append(_cells(sy, sx, sy + 1, sx + 1, xref, yref, line=dict(color=colour, width=2)))
        traces += [
            _moves(t.view.start, pts, colour, xaxis=xref, yaxis=yref),
            go.Scatter(
                x=pts[:, 0],
                y=pts[:, 1],
                mode="markers+text",
                text=[f"g{g}" for g in range(len(pts))],
                textposition="top center",
                marker=dict(color=colour, size=9, line=dict(color="black", width=1)),
                hovertemplate="group %{text}: row %{y:.2f}, col %{x:.2f}<extra></extra>",
                showlegend=False,
                xaxis=xref,
                yaxis=yref,
            ),
            go.Scatter(
                x=[t.view.start[0]],
                y=[t.view.start[1]],
                mode="markers",
                marker=dict(color="rgba(0,0,0,0)", size=11, line=dict(color=colour, width=2)),
                hovertemplate="start (bilinear): row %{y:.2f}, col %{x:.2f}<extra></extra>",
                showlegend=False,
                xaxis=xref,
                yaxis=yref,
            ),
        ]
        lo_x = min(sx - 1.5, float(pts[:, 0].min()) - 0.5)
        hi_x = max(sx + 1.5, float(pts[:, 0].max()) + 0.5)
        lo_y = min(sy - 1.5, float(pts[:, 1].min()) - 0.5)
        hi_y = max(sy + 1.5, float(pts[:, 1].max()) + 0.5)
        grid = dict(showgrid=True, dtick=1, tick0=0.5, gridcolor="rgba(128,128,128,0.35)")
        layout[f"xaxis{xref[1:]}"].update(grid, range=[lo_x, hi_x], title="col (map px)")
        layout[f"yaxis{yref[1:]}"].update(grid, range=[hi_y, lo_y])
        mark = " (selected)" if t.position == selected else ""
        notes.append(
            _panel_title(
                refs,
                i,
                f"<b>{t.name}</b>{mark}<br>output ({t.pixel[0]}, {t.pixel[1]}) ← source "
                f"({sy}, {sx}), 1 map px = {t.stride_in} image px",
            )
        )
    layout["yaxis"]["title"] = "row (map px)"
    return go.Figure(
        traces,
        layout=dict(
            title="Where the same image point samples at every step",
            shapes=shapes,
            annotations=notes,
            height=height,
            margin=dict(l=10, r=10, t=110, b=10),
            **layout,
        ),
    )
