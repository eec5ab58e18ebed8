"""The tiny edge task: data, shapes, determinism, the training budget, and CARAFE beating
bilinear on held-out pictures with the default knobs."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from carafe.training.train_tiny import (
    KINDS,
    TinyConfig,
    area_downsample,
    build_tiny,
    make_pictures,
    make_task,
    train_tiny,
)

QUICK = dict(steps=4, eval_every=2, train_pictures=8, heldout_pictures=2, batch=2)


@pytest.fixture(scope="module")
def default_run():
    """The default knobs, trained once for this module (the page's default run)."""
    start = time.perf_counter()
    run = train_tiny(TinyConfig())
    print(
        f"\ndefault knobs: training loop {run.seconds:.1f} s ({run.cpu_seconds:.1f} s CPU), "
        f"with data and models {time.perf_counter() - start:.1f} s; final held-out MSE "
        + ", ".join(f"{k} {run.final_heldout(k):.5f}" for k in run.kinds)
    )
    return run


def test_pictures_are_seeded_flat_colours_with_hard_edges():
    a, b = make_pictures(3, 32, seed=5), make_pictures(3, 32, seed=5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, make_pictures(3, 32, seed=6))
    assert a.shape == (3, 3, 32, 32) and a.dtype == np.float32
    assert 0.0 <= a.min() and a.max() <= 1.0
    # flat colours: few distinct colours per picture, and most neighbours are equal
    colours = np.unique(a[0].reshape(3, -1).T, axis=0)
    assert 2 <= len(colours) <= 7
    assert (np.abs(np.diff(a, axis=-1)).max(axis=1) == 0).mean() > 0.8


def test_area_downsample_is_the_block_mean():
    x = torch.arange(2 * 6 * 6, dtype=torch.float32).view(1, 2, 6, 6)
    low = area_downsample(x, 3)
    assert low.shape == (1, 2, 2, 2)
    assert low[0, 1, 1, 0] == x[0, 1, 3:6, 0:3].mean()


def test_heldout_pictures_are_not_training_pictures():
    task = make_task(TinyConfig(**QUICK))
    for held in task.heldout_high:
        assert not any(torch.equal(held, t) for t in task.train_high)


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("groups", [1, 2])
@pytest.mark.parametrize("up_kernel", [1, 3, 5, 7])
def test_shapes(scale, groups, up_kernel):
    cfg = TinyConfig(scale=scale, groups=groups, up_kernel=up_kernel, size=6 * scale, **QUICK)
    task = make_task(cfg)
    assert task.train_low.shape == (8, 3, 6, 6)
    assert task.train_high.shape == (8, 3, 6 * scale, 6 * scale)
    for kind in KINDS:
        net = build_tiny(kind, cfg)
        assert net(task.heldout_low).shape == task.heldout_high.shape
    parts = build_tiny("carafe", cfg).upsampler.forward_with_intermediates(
        build_tiny("carafe", cfg).features(task.heldout_low)
    )
    assert parts.kernels.shape == (2, groups * up_kernel**2, 6 * scale, 6 * scale)


def test_every_kind_starts_from_the_same_convs():
    cfg = TinyConfig(**QUICK)
    nets = [build_tiny(kind, cfg) for kind in KINDS]
    for net in nets[1:]:
        torch.testing.assert_close(net.stem.weight, nets[0].stem.weight, rtol=0, atol=0)
        torch.testing.assert_close(net.head.weight, nets[0].head.weight, rtol=0, atol=0)


def test_deterministic_and_restores_threads():
    cfg = TinyConfig(up_kernel=3, groups=2, **QUICK)
    before = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled())
    seen = []
    one = train_tiny(cfg, progress=seen.append)
    two = train_tiny(cfg)
    assert (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()) == before
    assert [p.step for p in seen] == [1, 2, 3, 4] and seen[-1].fraction == 1.0
    np.testing.assert_array_equal(one.heldout_steps, [0, 2, 4])
    for kind in KINDS:
        np.testing.assert_array_equal(one.train_loss[kind], two.train_loss[kind])
        np.testing.assert_array_equal(one.heldout_loss[kind], two.heldout_loss[kind])
        a, b = one.models[kind].state_dict(), two.models[kind].state_dict()
        for name in a:
            torch.testing.assert_close(a[name], b[name], rtol=0, atol=0)
    # and the seed matters
    other = train_tiny(TinyConfig(up_kernel=3, groups=2, seed=1, **QUICK))
    assert not np.array_equal(other.train_loss["carafe"], one.train_loss["carafe"])


def test_training_lowers_the_heldout_loss(default_run):
    for kind in default_run.kinds:
        losses = default_run.heldout_loss[kind]
        assert losses[-1] < losses[0], kind
        assert np.isfinite(default_run.train_loss[kind]).all()


def test_carafe_beats_bilinear_on_the_edge_task(default_run):
    """The issue's requirement: with the default knobs CARAFE ends below bilinear."""
    assert default_run.final_heldout("carafe") < default_run.final_heldout("bilinear")


def test_default_knobs_fit_the_budget(default_run):
    """≤ 20 s is the aim on this 2-core machine. Measured in CPU time (one thread), which other
    work on a shared machine does not inflate; the bound is loose all the same."""
    assert default_run.cpu_seconds < 40
