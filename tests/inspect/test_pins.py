"""carafe.inspect.pins: the edge / flat pixels "pin an edge pixel and a flat pixel" chooses and
the sentences about them (each checked where its fact holds and where it does not)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from carafe.inspect.analysis import analyze
from carafe.inspect.pins.choice import choose_pins, pin_view
from carafe.inspect.pins.words import pin_choice_sentence, pins_sentence
from carafe.inspect.pixel import FLAT_TOLERANCE, start_pixel, window_spread


def _independent_spread(image: np.ndarray, box) -> float:
    """The largest per-channel colour range of the image under a window box (image pixels)."""
    y0, x0, y1, x1 = box
    patch = image[max(y0, 0) : y1, max(x0, 0) : x1].reshape(-1, 3).astype(int)
    return float((patch.max(axis=0) - patch.min(axis=0)).max())


def test_pins_edge_is_start_pixel_and_flat_window_lies_on_one_colour(astronaut):
    image, a = astronaut
    step = a.steps[-1]
    choice = choose_pins(step, image, a.segmentation)
    assert choice.edge == start_pixel(step, 0, a.segmentation)
    assert choice.flat_is_flat and choice.flat_pixels > 0
    box = step.geometry.window_box(*choice.flat)
    h, w = image.shape[:2]
    assert box[0] >= 0 and box[1] >= 0 and box[2] <= h and box[3] <= w  # inside the image
    assert _independent_spread(image, box) <= FLAT_TOLERANCE
    assert _independent_spread(image, step.geometry.window_box(*choice.edge)) > FLAT_TOLERANCE
    text = pin_choice_sentence(choice)
    assert f"flat pixel ({choice.flat[0]}, {choice.flat[1]})" in text
    assert f"{choice.flat_pixels} output pixels" in text and "least edgy" not in text


def test_pins_fall_back_to_the_least_edgy_pixel(shapes):
    image, a = shapes
    step = a.steps[-1]
    choice = choose_pins(step, image, a.segmentation)
    assert not choice.flat_is_flat and choice.flat_pixels == 0
    spread = _independent_spread(image, step.geometry.window_box(*choice.flat))
    assert spread == choice.spread > FLAT_TOLERANCE
    # no window inside the image has a smaller colour range
    spreads = window_spread(step, image)
    assert np.nanmin(spreads) == pytest.approx(spread)
    text = pin_choice_sentence(choice)
    assert "least edgy pixel" in text and f"span {spread:.0f} of 255" in text


def test_pins_on_a_one_colour_image_are_flat(tiny_model):
    image = np.full((64, 80, 3), 90, np.uint8)
    step = analyze(tiny_model, image).steps[-1]
    choice = choose_pins(step, image)
    assert choice.flat_is_flat and choice.spread == 0.0


def test_pins_sentence_both_ways(astronaut):
    image, a = astronaut
    step = a.steps[-1]
    choice = choose_pins(step, image, a.segmentation)
    edge = pin_view(step, *choice.edge, "Pin A (edge)")
    flat = pin_view(step, *choice.flat, "Pin B (flat)")
    assert edge.value == pytest.approx(float(step.output[(edge.channel, *choice.edge)]))
    assert edge.view.peak > flat.view.peak + 0.02
    text = pins_sentence(edge, flat)
    assert text.startswith("Pin A (edge)'s kernel is more peaked than Pin B (flat)'s")
    assert pins_sentence(flat, edge).startswith("Pin A (edge)'s kernel is more peaked")
    assert "Pin A (edge) leans" in text
    k = edge.view.kernel.shape[0]
    uniform = dataclasses.replace(
        edge.view, kernel=np.full((k, k), 1 / k**2), peak=1 / k**2, lean=(0.0, 0.05)
    )
    a_flat = dataclasses.replace(edge, name="A", view=uniform)
    b_flat = dataclasses.replace(edge, name="B", view=dataclasses.replace(uniform, lean=(0.1, 0)))
    text = pins_sentence(a_flat, b_flat)
    assert "about as peaked" in text and "both are centred" in text
    assert "zero padding" not in text
    padded = dataclasses.replace(b_flat, view=dataclasses.replace(b_flat.view, padding_weight=0.2))
    assert "B puts 0.20 of its weight on zero padding" in pins_sentence(a_flat, padded)
    # the entropy disagrees with the peak: the sentence says so
    spread_peak = dataclasses.replace(
        a_flat, view=dataclasses.replace(uniform, peak=0.5, entropy=3.5)
    )
    assert "by entropy, though" in pins_sentence(spread_peak, b_flat)
