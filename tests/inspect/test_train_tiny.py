"""The "Train a tiny CARAFE" records (carafe.inspect.train_tiny): kernels at the chosen pixels are the model's own, the costs are the
registry's, the chosen pixels are what their names say, and every sentence both ways."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from carafe.inspect.train_tiny.knobs import KINDS, Knobs, costs, step_flops
from carafe.inspect.train_tiny.pixels import (
    EDGE_CONTRAST,
    MATCH_TOLERANCE,
    EdgeGroup,
    EdgeSummary,
    PixelKernels,
)
from carafe.inspect.train_tiny.view import tiny_view
from carafe.inspect.train_tiny.words import (
    block_sentence,
    compressor_sentence,
    edge_sentence,
    edge_summary_sentence,
    flat_sentence,
    groups_sentence,
    idle_sentence,
    loss_sentence,
    reach_sentence,
    work_sentence,
)
from carafe.nn.registry import upsampler_cost
from carafe.training.train_tiny import train_tiny

SMALL = dict(steps=6, eval_every=3, train_pictures=8, heldout_pictures=2, batch=2)


@pytest.fixture(scope="module", params=[Knobs(), Knobs(up_kernel=3, scale=3, groups=2)])
def trained(request):
    """(run, view) of a short run: the record is built from this very run."""
    run = train_tiny(request.param.config(**SMALL))
    return run, tiny_view(run)


def _own_kernels(run, y, x):
    """The model's kernels at output pixel (y, x) of held-out picture 0, recomputed here."""
    net, cfg = run.models["carafe"], run.config
    with torch.no_grad():
        parts = net.upsampler.forward_with_intermediates(net.features(run.task.heldout_low[:1]))
    k, g = cfg.up_kernel, cfg.groups
    return parts.kernels[0].view(g, k, k, *parts.kernels.shape[-2:])[..., y, x].numpy()


def test_kernels_at_the_chosen_pixels_are_the_models(trained):
    run, play = trained
    s = run.config.scale
    for px in (play.edge, play.flat):
        y, x = px.pixel
        np.testing.assert_allclose(px.kernels, _own_kernels(run, y, x), rtol=1e-6, atol=1e-7)
        assert px.source == (y // s, x // s) and px.sub_pixel == (y % s, x % s)
        sy, sx = px.source
        for a in range(s):
            for b in range(s):
                np.testing.assert_allclose(
                    px.block[a, b], _own_kernels(run, s * sy + a, s * sx + b), rtol=1e-6, atol=1e-7
                )
        np.testing.assert_allclose(px.kernels.sum(axis=(1, 2)), 1.0, rtol=1e-5)


def test_outputs_and_losses_are_the_runs(trained):
    run, play = trained
    for kind in run.kinds:
        with torch.no_grad():
            out = run.models[kind](run.task.heldout_low[:1])[0].permute(1, 2, 0).numpy()
        np.testing.assert_allclose(play.outputs[kind], out, rtol=1e-6, atol=1e-6)
        np.testing.assert_array_equal(play.heldout_loss[kind], run.heldout_loss[kind])
        assert play.final_heldout[kind] == run.final_heldout(kind)
    images = play.rgb()
    assert list(images) == ["input", "target", *run.kinds]
    assert all(im.shape == play.target.shape and im.dtype == np.uint8 for im in images.values())


def test_chosen_pixels_are_an_edge_and_a_flat_area(trained):
    _, play = trained
    edge, flat = play.edge, play.flat
    assert 0 < edge.n_matching < edge.matching.size  # its true colour and others under it
    assert edge.spread > EDGE_CONTRAST
    assert flat.spread <= MATCH_TOLERANCE  # these pictures have big flat areas
    y0, x0, y1, x1 = edge.window
    k, s = play.config.up_kernel, play.config.scale
    assert (y1 - y0, x1 - x0) == (k * s, k * s)  # inside the map: the whole window
    assert y0 <= edge.pixel[0] < y1 and x0 <= edge.pixel[1] < x1


def test_every_edge_pixel_and_the_summary(trained):
    run, play = trained
    assert tuple(play.edge_pixels[0]) == play.edge.pixel
    assert len({tuple(p) for p in play.edge_pixels}) == len(play.edge_pixels) > 1
    edges = [play.pixel("edge", i) for i in range(len(play.edge_pixels))]
    assert [e.beside for e in edges] == list(play.edge_beside)
    assert play.edge.beside == edges[0].beside
    n_beside = int(play.edge_beside.sum())
    assert play.edge_beside[:n_beside].all()  # beside the edge first
    for px in edges[:: max(1, len(edges) // 5)]:
        np.testing.assert_allclose(px.kernels, _own_kernels(run, *px.pixel), rtol=1e-6, atol=1e-7)
        assert px.spread > EDGE_CONTRAST and 0 < px.n_matching < px.matching.size
        src = play.low[px.source]
        near = np.abs(src - px.truth).max() < np.abs(src - px.taps[px.matching == 0]).max()
        assert px.beside == near or not px.beside  # a beside pixel's source is its colour
    for group, members in (
        (play.edge_summary.beside, edges[:n_beside]),
        (play.edge_summary.across, edges[n_beside:]),
    ):
        assert group.pixels == len(members)
        if members:
            assert group.carafe_closer == sum(e.miss < e.bilinear_miss for e in members)
            assert group.carafe_miss == pytest.approx(np.mean([e.miss for e in members]))
            assert group.bilinear_miss == pytest.approx(np.mean([e.bilinear_miss for e in members]))
    assert play.pixel("edge", 10**6).pixel == tuple(play.edge_pixels[-1])  # clamped
    assert play.pixel("flat") is play.flat and play.flat.beside is None


def test_weights_and_colours_under_the_kernel(trained):
    _, play = trained
    px = play.edge
    taps = np.nan_to_num(px.taps)
    g = play.config.groups
    # colour channel c is reassembled with its group's kernel (channel c // (C / G)); the
    # weight on taps of the true colour is averaged over the colour channels the same way
    per_group = play.config.channels // g
    assert px.weight_on_match == pytest.approx(
        float(np.mean([(px.kernels[c // per_group] * px.matching).sum() for c in range(3)]))
    )
    for c in range(3):
        kern = px.kernels[c // per_group]
        assert px.reassembled[c] == pytest.approx(float((kern * taps[..., c]).sum()), abs=1e-6)


@pytest.mark.parametrize("knobs", [Knobs(), Knobs(up_kernel=7, scale=4, groups=4)])
def test_costs_are_the_registrys(knobs):
    cfg = knobs.config()
    got = {c.kind: c for c in costs(knobs)}
    for kind in KINDS:
        want = upsampler_cost(kind, cfg.channels, cfg.scale, **cfg.upsampler_options(kind))
        assert got[kind].params == want["params"]
        assert got[kind].flops_per_input_pixel == want["flops_per_input_pixel"]
    net = train_tiny(cfg.__class__(**{**dataclasses.asdict(cfg), **SMALL, "steps": 1}))
    for kind, model in net.models.items():
        assert got[kind].net_params == sum(p.numel() for p in model.parameters())


def test_costs_follow_the_knobs():
    small, big = costs(Knobs(up_kernel=3))[0], costs(Knobs(up_kernel=7))[0]
    assert small.params < big.params and small.flops_per_input_pixel < big.flops_per_input_pixel


# --- sentences, both ways ---------------------------------------------------------------------
NAMES = {"carafe": "CARAFE", "bilinear": "Bilinear", "dysample": "DySample"}


def test_loss_sentence_both_ways():
    wins = loss_sentence({"carafe": 0.004, "bilinear": 0.005, "dysample": 0.006}, NAMES)
    assert wins.startswith("CARAFE ends with a lower held-out loss (0.00400) than Bilinear")
    assert "20% lower" in wins and "not" not in wins
    loses = loss_sentence({"carafe": 0.006, "bilinear": 0.005, "dysample": 0.004}, NAMES)
    assert loses.startswith("CARAFE (0.00600) does not end below Bilinear")
    assert "lower held-out loss" not in loses and "higher" in loses
    mixed = loss_sentence({"carafe": 0.005, "bilinear": 0.006, "dysample": 0.004}, NAMES)
    assert "than Bilinear" in mixed and "It does not end below DySample" in mixed
    # issue 25: "CARAFE is 0% lower" was worded as a win; within LEVEL it is a tie
    tie = loss_sentence({"carafe": 0.00500, "bilinear": 0.00501, "dysample": 0.006}, NAMES)
    assert "than DySample" in tie and "0%" not in tie
    assert "It ends level with Bilinear (0.00501): within 0.5% of each other, a tie." in tie
    all_level = loss_sentence({"carafe": 0.005, "bilinear": 0.005, "dysample": 0.005}, NAMES)
    assert all_level.startswith("CARAFE (0.00500) ends level with Bilinear (0.00500) and DySample")
    assert "lower" not in all_level and "does not end below" not in all_level


def _pixel(**changes):
    k = 3
    base = PixelKernels(
        role="edge",
        pixel=(4, 5),
        source=(2, 2),
        sub_pixel=(0, 1),
        kernels=np.full((1, k, k), 1 / 9),
        block=np.full((2, 2, 1, k, k), 1 / 9),
        window=(2, 2, 8, 8),
        taps=np.zeros((k, k, 3)),
        truth=np.zeros(3),
        matching=np.eye(k, dtype=bool),
        weight_on_match=0.8,
        bilinear_on_match=0.4,
        reassembled=np.array([0.1, 0.0, 0.0]),
        bilinear_colour=np.array([0.3, 0.0, 0.0]),
        spread=0.9,
    )
    return dataclasses.replace(base, **changes)


def test_edge_sentence_both_ways():
    better = edge_sentence(_pixel(beside=True))
    assert "(its source pixel has its own colour: the edge passes beside it)" in better
    assert "**0.10**" in better and "bilinear's weights **0.30**" in better
    assert "80% of its weight on the 3 input pixels" in better and "own side" in better
    closer_only = edge_sentence(_pixel(beside=False, weight_on_match=0.1))
    assert "(the edge crosses its source pixel)" in closer_only
    assert "comes closer to the true colour than bilinear's, though it puts no more" in closer_only
    assert "own side" not in closer_only
    # issue 25, G = 4: "49 % … (bilinear 56 %). CARAFE comes closer to the true colour"
    groups = _pixel(kernels=np.full((4, 3, 3), 1 / 9), weight_on_match=0.49, bilinear_on_match=0.56)
    said = edge_sentence(groups)
    assert "49% of its weight" in said and "(mean over the colour channels" in said
    assert "though it puts no more weight than bilinear on taps of that colour" in said
    assert "(mean over the colour channels" not in edge_sentence(_pixel())
    worse = edge_sentence(_pixel(reassembled=np.array([0.5, 0.0, 0.0])))
    assert "0.50" in worse and "no better" in worse and "closer" not in worse
    none = edge_sentence(_pixel(matching=np.zeros((3, 3), bool), bilinear_colour=None))
    assert "no input pixel" in none and "do not fit a 3×3 window" in none


def test_edge_summary_sentence_both_ways():
    good, bad = EdgeGroup(40, 30, 0.2, 0.3), EdgeGroup(40, 10, 0.3, 0.2)
    text = edge_summary_sentence(EdgeSummary(beside=good, across=bad))
    first, second = text.split(". Where")
    assert first.startswith("Beside an edge (source pixel of the pixel's own colour), CARAFE's")
    assert "come closer to the true colour than bilinear's at **30** of 40 pixels (75%)" in first
    assert "do not clearly beat bilinear's" in second and "(25%)" in second
    assert "by 0.30, bilinear's weights by 0.20" in second
    # closer more often but worse on average: not a clear win either
    mixed = edge_summary_sentence(EdgeSummary(EdgeGroup(40, 30, 0.4, 0.3), good))
    assert mixed.startswith(
        "Beside an edge (source pixel of the pixel's own colour), CARAFE's "
        "kernels do not clearly beat"
    )
    none = edge_summary_sentence(
        EdgeSummary(EdgeGroup(0, 0, 0.0, None), EdgeGroup(12, 0, 0.5, None))
    )
    assert none.startswith("No edge pixel of this picture lies beside an edge")
    assert "(12 pixels)" in none and "do not fit a 1×1 window" in none


def test_flat_sentence_both_ways():
    flat = flat_sentence(_pixel(spread=0.0))
    assert "reads the same colour" in flat and "do not matter" in flat
    not_flat = flat_sentence(_pixel(spread=0.4))
    assert "No 3×3 window" in not_flat and "0.40" in not_flat and "do matter" in not_flat


def test_groups_sentence_both_ways():
    one = np.zeros((3, 3))
    one[1, 1] = 1
    other = np.zeros((3, 3))
    other[0, 0] = 1
    assert "One group" in groups_sentence(one[None])
    differ = groups_sentence(np.stack([one, other]))
    assert "learned different kernels" in differ and "100%" in differ
    same = groups_sentence(np.stack([one, one * 0.99 + other * 0.01]))
    assert "nearly the same" in same and "1%" in same


def test_block_sentence_both_ways():
    differ = np.zeros((2, 2, 1, 3, 3))
    for i, (a, b) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
        differ[a, b, 0].flat[i] = 1
    assert "these differ" in block_sentence(differ) and "**100%**" in block_sentence(differ)
    same = np.full((2, 2, 1, 3, 3), 1 / 9)
    assert "nearly the same (on average 0%" in block_sentence(same)


def test_reach_sentence():
    assert reach_sentence(5, 2) == (
        "A 5×5 kernel reads 5×5 input pixels: 10×10 pixels of the full-resolution picture, "
        "up to 2 input pixels from the source pixel."
    )


def test_step_flops_is_the_registrys_count_over_the_input():
    knobs = Knobs(scale=3)
    cfg = knobs.config()
    low = cfg.low_size**2
    upsamplers = sum(c.flops_per_input_pixel for c in costs(knobs)) * low
    assert upsamplers < step_flops(knobs) < upsamplers * 1.5  # the convs are the rest
    heavy = Knobs(up_kernel=7, encoder_kernel=5, groups=4)
    assert step_flops(heavy) > 5 * step_flops(Knobs())


def test_work_sentence_both_ways():
    more = work_sentence(30_000_000, 10_000_000)
    assert "about **3.0×** the default" in more and "(30.0 vs 10.0 MFLOPs" in more
    less = work_sentence(5_000_000, 10_000_000)
    assert "2.0× less work" in less and "quicker" in less
    same = work_sentence(11_000_000, 10_000_000)
    assert "about the same work" in same and "×" not in same


def test_one_tap_carafe_is_nearest_and_its_parameters_idle():
    """k_up = 1: a softmax over one tap is 1, so CARAFE copies the source pixel (nearest
    neighbour) and training leaves its parameters where they started; with k_up = 3 neither
    holds. The page says so only for k_up = 1."""
    import torch.nn.functional as F

    from carafe.training.train_tiny import build_tiny

    for k, idle in ((1, True), (3, False)):
        cfg = Knobs(up_kernel=k).config(**SMALL)
        net = build_tiny("carafe", cfg)
        x = torch.randn(1, cfg.channels, 6, 6)
        with torch.no_grad():
            same = torch.allclose(net.upsampler(x), F.interpolate(x, scale_factor=cfg.scale))
        assert same == idle
        before = {n: p.detach().clone() for n, p in net.upsampler.named_parameters()}
        run = train_tiny(cfg, kinds=("carafe",))
        after = dict(run.models["carafe"].upsampler.named_parameters())
        moved = any(not torch.equal(before[n], after[n].detach()) for n in before)
        assert moved != idle
    params = costs(Knobs(up_kernel=1))[0].params
    said = idle_sentence(1, params)
    assert "nearest-neighbour upsampling" in said and f"{params:,} parameters" in said
    assert idle_sentence(3, params) == ""


def test_compressor_sentence_both_ways():
    """The default C_m = 16 on C = 8 channels widens them: said so; narrowing is said too."""
    widens = compressor_sentence(8, 16)
    assert "widens them (8 → 16) instead of compressing" in widens
    assert "keeps the channel count (8 → 8)" in compressor_sentence(8, 8)
    narrows = compressor_sentence(8, 4)
    assert "narrows the C = 8 channels" in narrows and "widens" not in narrows
