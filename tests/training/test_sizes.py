"""The size table's pieces: per-scene confusions, the paired bootstrap, the photo regions."""

import json
import os

import numpy as np
import pytest
import torch

from carafe.models import build_model, default_config
from carafe.training.data import load_split
from carafe.training.evaluate import evaluate_model, predict, scene_confusions, scores
from carafe.training.metrics import mean_iou
from carafe.training.regions import heldout_photo, photo_regions, region_alignment
from carafe.training.sizes import (
    ADDED_SIZES,
    BASE_SIZES,
    PADDED_SIZES,
    PADDING,
    SIZE_SCENES,
    TABLE_SIZES,
    _write_sections,
    batch_for_size,
    merge_added_sizes,
    miou_difference_ci,
    size_columns,
    size_markdown,
    size_row,
)


def _confusions(pred, labels, k=3):
    return scene_confusions(torch.as_tensor(pred), torch.as_tensor(labels), k)


def test_scene_confusions_count_every_pixel_of_each_scene():
    g = torch.Generator().manual_seed(1)
    labels = torch.randint(3, (4, 6, 5), generator=g)
    pred = torch.randint(3, (4, 6, 5), generator=g)
    conf = _confusions(pred, labels)
    assert conf.shape == (4, 3, 3)
    assert (conf.sum((1, 2)) == 30).all()
    for n in range(4):
        for t in range(3):
            for p in range(3):
                assert conf[n, t, p] == int(((labels[n] == t) & (pred[n] == p)).sum())


def test_scores_match_evaluate_model():
    torch.manual_seed(0)
    data = load_split("heldout", 3, 64)
    model = build_model(default_config("carafe", fpn_channels=8))
    pred = predict(model, data.images, batch_size=2)
    assert pred.shape == data.labels.shape and pred.dtype == torch.uint8
    direct = evaluate_model(model, data.images, data.labels, batch_size=2)
    scored = scores(pred, data.labels, model.class_names)
    for key in ("miou", "boundary_f", "class_boundary_f"):
        assert scored[key] == pytest.approx(direct[key])
    assert scored["per_class_iou"] == pytest.approx(direct["per_class_iou"])


def test_bootstrap_of_identical_models_is_exactly_zero():
    g = torch.Generator().manual_seed(2)
    labels = torch.randint(3, (20, 8, 8), generator=g)
    conf = _confusions(torch.randint(3, (20, 8, 8), generator=g), labels)
    ci = miou_difference_ci(conf, conf.clone(), samples=200)
    assert ci["difference"] == ci["ci_low"] == ci["ci_high"] == 0.0


def test_bootstrap_separates_a_better_model_and_brackets_the_point_estimate():
    g = torch.Generator().manual_seed(3)
    labels = torch.randint(3, (40, 8, 8), generator=g)
    noisy = labels.clone()
    flip = torch.rand(labels.shape, generator=g) < 0.3
    noisy[flip] = torch.randint(3, (int(flip.sum()),), generator=g)
    worse = labels.clone()
    flip = torch.rand(labels.shape, generator=g) < 0.6
    worse[flip] = torch.randint(3, (int(flip.sum()),), generator=g)
    a, b = _confusions(noisy, labels), _confusions(worse, labels)
    ci = miou_difference_ci(a, b, samples=300)
    expected = 100 * (mean_iou(a.sum(0))[0] - mean_iou(b.sum(0))[0])
    assert ci["difference"] == pytest.approx(expected)
    assert 0 < ci["ci_low"] < ci["difference"] < ci["ci_high"]
    reverse = miou_difference_ci(b, a, samples=300)
    assert reverse["ci_high"] < 0


def test_bootstrap_needs_the_same_scenes():
    a = torch.ones(5, 3, 3, dtype=torch.long)
    with pytest.raises(ValueError, match="same scenes"):
        miou_difference_ci(a, a[:4])


def test_batches_shrink_with_size_but_never_below_one():
    assert batch_for_size(128) == 50
    assert batch_for_size(256) == 12
    assert batch_for_size(4096) == 1


def test_size_row_scores_and_aligns_a_carafe_model():
    torch.manual_seed(0)
    data = load_split("heldout", 2, 96)
    model = build_model(default_config("carafe", fpn_channels=8))
    row, conf = size_row(model, data.images, data.labels)
    assert conf.shape == (2, 5, 5) and int(conf.sum()) == 2 * 96 * 96
    assert 0 <= row["miou"] <= 100
    shares = row["kernel_alignment"]["own_object_share"]
    assert {"carafe", "carafe_moved", "bilinear", "nearest"} <= set(shares)


def test_the_table_holds_sizes_the_model_pads():
    assert TABLE_SIZES == tuple(sorted(BASE_SIZES + ADDED_SIZES))
    assert all(s % 32 == 0 for s in BASE_SIZES)  # every run of the first table: no padding
    assert PADDED_SIZES == (200, 300, 450) and PADDING == "replicate"
    assert 448 in ADDED_SIZES and 448 not in PADDED_SIZES  # 14 x 32: not padded
    assert all(SIZE_SCENES[s] == 200 for s in ADDED_SIZES)


def _row(miou, boundary_f):
    share = {"carafe": 0.9, "carafe_moved": 0.6, "bilinear": 0.8, "nearest": None}
    return {
        "miou": miou,
        "boundary_f": boundary_f,
        "kernel_alignment": {"own_object_share": share, "off_centre_own_share": share},
    }


def _ci(difference):
    return {"difference": difference, "ci_low": difference - 1, "ci_high": difference + 1}


def _stored_section():
    """A stored size table of multiples of 32 only: two seeds of CARAFE and the twin."""
    runs = [
        {"upsampler": kind, "seed": seed, "by_size": {"128": _row(m, b), "256": _row(m + 10, b)}}
        for kind, seed, m, b in [
            ("carafe", 0, 71.25, 60.5),
            ("carafe", 1, 70.75, 59.5),
            ("bilinear", 0, 69.5, 55.25),
            ("bilinear", 1, 68.0, 54.0),
        ]
    ]
    diffs = [
        {
            "upsampler": "carafe",
            "against": "bilinear",
            "seed": seed,
            "by_size": {"128": _ci(d), "256": _ci(d + 1)},
        }
        for seed, d in ((0, 1.75), (1, 2.75))
    ]
    return {
        "sizes": [128, 256],
        "scenes": {"128": 500, "256": 200},
        "runs": runs,
        "differences": diffs,
        "photos": "kept",
    }


def _added_scores():
    """What score_added gives for the seed-0 pair, at 200 px only here."""
    return {
        "runs": {
            ("carafe", 0): ("assets/carafe.safetensors", {"200": _row(83.5, 77.25)}),
            ("bilinear", 0): ("assets/bilinear.safetensors", {"200": _row(79.25, 70.5)}),
        },
        "differences": [
            {"upsampler": "carafe", "against": "bilinear", "seed": 0, "by_size": {"200": _ci(4.25)}}
        ],
    }


def test_merge_adds_the_padded_rows_and_keeps_the_stored_ones():
    stored = _stored_section()
    before = json.loads(json.dumps(stored))
    merged = merge_added_sizes(stored, _added_scores())
    assert stored == before  # a copy: the stored section is left alone
    runs = {(r["upsampler"], r["seed"]): r for r in merged["runs"]}
    assert runs[("carafe", 0)]["by_size"]["200"]["miou"] == 83.5
    assert runs[("carafe", 0)]["by_size"]["128"] == before["runs"][0]["by_size"]["128"]
    assert runs[("carafe", 0)]["added_checkpoint"] == "assets/carafe.safetensors"
    assert set(runs[("carafe", 1)]["by_size"]) == {"128", "256"}  # seed 1: not measured
    diff0, diff1 = merged["differences"]
    assert diff0["by_size"]["200"]["difference"] == 4.25 and "200" not in diff1["by_size"]
    assert merged["sizes"] == [128, 256]  # every run has these
    assert merged["added_sizes"] == [200] and "seed-0" in merged["added_note"]
    assert merged["padded_sizes"] == [200] and merged["padding"] == "replicate"
    assert "replicating" in merged["padding_note"]
    assert merged["scenes"] == {"128": 500, "200": 200, "256": 200}
    assert merged["photos"] == "kept"
    # merging again (e.g. another added size) keeps what was added before
    again = _added_scores()
    again["runs"] = {key: (ckpt, {"448": row["200"]}) for key, (ckpt, row) in again["runs"].items()}
    again["differences"][0]["by_size"] = {"448": _ci(3.0)}
    twice = merge_added_sizes(merged, again)
    assert twice["added_sizes"] == [200, 448] and twice["padded_sizes"] == [200]
    assert set(twice["runs"][0]["by_size"]) == {"128", "200", "256", "448"}


def test_merge_refuses_a_run_the_table_lacks():
    padded = _added_scores()
    padded["runs"][("fade", 0)] = ("assets/fade.safetensors", {"200": _row(80.0, 70.0)})
    with pytest.raises(ValueError, match="not in the stored size table"):
        merge_added_sizes(_stored_section(), padded)


def test_size_markdown_shows_the_padded_sizes_with_a_dash_where_unmeasured():
    sizes = merge_added_sizes(_stored_section(), _added_scores())
    assert size_columns(sizes) == ["128", "200", "256"]
    text = size_markdown(sizes)
    lines = text.splitlines()
    assert lines[0] == (
        "| upsampler | seed | mIoU: 128 px | 200 px* | 256 px | "
        "boundary F: 128 px | 200 px* | 256 px |"
    )
    assert "| carafe | 0 | 71.25 | 83.50 | 81.25 | 60.50 | 77.25 | 60.50 |" in lines
    assert "| carafe | 1 | 70.75 | – | 80.75 | 59.50 | – | 59.50 |" in lines
    assert "| carafe − bilinear | 0 | +1.75 [+0.75, +2.75] | +4.25 [+3.25, +5.25] | " in text
    assert "| carafe − bilinear | 1 | +2.75 [+1.75, +3.75] | – | +3.75 [+2.75, +4.75] |" in text
    assert f"\\* {sizes['padding_note']} {sizes['added_note']}" in lines
    assert "| carafe 0 | 200 px |" in text and "| carafe 1 | 200 px |" not in text
    # a table without padded sizes stays as it was: no stars, no note
    plain = size_markdown(_stored_section())
    assert "*" not in plain and "200 px" not in plain


def test_write_sections_rereads_the_file_and_keeps_the_other_sections(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps({"runs": [1], "sizes": {"old": True}}))
    sizes = {"sizes": [128], "runs": []}
    path.write_text(json.dumps({"runs": [1], "border": {"written": "meanwhile"}, "sizes": {}}))
    path.chmod(0o644)
    _write_sections(path, {"sizes": sizes})
    assert path.stat().st_mode & 0o777 == 0o644
    payload = json.loads(path.read_text())
    assert payload == {"runs": [1], "border": {"written": "meanwhile"}, "sizes": sizes}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no temporary file left


def test_scored_run_reuses_cached_sizes_and_scores_only_the_missing_ones(tmp_path, monkeypatch):
    import carafe.training.sizes as sizes_module
    from carafe.training.data import ShapesData

    ckpt = tmp_path / "m.safetensors"
    ckpt.write_bytes(b"weights")
    scored = []

    def fake_row(model, images, labels):
        scored.append(images.shape[-1])
        return {"miou": float(images.shape[-1])}, torch.full((1, 2, 2), images.shape[-1])

    monkeypatch.setattr(sizes_module, "load_checkpoint", lambda path: "model")
    monkeypatch.setattr(
        sizes_module,
        "load_split",
        lambda split, n, size, cache_dir: ShapesData(
            torch.zeros(1, 3, size, size, dtype=torch.uint8), torch.zeros(1, size, size)
        ),
    )
    monkeypatch.setattr(sizes_module, "size_row", fake_row)
    cache = tmp_path / "store" / "m.added.pt"
    first = sizes_module._scored_run(ckpt, None, (200, 300), cache)
    assert scored == [200, 300] and first["by_size"]["300"]["miou"] == 300.0
    second = sizes_module._scored_run(ckpt, None, (200, 300, 450), cache)
    assert scored == [200, 300, 450]  # 200 and 300 came from the cache
    assert list(second["by_size"]) == ["200", "300", "450"]
    assert int(second["confusions"]["450"][0, 0, 0]) == 450
    subset = sizes_module._scored_run(ckpt, None, (450,), cache)
    assert scored == [200, 300, 450] and list(subset["by_size"]) == ["450"]
    ckpt.write_bytes(b"new weights")  # a changed checkpoint is scored again
    os.utime(ckpt, ns=(1, 1))
    sizes_module._scored_run(ckpt, None, (200,), cache)
    assert scored == [200, 300, 450, 200]


def _two_region_photo(rng):
    """Left half dark, right half bright, each with its own noisy texture."""
    image = np.empty((64, 80, 3), np.uint8)
    image[:, :40] = rng.integers(10, 50, (64, 40, 3))
    image[:, 40:] = rng.integers(200, 240, (64, 40, 3))
    return image


def test_photo_regions_split_a_two_region_photo_at_its_edge():
    regions = photo_regions(_two_region_photo(np.random.default_rng(0)))
    assert regions.shape == (64, 80)
    left, right = np.unique(regions[:, :38]), np.unique(regions[:, 42:])
    assert not set(left) & set(right)


def test_photo_regions_reject_non_rgb_input():
    with pytest.raises(ValueError, match="uint8 RGB"):
        photo_regions(np.zeros((8, 8), np.uint8))
    with pytest.raises(ValueError, match="uint8 RGB"):
        photo_regions(np.zeros((8, 8, 3), np.float32))


def test_region_alignment_measures_kernels_and_skips_models_without_them():
    image = _two_region_photo(np.random.default_rng(1))
    torch.manual_seed(0)
    carafe = build_model(default_config("carafe", fpn_channels=8))
    result = region_alignment(carafe, image)
    assert result["regions"] >= 2 and result["boundary_pixels"] > 0
    for value in result["own_object_share"].values():
        assert 0.0 <= value <= 1.0
    # bilinear puts its weight on the centre taps' two nearest rows/columns: near the edge its
    # own-region share is the fraction of its taps on the own side, between 0.5 and 1
    assert 0.5 <= result["own_object_share"]["bilinear"] <= 1.0
    bilinear = build_model(default_config("bilinear", fpn_channels=8))
    assert region_alignment(bilinear, image) is None


def test_heldout_photos_only():
    assert max(heldout_photo("coins.png", 128).shape[:2]) == 128
    with pytest.raises(ValueError, match="not a held-out photo"):
        heldout_photo("astronaut.png")
