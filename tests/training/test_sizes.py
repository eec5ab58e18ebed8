"""The size table's pieces: per-scene confusions, the paired bootstrap, the photo regions."""

import numpy as np
import pytest
import torch

from carafe.models import build_model, default_config
from carafe.training.data import load_split
from carafe.training.evaluate import evaluate_model, predict, scene_confusions, scores
from carafe.training.metrics import mean_iou
from carafe.training.regions import heldout_photo, photo_regions, region_alignment
from carafe.training.sizes import batch_for_size, miou_difference_ci, size_row


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
