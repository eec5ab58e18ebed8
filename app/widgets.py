"""Pieces several pages show the same way: the kernel metric row (Explore, Watch CARAFE learn),
the channel picker sorted by energy (Explore, Compare, How it works), and the guard for a step
without a kernel upsampler (one wording on every page). Streamlit over carafe.inspect records;
no maths beyond formatting.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
from figures import draw

from carafe.inspect.catalog import display_name

#: How many of a step's channels the pickers offer, most energetic first.
CHANNELS_SHOWN = 32


def channel_choices(step) -> list[int]:
    """The channels a picker offers for ``step``: its most energetic ones, in energy order."""
    return [int(c) for c in step.channel_order[:CHANNELS_SHOWN]]


def channel_picker(
    step, key: str, label: str = "Feature channel (sorted by energy)", where=st
) -> int:
    """A select box of :func:`channel_choices` (``where``: st or a column)."""
    return where.selectbox(
        label, channel_choices(step), key=key, format_func=lambda c: f"channel {c}"
    )


def kernel_metrics(view) -> None:
    """Entropy, peak weight and lean (dy, dx) of one kernel (a :class:`KernelView`), as a row
    of four metrics."""
    k = view.kernel.shape[0]
    entropy, peak, lean_dy, lean_dx = st.columns(4)
    entropy.metric(
        "Entropy",
        f"{view.entropy:.3f}",
        help=f"In nats. 0 = all weight on one tap; log({k * k}) = {np.log(k * k):.3f} = uniform.",
    )
    peak.metric("Peak weight", f"{view.peak:.3f}", help=f"Uniform would be {1 / k**2:.3f}.")
    lean_dy.metric(
        "Lean dy",
        draw.number_text([view.lean[0]], "+.2f")[0],
        help="Centre of mass of the kernel, rows from the window centre (+ = down).",
    )
    lean_dx.metric(
        "Lean dx",
        draw.number_text([view.lean[1]], "+.2f")[0],
        help="Centre of mass of the kernel, columns from the window centre (+ = right).",
    )


def kernel_metrics_grid(view) -> None:
    """The four numbers of :func:`kernel_metrics` as two rows of two, for a narrow column
    (four in a row cut their labels short there: "Peak wei…")."""
    k = view.kernel.shape[0]
    first, second = st.columns(2)
    first.metric(
        "Entropy",
        f"{view.entropy:.3f}",
        help=f"In nats. 0 = all weight on one tap; log({k * k}) = {np.log(k * k):.3f} = uniform.",
    )
    second.metric("Peak weight", f"{view.peak:.3f}", help=f"Uniform would be {1 / k**2:.3f}.")
    third, fourth = st.columns(2)
    third.metric(
        "Lean dy",
        draw.number_text([view.lean[0]], "+.2f")[0],
        help="Centre of mass of the kernel, rows from the window centre (+ = down).",
    )
    fourth.metric(
        "Lean dx",
        draw.number_text([view.lean[1]], "+.2f")[0],
        help="Centre of mass of the kernel, columns from the window centre (+ = right).",
    )


def no_kernels_note(step) -> str:
    """What a page says where its step has no kernel upsampler."""
    return (
        f"This step upsamples with **{display_name(step.kind)}**, which predicts no kernels: "
        "this needs a kernel upsampler (CARAFE, FADE or SAPA) at this step. Pick one of those "
        "checkpoints in the sidebar."
    )


def require_compressor(step):
    """The step's CARAFE details with its channel compressor and content encoder; for another
    kind (or none), says what this page needs and stops the page."""
    details = require_kernels(step)
    if details.compressed is None:
        st.info(
            f"This page follows CARAFE's own kernel prediction (its channel compressor and "
            f"content encoder). **{display_name(step.kind)}** predicts its kernels another way "
            "(see Explore's kernel family tab): pick the CARAFE checkpoint in the sidebar."
        )
        st.stop()
    return details


def require_kernels(step):
    """The step's CARAFE details; without them, says so (:func:`no_kernels_note`) and stops
    the page."""
    if step.carafe is None:
        st.info(no_kernels_note(step))
        st.stop()
    return step.carafe
