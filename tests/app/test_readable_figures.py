"""Readable figures: square kernel cells, numbers on the cells only where they fit (always on
hover), and log axes labelled in full ("1e-3", "1e-2"), never bare mantissas."""

from __future__ import annotations

import numpy as np
import pytest
from figures.kernels import kernel_figure
from figures.style import log_ticks, numbers_fit
from figures.train_tiny import block_figure, loss_figure


@pytest.mark.parametrize(
    "values, want",
    [
        ([0.0031, 0.0123], ["5e-3", "7e-3", "1e-2"]),
        ([2e-4, 0.3], ["1e-3", "1e-2", "1e-1"]),
        ([1.42, 7.9, 140], ["2", "5", "10", "20", "50", "100"]),
        ([0.0101, 0.0109], ["0.0101", "0.0109"]),  # too narrow for 1-2-5: its own ends
    ],
)
def test_log_ticks_are_labelled_in_full(values, want):
    ticks, text = log_ticks(values)
    assert text == want
    for tick, label in zip(ticks, text, strict=True):
        assert float(label) == pytest.approx(tick, rel=5e-3)  # the whole value
        assert min(values) / 1.001 <= tick <= max(values) * 1.001


def test_log_ticks_ignore_zero_and_nan():
    assert log_ticks([0.0, np.nan, -1.0]) == ([], [])
    assert log_ticks([0.0, np.nan, 1e-3, 1e-1]) == log_ticks([1e-3, 1e-1])


def test_the_tiny_loss_axis_has_readable_ticks():
    steps = np.arange(100)
    loss = {"carafe": 0.02 * np.exp(-steps / 30) + 0.003, "bilinear": np.full(100, 0.009)}
    held = {"carafe": loss["carafe"][::10], "bilinear": loss["bilinear"][::10]}
    fig = loss_figure(steps, loss, steps[::10], held, {"carafe": "CARAFE", "bilinear": "Bilinear"})
    axis = fig.layout.yaxis
    assert axis.type == "log"
    assert list(axis.ticktext) == ["5e-3", "1e-2", "2e-2"]  # losses 0.003 to 0.023
    assert all(
        float(t) == pytest.approx(v) for t, v in zip(axis.ticktext, axis.tickvals, strict=True)
    )


def test_kernel_cells_are_square_and_numbers_only_where_they_fit():
    kernel = np.random.default_rng(0).dirichlet(np.ones(25)).reshape(5, 5)
    wide = kernel_figure(kernel, "one kernel", height=380)
    assert wide.layout.yaxis.scaleanchor == "x"  # square cells
    assert wide.data[0].texttemplate == "%{text}"  # 5×5 at 380 px: the numbers fit
    narrow = kernel_figure(kernel, "group 1 of 4", height=320, width=250)  # a quarter column
    assert narrow.data[0].texttemplate == ""  # they would overlap: dropped...
    assert "%{text}" in narrow.data[0].hovertemplate  # ...and shown on hover
    assert list(narrow.data[0].text[0]) == [f"{v:.3f}" for v in kernel[0]]
    assert numbers_fit(40, ".3f", 12) and not numbers_fit(30, ".3f", 12)


@pytest.mark.parametrize("s, k", [(2, 5), (4, 5), (2, 3)])
def test_the_block_figure_draws_square_kernels_with_their_weights(s, k):
    block = np.random.default_rng(1).dirichlet(np.ones(k * k), size=(s, s)).reshape(s, s, k, k)
    fig = block_figure(block, (1, 0), "block")
    assert len(fig.data) == s * s
    for n, trace in enumerate(fig.data):
        suffix = str(n + 1) if n else ""
        assert fig.layout[f"yaxis{suffix}"].scaleanchor == f"x{suffix}"  # square, not bars
        assert trace.texttemplate == "%{text}"
        a, b = divmod(n, s)
        assert trace.text[0][0] == f"{block[a, b, 0, 0]:.2f}"
        assert "%{z:.4f}" in trace.hovertemplate
    assert fig.layout.height == s * (k * (34 if s <= 2 else 26) + 40) + 70
