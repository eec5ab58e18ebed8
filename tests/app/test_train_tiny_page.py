"""The "Train a tiny CARAFE" page: renders without training, shows the registry's costs for the
knobs, trains on Train and shows exactly the numbers of carafe.inspect.train_tiny."""

from __future__ import annotations

import numpy as np
import pytest

import carafe.inspect.train_tiny.view as tiny_view_module
from carafe.inspect.train_tiny.knobs import CHOICES, Knobs
from carafe.inspect.train_tiny.view import train_tiny_view
from carafe.inspect.train_tiny.words import (
    edge_sentence,
    edge_summary_sentence,
    flat_sentence,
    groups_sentence,
    loss_sentence,
)
from carafe.nn.registry import upsampler_cost
from tests.app.conftest import (
    assert_clean,
    figure_titled,
    figures_by_title,
    heatmap_z,
    open_app,
    plotly_array,
)

PAGE = "train_tiny"
SMALL = Knobs(up_kernel=3, encoder_kernel=1, compressed_channels=4, scale=2, groups=2)


def _table(at, headers: str) -> list[list[str]]:
    """The rows of the markdown table whose header row starts with ``headers``."""
    text = next(m.value for m in at.markdown if m.value.startswith(f"| {headers} |"))
    return [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines()[2:]]


def _carafe_params(at) -> int:
    rows = _table(at, "upsampler | parameters (upsampler)")
    row = next(r for r in rows if r[0] == "CARAFE")
    return int(row[1].replace(",", ""))


def _set_knobs(at, knobs: Knobs) -> None:
    for name in CHOICES:
        at.select_slider(key=f"tt_{name}").set_value(getattr(knobs, name))


@pytest.fixture(scope="module")
def trained_page():
    """The page after pressing Train with SMALL knobs, and the record computed outside it."""
    at = open_app(PAGE)
    _set_knobs(at, SMALL)
    at.run()
    at.button(key="tt_train").click().run()
    return at, train_tiny_view(SMALL)


def test_renders_without_training():
    at = open_app(PAGE)
    assert_clean(at)
    assert at.title[0].value == "Train a tiny CARAFE"
    assert any("Press **Train**" in i.value for i in at.info)
    assert not at.get("plotly_chart")  # nothing trains until the button is pressed


def _count_training(monkeypatch) -> list:
    """Record every call of the tiny training (the page calls it through its module)."""
    calls = []
    real = tiny_view_module.train_tiny_view

    def counted(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(tiny_view_module, "train_tiny_view", counted)
    return calls


def test_parameter_count_follows_k_up(monkeypatch):
    calls = _count_training(monkeypatch)
    at = open_app(PAGE)
    channels = Knobs().config().channels
    for k in (3, 7):
        at.select_slider(key="tt_up_kernel").set_value(k)
        at.run()
        assert not calls  # no training on a knob change
        assert_clean(at)
        cfg = Knobs(up_kernel=k).config()
        want = upsampler_cost("carafe", channels, 2, **cfg.upsampler_options("carafe"))
        assert _carafe_params(at) == want["params"]


def test_train_shows_the_runs_numbers(trained_page):
    at, play = trained_page
    assert_clean(at)
    final = {r[0]: float(r[1]) for r in _table(at, "upsampler | final held-out MSE")}
    for kind in play.kinds:
        assert final[play.names[kind]] == pytest.approx(play.final_heldout[kind], abs=5e-6)
    assert any(m.value == loss_sentence(play.final_heldout, play.names) for m in at.markdown)
    figs = figures_by_title(at)
    losses = figs["Loss curves (mean square error)"]
    for trace in losses["data"]:
        kind = next(k for k, n in play.names.items() if trace["name"].startswith(n))
        want = play.heldout_loss[kind] if "held-out" in trace["name"] else play.train_loss[kind]
        np.testing.assert_allclose(plotly_array(trace["y"]), want, rtol=1e-6)
    assert any(t.startswith("Held-out picture 1") for t in figs)
    # the edge pixel's kernels, one figure per group, are the record's
    for g in range(SMALL.groups):
        spec = next(f for t, f in figs.items() if t.startswith(f"Group {g + 1} of {SMALL.groups}"))
        np.testing.assert_allclose(heatmap_z(spec["data"][0]), play.edge.kernels[g], rtol=1e-6)
    assert any(m.value == edge_sentence(play.edge) for m in at.markdown)
    assert any(m.value == edge_summary_sentence(play.edge_summary) for m in at.markdown)
    assert any(m.value == groups_sentence(play.edge.kernels) for m in at.markdown)
    block = next(f for t, f in figs.items() if t.startswith(f"Input pixel {play.edge.source}"))
    assert len(block["data"]) == SMALL.scale**2
    for spec in figs.values():  # every heatmap figure has a colour bar (its first heatmap)
        heatmaps = [t for t in spec["data"] if t["type"] == "heatmap"]
        assert not heatmaps or heatmaps[0].get("showscale", True) is not False
    assert any("1905.02188" in c.value for c in at.caption)  # the paper is cited


def test_switching_to_the_flat_pixel_trains_nothing_again(trained_page, monkeypatch):
    at, play = trained_page
    at.slider(key="tt_edge_index").set_value(3).run()
    assert_clean(at)
    third = play.pixel("edge", 2)
    assert any(m.value == edge_sentence(third) for m in at.markdown)
    spec = figure_titled(at, f"Group 1 of {SMALL.groups}: kernel of pixel {third.pixel}")
    np.testing.assert_allclose(heatmap_z(spec["data"][0]), third.kernels[0], rtol=1e-6)
    calls = _count_training(monkeypatch)
    at.radio(key="tt_role").set_value("flat")
    at.run()
    assert not calls  # a cached run: no training again
    assert_clean(at)
    assert any(m.value == flat_sentence(play.flat) for m in at.markdown)
    figs = figures_by_title(at)
    spec = next(f for t, f in figs.items() if t.startswith(f"Group 1 of {SMALL.groups}"))
    np.testing.assert_allclose(heatmap_z(spec["data"][0]), play.flat.kernels[0], rtol=1e-6)


def test_knob_notes_and_footer_say_what_this_page_does():
    """Issue 25: the default C_m = 16 on 8 channels widens them, k_up = 1 makes CARAFE nearest
    neighbour with idle parameters, and the footer named a loaded model this page never uses."""
    at = open_app(PAGE)
    assert_clean(at)
    texts = [m.value for m in at.markdown]
    assert any("widens them (8 → 16) instead of compressing" in t for t in texts)
    assert not any("nearest-neighbour upsampling" in t for t in texts)
    footer = next(c.value for c in at.caption if "1905.02188" in c.value)
    assert "loaded model" in footer and "not used here" in footer
    assert "computed live by the loaded model" not in footer
    at.select_slider(key="tt_up_kernel").set_value(1)
    at.select_slider(key="tt_compressed_channels").set_value(4)
    at.run()
    assert_clean(at)
    texts = [m.value for m in at.markdown]
    note = next(t for t in texts if "nearest-neighbour upsampling" in t)
    assert f"Its {_carafe_params(at):,} parameters" in note
    assert "narrows the C = 8 channels" in note and "widens" not in note


def test_the_reassembly_family_can_join_the_training():
    """FADE and SAPA are options: trained under the same budget, they join the loss table."""
    at = open_app("train_tiny")
    assert_clean(at)
    extra = at.multiselect(key="tt_extra")
    assert {"FADE", "SAPA"} <= set(extra.options)
    extra.set_value(["fade", "sapa"]).run()
    at.button(key="tt_train").click().run()
    assert_clean(at)
    table = next(m.value for m in at.markdown if m.value.startswith("| upsampler | final held-out"))
    assert all(
        f"| {name} |" in table for name in ("CARAFE", "Bilinear", "DySample", "FADE", "SAPA")
    )
