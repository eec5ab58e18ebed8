"""Compressed channels opens with the maps under one line of their own numbers: how many
channels the compressor keeps and the most energetic map's share of the energy."""

from __future__ import annotations

from tests.app.conftest import assert_clean, open_app
from tests.app.prose import visible_prose


def test_compressed_page_opens_with_its_numbers(reference):
    from carafe.inspect.analysis import channel_energy

    _, step = reference
    at = open_app("compressed")
    assert_clean(at)
    d = step.carafe
    energy = channel_energy(d.compressed)
    top = int(d.compressed_order[0])
    assert top == int(energy.argmax())
    first = at.markdown[0].value
    cm, c = d.compressed.shape[0], step.input.shape[0]
    assert first.startswith(f"The channel compressor squeezes the C = **{c}**")
    assert f"C_m = **{cm}**" in first and f"#{top}, holds {energy[top] / energy.sum():.0%}" in first
    assert [t.label for t in at.tabs][0] == "Compressed maps"
    # the long explanation waits in the expander
    assert any(m.value.startswith("Before predicting kernels") for m in at.markdown)
    assert not any(t.startswith("Before predicting kernels") for t in visible_prose(at))
