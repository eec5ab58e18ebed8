"""How it works (AppTest): the encoder's whole output, the pixel shuffle as the s² kernels of one
block with the encoder channel of a chosen tap, the by-hand checks as numbers, and bilinear's
value beside CARAFE's, each checked against the model's tensors computed here."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import figures_by_title, open_app, plotly_array

Y, X = 9, 14


@pytest.fixture(scope="module")
def step(reference):
    return reference[1]


def _page(stage: int) -> AppTest:
    at = open_app("how_it_works")
    at.number_input(key="hiw_px_y").set_value(Y).run()
    at.number_input(key="hiw_px_x").set_value(X).run()
    for _ in range(stage):
        at.button(key="hiw_next").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_encoder_step_shows_every_channel_of_the_source_pixel(step):
    at = _page(1)
    d = step.carafe
    sy, sx = step.geometry.source_pixel(Y, X)
    bars = figures_by_title(at)[f"Encoder output at input pixel ({sy}, {sx})"]["data"][0]
    np.testing.assert_allclose(plotly_array(bars["y"]), d.encoder_logits[:, sy, sx], atol=1e-6)
    check = next(m.value for m in at.markdown if m.value.startswith("**By hand**"))
    assert float(re.search(r"vs by hand: ([0-9.e+-]+)\.", check).group(1)) < 1e-4
    assert any(e.label == "Show the by-hand figure" for e in at.expander)
    assert "for this sub-pixel" not in json.dumps([m.value for m in at.markdown])


def test_pixel_shuffle_shows_the_block_and_names_the_channel(step):
    at = _page(2)
    d, geo = step.carafe, step.geometry
    k, s, g_count = d.up_kernel, step.scale, d.up_group
    sy, sx = geo.source_pixel(Y, X)
    a, b = geo.sub_pixel(Y, X)
    title = f"Kernel logits of the {s}×{s} block of input pixel ({sy}, {sx})"
    maps = [t for t in figures_by_title(at)[title]["data"] if t["type"] == "heatmap"]
    assert len(maps) == s * s  # all s² kernels at once
    block = d.encoder_logits[:, sy, sx].reshape(g_count, k * k, s, s)[0]  # [t, a, b]
    for i, trace in enumerate(maps):
        ai, bi = divmod(i, s)
        np.testing.assert_allclose(plotly_array(trace["z"]).ravel(), block[:, ai, bi], atol=1e-6)
        out_y, out_x = s * sy + ai, s * sx + bi  # the shuffle, read off the model's tensors
        if out_y < d.kernel_logits.shape[1] and out_x < d.kernel_logits.shape[2]:
            np.testing.assert_array_equal(block[:, ai, bi], d.kernel_logits[: k * k, out_y, out_x])
    for t in (0, 7, k * k - 1):
        at.selectbox(key="hiw_tap").set_value(t).run()
        text = next(m.value for m in at.markdown if m.value.startswith(f"Tap t = {t} "))
        channel = int(geo.encoder_channel(0, t, a, b))
        assert f"= {channel}** at input pixel ({sy}, {sx})" in text
        assert d.encoder_logits[channel, sy, sx] == d.kernel_logits[t, Y, X]
        others = [int(geo.encoder_channel(0, t, i, j)) for i in range(s) for j in range(s)]
        assert ", ".join(map(str, others)) in text


def test_softmax_check_is_a_number_and_reassembly_ends_with_bilinear(step):
    import torch
    import torch.nn.functional as F

    at = _page(3)
    assert not at.metric
    assert any(m.value.startswith("**By hand** (softmax") for m in at.markdown)
    assert len([t for t in figures_by_title(at) if t.startswith("Kernel (model)")]) == 1
    at.button(key="hiw_next").click().run()
    ch = int(at.selectbox(key="hiw_channel").value)
    metrics = {m.label: m.value for m in at.metric}
    x = torch.from_numpy(step.input)[None]
    bilinear = float(F.interpolate(x, scale_factor=step.scale, mode="bilinear")[0, ch, Y, X])
    assert float(metrics["Bilinear"]) == pytest.approx(bilinear, rel=6e-6, abs=2e-6)
    assert float(metrics["CARAFE"]) == pytest.approx(float(step.output[ch, Y, X]), rel=6e-6)
    assert "Bilinear's kernel" in figures_by_title(at)


def test_toy_mode_shuffle_and_bilinear():
    at = open_app("how_it_works")
    at.radio(key="hiw_mode").set_value("Toy 6×6").run()
    at.button(key="hiw_next").click().run()
    at.button(key="hiw_next").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(t.startswith("Kernel logits of the 2×2 block") for t in figures_by_title(at))
    at.button(key="hiw_next").click().run()
    at.button(key="hiw_next").click().run()
    assert "Bilinear" in {m.label for m in at.metric}


def test_the_compressor_is_said_to_widen_where_it_does():
    """Issue 25: the toy's "compressor" turns 2 channels into 3; the page says it widens there,
    and on the shipped model (which narrows its channels) that it compresses."""
    at = open_app("how_it_works")
    image = next(m.value for m in at.markdown if m.value.startswith("A 1×1 convolution mixes"))
    assert ": it compresses them (" in image and "widens" not in image
    at.radio(key="hiw_mode").set_value("Toy 6×6").run()
    assert not at.exception, [e.value for e in at.exception]
    toy = next(m.value for m in at.markdown if m.value.startswith("A 1×1 convolution mixes"))
    assert "despite its name it widens them here (2 → 3)" in toy
    assert any("widens 2 → 3 channels" in c.value for c in at.caption)
