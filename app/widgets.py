"""Pieces several pages show the same way: the kernel metric row (Explore, Watch CARAFE learn),
the channel picker sorted by energy (Explore, Compare, How it works), and the guard for a step
without a kernel upsampler (one wording on every page). Streamlit over carafe.inspect records;
no maths beyond formatting.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
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


def _kernel_metric_cells(view) -> list[tuple[str, str, str]]:
    """(label, value, help) of the four numbers drawn under a kernel."""
    k = view.kernel.shape[0]
    return [
        (
            "Entropy",
            f"{view.entropy:.3f}",
            f"In nats. 0 = all weight on one tap; log({k * k}) = {np.log(k * k):.3f} = uniform.",
        ),
        ("Peak weight", f"{view.peak:.3f}", f"Uniform would be {1 / k**2:.3f}."),
        (
            "Lean dy",
            draw.number_text([view.lean[0]], "+.2f")[0],
            "Centre of mass of the kernel, rows from the window centre (+ = down).",
        ),
        (
            "Lean dx",
            draw.number_text([view.lean[1]], "+.2f")[0],
            "Centre of mass of the kernel, columns from the window centre (+ = right).",
        ),
    ]


def kernel_metrics(view) -> None:
    """Entropy, peak weight and lean (dy, dx) of one kernel (a :class:`KernelView`), as a row
    of four metrics."""
    for column, (label, value, note) in zip(st.columns(4), _kernel_metric_cells(view), strict=True):
        column.metric(label, value, help=note)


def kernel_metrics_grid(view) -> None:
    """The four numbers of :func:`kernel_metrics` as two rows of two, for a narrow column
    (four in a row cut their labels short there: "Peak wei…")."""
    cells = _kernel_metric_cells(view)
    for row in (cells[:2], cells[2:]):
        for column, (label, value, note) in zip(st.columns(2), row, strict=True):
            column.metric(label, value, help=note)


def table(data, key: str, column_config: dict | None = None) -> None:
    """A :class:`carafe.inspect.catalog.Table` (rows and column order) as a full-width data
    frame without its index."""
    st.dataframe(
        pd.DataFrame(data.rows, columns=data.columns),
        hide_index=True,
        width="stretch",
        column_config=column_config,
        key=key,
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
