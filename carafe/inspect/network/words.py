"""The whole-network page's sentences: how the kernels traced through every step compare, and
how far DySample's points moved, every number read from the traced records
(:mod:`carafe.inspect.network.trace`). No Streamlit, no drawing.
"""

from __future__ import annotations

import numpy as np

from carafe.inspect.network.trace import TracedKernel, TracedSampling
from carafe.inspect.pixel import PADDING_NOTE

__all__ = [
    "OFFSET_CONVENTION",
    "SAME_ENTROPY",
    "SAME_MOVE",
    "notice_lines",
    "offset_rows_cols",
    "sampling_caption",
    "trace_caption",
    "unused_outputs_line",
]

#: Entropies (nats) closer than this count as "about equally concentrated".
SAME_ENTROPY = 0.05
#: Sampling points that move less than this much apart (image px) move "about equally far".
SAME_MOVE = 0.5


#: How DySample's moves are written on every page (Explore too): rows first, like pixels.
OFFSET_CONVENTION = "(rows, cols): down and right positive"


def offset_rows_cols(offset) -> tuple[float, float]:
    """A move stored (dx, dy), as the pages write it: (rows, cols) = (dy, dx)."""
    dx, dy = (float(v) for v in offset)
    return dy, dx


def _listing(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def trace_caption(traced: list[TracedKernel]) -> str:
    """A few sentences comparing the traced kernels, every number read from ``traced``: how
    far each window reaches on the image, which kernel is most concentrated, how far each
    reads on average and (when it matters) how much weight lands on zero padding."""
    if not traced:
        return "This model has no CARAFE step, so there are no kernels to compare."
    k = traced[0].view.kernel.shape[0]
    reach = _listing(
        [f"{t.name} {t.window_px}×{t.window_px} (stride {t.stride_in})" for t in traced]
    )
    parts = [f"The {k}×{k} windows cover {reach} image pixels"]
    widest = max(traced, key=lambda t: t.window_px)
    narrowest = min(traced, key=lambda t: t.window_px)
    if widest.window_px > narrowest.window_px:
        ratio = widest.window_px / narrowest.window_px
        parts[0] += (
            f": the same taps reach {ratio:g}× further at {widest.name} than at {narrowest.name}, "
            "because each tap there is a coarser map pixel."
        )
    else:
        parts[0] += "."
    entropies = [t.view.entropy for t in traced]
    if len(traced) > 1 and max(entropies) - min(entropies) < SAME_ENTROPY:
        parts.append(
            f"The kernels are about equally concentrated (entropy {min(entropies):.2f}–"
            f"{max(entropies):.2f} nats, uniform would be {traced[0].max_entropy:.2f})."
        )
    elif len(traced) > 1:
        sharp = min(traced, key=lambda t: t.view.entropy)
        flat = max(traced, key=lambda t: t.view.entropy)
        parts.append(
            f"{sharp.name}'s kernel is the most concentrated (entropy {sharp.view.entropy:.2f} "
            f"nats, peak {sharp.view.peak:.2f}); {flat.name}'s the most spread (entropy "
            f"{flat.view.entropy:.2f} of at most {flat.max_entropy:.2f}, peak {flat.view.peak:.2f})."
        )
    else:
        t = traced[0]
        parts.append(
            f"Its entropy is {t.view.entropy:.2f} nats (uniform would be {t.max_entropy:.2f}), "
            f"peak {t.view.peak:.2f}."
        )
    parts.append(
        "Weighted by its kernel, the point reads on average "
        + _listing([f"{t.spread_px:.0f} image px away at {t.name}" for t in traced])
        + "."
    )
    padded = [t for t in traced if t.view.padding_weight >= PADDING_NOTE]
    if padded:
        parts.append(
            "Weight on zero padding (the window passes the image border): "
            + _listing([f"{t.view.padding_weight:.1%} at {t.name}" for t in padded])
            + "."
        )
    return " ".join(parts)


def sampling_caption(traced: list[TracedSampling]) -> str:
    """How far the sampling points moved at each step, in input-map and image pixels, and at
    which step they moved furthest on the image, every number read from ``traced``."""
    if not traced:
        return "This model has no DySample step, so there are no sampling points to compare."
    moves = [
        f"{np.hypot(*t.view.offsets.T).mean():.2f} map px = {t.mean_move_px:.1f} image px "
        f"at {t.name}"
        for t in traced
    ]
    text = (
        "On average the points moved from where bilinear interpolation samples by "
        + _listing(moves)
        + "."
    )
    if len(traced) > 1:
        far = max(traced, key=lambda t: t.mean_move_px)
        near = min(traced, key=lambda t: t.mean_move_px)
        if far.mean_move_px - near.mean_move_px < SAME_MOVE:
            text += " On the image they move about equally far at every step."
        else:
            text += (
                f" On the image they move furthest at {far.name} and least at {near.name}: "
                "one map pixel there spans more image pixels."
                if far.stride_in > near.stride_in
                else f" On the image they move furthest at {far.name} and least at {near.name}."
            )
    return text


def unused_outputs_line(diagram) -> str | None:
    """The sentence saying which FPN outputs feed nothing (the head reads one level only), or
    None when every drawn output is used (no head: a detection neck hands all of them on)."""
    unused = diagram.unused_levels
    if not unused:
        return None
    head = next(p.name for p in diagram.pyramid if p.level == diagram.head.level)
    names = _listing([p.name for p in unused])
    return (
        f"Only {head} feeds the head: the output convs of {names} are computed but feed "
        "nothing (drawn dotted)."
    )


def notice_lines(traced: list[TracedKernel], sampled: list[TracedSampling], diagram) -> list[str]:
    """At most three short lines of what to notice, each computed from this image's trace:
    how far the same kernel reaches at each step, which kernel is most concentrated (or how
    far DySample's points move), and which outputs feed nothing."""
    lines = []
    if traced:
        k = traced[0].view.kernel.shape[0]
        wide = max(traced, key=lambda t: t.window_px)
        narrow = min(traced, key=lambda t: t.window_px)
        if wide.window_px > narrow.window_px:
            lines.append(
                f"The same {k}×{k} kernel reads {wide.window_px}×{wide.window_px} image px at "
                f"{wide.name} but {narrow.window_px}×{narrow.window_px} at {narrow.name}."
            )
        else:
            lines.append(f"Every {k}×{k} window covers {wide.window_px}×{wide.window_px} image px.")
        entropies = [t.view.entropy for t in traced]
        top = traced[0].max_entropy
        if len(traced) > 1 and max(entropies) - min(entropies) >= SAME_ENTROPY:
            sharp = min(traced, key=lambda t: t.view.entropy)
            flat = max(traced, key=lambda t: t.view.entropy)
            lines.append(
                f"At this point {sharp.name}'s kernel is the most concentrated (entropy "
                f"{sharp.view.entropy:.2f} nats), {flat.name}'s the most spread "
                f"({flat.view.entropy:.2f}; uniform: {top:.2f})."
            )
        else:
            lines.append(
                f"At this point the kernels are about equally concentrated (entropy "
                f"{min(entropies):.2f}–{max(entropies):.2f} nats; uniform: {top:.2f})."
            )
    elif sampled:
        far = max(sampled, key=lambda t: t.mean_move_px)
        near = min(sampled, key=lambda t: t.mean_move_px)
        if len(sampled) > 1 and far.mean_move_px - near.mean_move_px >= SAME_MOVE:
            lines.append(
                f"DySample's points move furthest on the image at {far.name} "
                f"({far.mean_move_px:.1f} image px), least at {near.name} "
                f"({near.mean_move_px:.1f})."
            )
        else:
            lines.append(
                f"DySample's points move about {far.mean_move_px:.1f} image px at every step."
            )
    unused = unused_outputs_line(diagram)
    if unused:
        lines.append(unused)
    return lines[:3]
