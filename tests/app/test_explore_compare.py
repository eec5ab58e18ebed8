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
    from carafe.inspect.imageio import sample_scene
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
    # own object = the scene's true masks (never the model's predicted classes)
    true_masks = sample_scene(at.session_state["sample"])[1]
    expected = compare_pixel(step, oy, ox, channel, true_masks)
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
    assert any("three ways" in t.label for t in at.tabs)
    assert not np.isnan(table["weight on own object"]).any()


def test_explore_opens_with_the_picture_and_words_the_rest_from_its_numbers(astronaut_page):
    """The photo has flat windows: the flat-region, border-ring and entropy sentences shown
    are the ones worded from this image's measures (their both-way tests: tests/inspect)."""
    from carafe.inspect.habits import (
        border_habit,
        border_sentence,
        entropy_sentence,
        flat_habit,
        flat_sentence,
    )

    at, analysis = astronaut_page
    step = analysis.steps[-1]
    flat = flat_habit(step, analysis.image)
    assert flat is not None
    shown = [m.value for m in at.markdown]
    assert flat_sentence(flat) in shown
    assert "makes no difference" not in flat_sentence(flat)
    assert border_sentence(border_habit(step)) in shown
    oh, ow = step.visible_output_hw()
    expected = entropy_sentence(step.carafe.entropy[0, :oh, :ow], 5, step.scale)
    assert expected in [c.value for c in at.caption]
    assert not any("high entropy, like bilinear" in t for t in shown)
    texts = shown + [c.value for c in at.caption]
    assert not any(",." in t for t in texts)
    # the intro waits in an expander; the page opens with the measured line
    assert at.markdown[0].value.startswith("**This image's edges.**")


@pytest.fixture(scope="module")
def astronaut_page():
    from carafe.inspect.analysis import analyze
    from carafe.inspect.catalog import load_model
    from carafe.inspect.imageio import load_image_file, sample_images

    at = open_app()
    at.session_state["sample"] = "astronaut.jpg"
    at.run()
    assert_no_exception(at)
    image = load_image_file(sample_images()["astronaut.jpg"]).array
    return at, analyze(load_model("carafe_photo"), image)  # a photo runs the photo model


def _upload(at, image: np.ndarray, name: str = "flat.png") -> None:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    at.session_state["image_source"] = "Upload"
    at.session_state["upload_bytes"] = buffer.getvalue()
    at.session_state["upload_name"] = name


def test_explore_on_a_flat_image_says_there_is_no_edge():
    """A one-colour image: no window straddles two parts, so the page says there is no edge
    instead of quoting shares; its flat-region sentence is the measured one."""
    from carafe.inspect.analysis import analyze
    from carafe.inspect.catalog import load_model
    from carafe.inspect.habits import flat_habit, flat_sentence
    from carafe.inspect.regions import image_alignment

    image = np.full((128, 128, 3), 120, np.uint8)
    analysis = analyze(load_model("carafe_photo"), image)  # an upload runs the photo model
    assert image_alignment(analysis) is None
    at = open_app()
    _upload(at, image)
    at.run()
    assert_no_exception(at)
    first = at.markdown[0].value
    assert first.startswith("**This image's edges.** No kernel window") and "0." not in first
    flat = flat_habit(analysis.steps[-1], image)
    assert flat_sentence(flat) in [m.value for m in at.markdown]
