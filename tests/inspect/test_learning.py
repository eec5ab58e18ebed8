"""The training snapshots: listing and loading them, the stored curves as records equal to the
JSON, the two sentences worded from the numbers (where the fact holds and where it does not),
and the stored mIoUs recomputed from the shipped snapshot files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from carafe.inspect.analysis import analyze
from carafe.inspect.imageio import load_image_file, sample_images
from carafe.inspect.learning.snapshots import (
    SNAPSHOTS_DIR,
    MethodShares,
    RingMeasures,
    SnapshotMetrics,
    lean_scale,
    list_snapshots,
    load_curves,
    load_snapshot,
    padding_series,
)
from carafe.inspect.learning.words import (
    border_padding_sentence,
    content_aware_headline,
    content_aware_sentence,
    lean_sentence,
)
from carafe.training.data import load_split
from carafe.training.evaluate import evaluate_model

STEPS = [0, 25, 50, 100, 200, 400, 800, 1600, 2400]
LAST = STEPS[-1]  # the shipped CARAFE: the same run's last snapshot
METRICS = SNAPSHOTS_DIR / "metrics.json"


@pytest.fixture(scope="module")
def snapshots():
    found = list_snapshots()
    if not found:
        pytest.skip("no training snapshots in assets/snapshots")
    return {s.steps_done: s for s in found}


@pytest.fixture(scope="module")
def stored():
    if not METRICS.is_file():
        pytest.skip("no assets/snapshots/metrics.json")
    return json.loads(METRICS.read_text())


# --- files ------------------------------------------------------------------------------------
def test_listing_finds_the_nine_snapshots_in_order(snapshots):
    assert list(snapshots) == STEPS
    for steps, snap in snapshots.items():
        # the last snapshot is the shipped model's own file, stored once
        name = "carafe.safetensors" if steps == LAST else f"step_{steps:04d}.safetensors"
        assert snap.path.name == name and snap.path.is_file()
        assert (snap.seed, snap.schedule_steps) == (0, LAST)


def test_a_snapshot_json_may_name_its_weights_file(tmp_path):
    folder = tmp_path / "snapshots"
    folder.mkdir()
    config = {"training": {"steps_done": 7, "seed": 0, "schedule_steps": 7}}
    (folder / "step_0007.json").write_text(json.dumps(dict(config, weights="../w.safetensors")))
    (folder / "step_0003.json").write_text(json.dumps({"training": {"steps_done": 3}}))
    assert list_snapshots(folder) == []  # neither weights file exists
    (tmp_path / "w.safetensors").write_bytes(b"")
    (folder / "step_0003.safetensors").write_bytes(b"")
    found = list_snapshots(folder)
    assert [s.steps_done for s in found] == [3, 7]
    assert found[1].path == (tmp_path / "w.safetensors").resolve()


def test_a_missing_folder_lists_nothing_and_has_no_curves(tmp_path):
    assert list_snapshots(tmp_path / "absent") == []
    assert load_curves(tmp_path / "metrics.json") is None


def test_a_snapshot_without_its_config_is_left_out(tmp_path):
    (tmp_path / "step_0010.safetensors").write_bytes(b"")
    (tmp_path / "step_0020.safetensors").write_bytes(b"")
    (tmp_path / "step_0020.json").write_text(json.dumps({"training": {"steps_done": 20}}))
    assert [s.steps_done for s in list_snapshots(tmp_path)] == [20]


def test_curves_of_another_layout_are_refused_by_name(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps({"split": "heldout", "snapshots": []}))
    with pytest.raises(ValueError, match="heldout_images"):
        load_curves(path)
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_curves(path)


def test_random_init_kernels_are_uniform_and_trained_ones_are_not(snapshots):
    image = load_image_file(sample_images()["shapes_1.png"]).array  # like the training data
    first = analyze(load_snapshot(snapshots[0]), image, baselines=False).steps[-1].carafe
    last = analyze(load_snapshot(snapshots[LAST]), image, baselines=False).steps[-1].carafe
    uniform = np.log(25)
    assert first.kernels.shape == last.kernels.shape
    assert np.abs(first.kernels - last.kernels).max() > 0.3
    assert first.entropy.mean() == pytest.approx(uniform, abs=0.01)  # random init: near uniform
    assert last.entropy.mean() < uniform - 0.5  # trained kernels concentrate their weight
    # the lean map's full-brightness length: a hundredth of a pixel at random init
    assert lean_scale(first) < 0.05 < 1.0 < lean_scale(last)
    length = np.hypot(last.com_dy[0], last.com_dx[0])
    assert (length <= lean_scale(last)).mean() == pytest.approx(0.99, abs=0.005)


# --- the stored curves ------------------------------------------------------------------------
def test_curves_records_equal_the_json(stored):
    curves = load_curves()
    assert (curves.split, curves.heldout_images) == (stored["split"], stored["heldout_images"])
    assert curves.label == (
        f"stored (measured once by carafe-evaluate on {stored['heldout_images']} held-out scenes)"
    )
    rows = sorted(stored["snapshots"], key=lambda r: r["steps_done"])
    assert curves.steps == [r["steps_done"] for r in rows] == STEPS
    for rec, row in zip(curves.snapshots, rows, strict=True):
        assert rec.checkpoint == row["checkpoint"]
        assert (rec.miou, rec.boundary_f, rec.class_boundary_f) == (
            row["miou"],
            row["boundary_f"],
            row["class_boundary_f"],
        )
        assert dict(rec.per_class_iou) == row["per_class_iou"]
        ka = row["kernel_alignment"]
        assert rec.boundary_pixels == ka["boundary_pixels"]
        for method in ("carafe", "carafe_moved", "bilinear", "nearest", "uniform"):
            assert getattr(rec.own_share, method) == ka["own_object_share"][method]
            assert getattr(rec.off_centre_own_share, method) == ka["off_centre_own_share"][method]
        assert [r.step_index for r in rec.border_ring] == [
            r["step_index"] for r in row["border_ring"]
        ]
        for ring, raw in zip(rec.border_ring, row["border_ring"], strict=True):
            assert ring.padding_weight_median == raw["padding_weight_median"]
            assert ring.outward_share == raw["outward_share"]
            assert ring.ring_magnitude_ratio == raw["ring_magnitude_ratio"]
            assert rec.ring(raw["step_index"]) is ring
    series = padding_series(curves.snapshots)
    assert list(series) == [r["step_index"] for r in rows[0]["border_ring"]]
    for index, values in series.items():
        assert values == [
            next(r["padding_weight_median"] for r in row["border_ring"] if r["step_index"] == index)
            for row in rows
        ]


# --- sentences from constructed records -------------------------------------------------------
def _record(steps, carafe, moved, bilinear=0.8, padding=()) -> SnapshotMetrics:
    """A snapshot record with the given off-centre shares and ring padding weights (one per
    FPN step, coarsest first)."""
    shares = MethodShares(carafe=carafe, carafe_moved=moved, bilinear=bilinear)
    rings = tuple(
        RingMeasures(len(padding) - 1 - i, p, 0.5, 0.0, 1.0, 1.0) for i, p in enumerate(padding)
    )
    return SnapshotMetrics(
        steps, f"step_{steps:04d}.safetensors", 0, 0, 0, (), 1, shares, shares, rings
    )


def test_content_aware_from_step_50():
    records = [
        _record(0, 0.62, 0.62),
        _record(25, 0.64, 0.63),
        _record(50, 0.72, 0.66),
        _record(100, 0.85, 0.68),
    ]
    text = content_aware_sentence(records)
    assert "become content-aware at step 50" in text
    assert "0.720 against 0.660, a gap of 0.060; at step 25 it was 0.010" in text
    assert "by at least 0.05" in text
    assert "stays at or above the margin in every later snapshot (0.170 at step 100)" in text
    assert (
        "first passes bilinear's fixed kernel at step 100 (0.850 against bilinear's 0.800)" in text
    )
    assert "never" not in text
    # the margin is a parameter: a smaller one is met earlier
    assert "content-aware at step 25" in content_aware_sentence(records, margin=0.005)


def test_content_aware_never():
    records = [_record(0, 0.62, 0.62), _record(50, 0.66, 0.64), _record(100, 0.70, 0.66)]
    text = content_aware_sentence(records)
    assert "never become content-aware in these 3 snapshots (steps 0–100)" in text
    assert "largest gap is 0.040, at step 100" in text
    assert "never passes bilinear's fixed kernel: its highest is 0.700 at step 100" in text
    assert "become content-aware at step" not in text


def test_content_aware_gap_that_closes_again_is_said():
    records = [_record(0, 0.6, 0.6), _record(50, 0.7, 0.6), _record(100, 0.62, 0.6)]
    text = content_aware_sentence(records)
    assert "content-aware at step 50" in text
    assert "falls below that margin again at step 100." in text
    assert "stays" not in text


def test_content_aware_without_numbers():
    records = [_record(0, None, None), _record(50, 0.7, None)]
    assert "cannot say" in content_aware_sentence(records)


def test_border_padding_rises_and_overshoots():
    records = [
        _record(0, 0.6, 0.6, padding=(0.52, 0.40)),
        _record(100, 0.6, 0.6, padding=(0.76, 0.80)),
        _record(800, 0.6, 0.6, padding=(0.64, 0.65)),
    ]
    text = border_padding_sentence(records, {1: "P4→P3", 0: "P3→P2"})
    assert "(P4→P3 / P3→P2) is 0.52 / 0.40 at step 0 and 0.64 / 0.65 at step 800" in text
    assert "rises at every FPN step" in text
    assert "overshoots: 0.76 at step 100 (P4→P3), 0.80 at step 100 (P3→P2)" in text
    assert "over half of the ring's kernel weight lies on the padding" in text
    assert "falls" not in text


def test_border_padding_falls_without_overshoot():
    records = [
        _record(0, 0.6, 0.6, padding=(0.52, 0.40)),
        _record(800, 0.6, 0.6, padding=(0.20, 0.10)),
    ]
    text = border_padding_sentence(records)
    assert "(FPN step 1 / FPN step 0)" in text
    assert "falls at every FPN step" in text
    assert "rises" not in text and "overshoots" not in text
    assert "at most half" in text


def test_border_padding_mixed_and_flat():
    records = [
        _record(0, 0.6, 0.6, padding=(0.4, 0.4, 0.4)),
        _record(800, 0.6, 0.6, padding=(0.6, 0.2, 0.42)),
    ]
    text = border_padding_sentence(records, {2: "A", 1: "B", 0: "C"})
    assert "It rises at A; it falls at B; it changes by less than 0.05 at C." in text
    assert "every FPN step" not in text
    same = border_padding_sentence(
        [_record(0, 0.6, 0.6, padding=(0.4,)), _record(8, 0.6, 0.6, padding=(0.42,))]
    )
    assert "changes by less than 0.05 at every FPN step" in same


def test_border_padding_without_ring_measures():
    assert "cannot say" in border_padding_sentence([_record(0, 0.6, 0.6), _record(8, 0.6, 0.6)])


# --- the stored numbers, recomputed from the shipped snapshot files ---------------------------
def test_trained_snapshot_segments_far_better_than_random_init(snapshots):
    """Guards the data: the last step on the first 32 held-out scenes is far above step 0 (the
    full recompute is the slow test below)."""
    data = load_split("heldout", 32, 128)
    first = evaluate_model(load_snapshot(snapshots[0]), data.images, data.labels)
    last = evaluate_model(load_snapshot(snapshots[LAST]), data.images, data.labels)
    assert first["miou"] < 15
    assert last["miou"] > first["miou"] + 40


@pytest.mark.slow
def test_every_stored_miou_is_recomputed_from_its_snapshot(snapshots, stored):
    """All 9 snapshots on all stored held-out scenes (minutes on 2 cores)."""
    data = load_split("heldout", stored["heldout_images"], stored.get("image_size", 128))
    for row in stored["snapshots"]:
        got = evaluate_model(load_snapshot(snapshots[row["steps_done"]]), data.images, data.labels)
        assert got["miou"] == pytest.approx(row["miou"], abs=0.05), row["steps_done"]
        assert got["boundary_f"] == pytest.approx(row["boundary_f"], abs=0.05), row["steps_done"]


def test_the_last_snapshot_is_the_shipped_model(snapshots):
    """The page says so: the snapshots are the shipped CARAFE's own run."""
    from safetensors.torch import load_file

    from carafe.assets import ASSETS_DIR

    last = load_file(str(snapshots[LAST].path))
    shipped = load_file(str(ASSETS_DIR / "carafe.safetensors"))
    assert last.keys() == shipped.keys()
    assert all(torch.equal(last[k], shipped[k]) for k in last)


def test_content_aware_headline_both_ways():
    """The page's one-line notice reads the same rule as the full sentence."""
    aware = [_record(0, 0.62, 0.62), _record(50, 0.72, 0.66), _record(100, 0.85, 0.68)]
    assert content_aware_headline(aware) == (
        "By the stored numbers the kernels become content-aware at step 50: off-centre "
        "own-object share 0.720 against 0.660 for the same kernels moved."
    )
    never = [_record(0, 0.62, 0.62), _record(100, 0.70, 0.66)]
    assert content_aware_headline(never) == (
        "By the stored numbers the kernels never become content-aware in steps 0–100."
    )
    assert "cannot say" in content_aware_headline([_record(0, None, None)])


def test_lean_sentence_says_how_far_the_shown_snapshot_leans():
    """Step 0's 0.0096 px against 2.4 px is "under 1 %", not a strong lean; the last snapshot
    is named the shipped model; the one scale is said."""
    noise = lean_sentence(0, 0.0096, 2400, 2.4, 2.4)
    assert noise.startswith("After 0 steps the kernels lean up to 0.0096 px, under 1 % of the")
    assert "full brightness = 2.4 px on every snapshot" in noise
    half = lean_sentence(400, 1.2, 2400, 2.4, 2.6)
    assert "1.2 px, 0.5× the 2.4 px after 2400 steps" in half and "= 2.6 px" in half
    last = lean_sentence(2400, 2.4, 2400, 2.4, 2.4)
    assert last.startswith("After 2400 steps (the shipped model) the kernels lean up to 2.4 px")
