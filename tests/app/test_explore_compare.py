"""Explore's "same pixel, three ways" panel: CARAFE's kernel beside bilinear's and nearest's."""

from __future__ import annotations

import numpy as np
import pytest

from tests.app.conftest import assert_no_exception, open_app


def _parse_table(markdown: str):
    """The markdown table the panel writes, as a DataFrame of floats (a dash is NaN)."""
    import pandas as pd

    lines = [line.strip().strip("|").split("|") for line in markdown.strip().splitlines()]
    head = [h.strip() for h in lines[0]]
    rows = [[c.strip() for c in line] for line in lines[2:]]
    frame = pd.DataFrame(rows, columns=head)
    for column in head[1:]:
        frame[column] = pd.to_numeric(frame[column].replace("–", "nan"))
    return frame


def test_three_kernels_and_their_numbers(reference):
    from carafe.inspect.kernel_compare import compare_pixel

    analysis, step = reference
    at = open_app()
    at.run()
    assert_no_exception(at)
    oy, ox = 21, 30
    at.number_input(key="explore_px_y").set_value(oy).run()
    at.number_input(key="explore_px_x").set_value(ox).run()
    assert not at.exception, [e.value for e in at.exception]
    channel = int(at.selectbox(key="explore_channel").value)
    tables = [m.value for m in at.markdown if "| weight on own object |" in m.value]
    assert len(tables) == 1
    table = _parse_table(tables[0]).set_index("method")
    assert list(table.index) == ["CARAFE", "Bilinear", "Nearest"]
    expected = compare_pixel(step, oy, ox, channel, analysis.segmentation)
    for m in expected.methods:
        row = table.loc[m.display_name]
        assert row["weight on own object"] == pytest.approx(m.own_share, abs=1e-3)
        assert row["weight on zero padding"] == pytest.approx(m.padding_weight, abs=1e-3)
        assert row[f"output value (channel {channel})"] == pytest.approx(m.value, abs=1e-4)
    # The values are the model's CARAFE output and the interpolations of the same input map.
    assert table.loc["CARAFE", f"output value (channel {channel})"] == pytest.approx(
        float(step.output[channel, oy, ox]), abs=1e-4
    )
    assert table.loc["Bilinear", f"output value (channel {channel})"] == pytest.approx(
        float(step.outputs["bilinear"][channel, oy, ox]), abs=1e-4
    )
    assert any("three ways" in h.value for h in at.subheader)
    assert not np.isnan(table["weight on own object"]).any()
