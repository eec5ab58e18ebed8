"""The generated textured-shapes data: determinism, splits, labels and cache."""

import numpy as np
import pytest
import torch

from carafe.data import CLASS_NAMES, load_split, make_scene


def test_scene_is_deterministic_and_labelled():
    image_a, labels_a = make_scene(np.random.default_rng([7, 3]), 96)
    image_b, labels_b = make_scene(np.random.default_rng([7, 3]), 96)
    assert image_a.shape == (96, 96, 3) and image_a.dtype == np.uint8
    assert labels_a.shape == (96, 96) and labels_a.max() < len(CLASS_NAMES)
    np.testing.assert_array_equal(image_a, image_b)
    np.testing.assert_array_equal(labels_a, labels_b)
    assert len(np.unique(labels_a)) >= 2  # background plus at least one shape
    assert image_a.std() > 10  # textured, not flat


def test_splits_differ_and_cache_round_trips(tmp_path):
    train = load_split("train", 6, 64, cache_dir=tmp_path)
    val = load_split("heldout", 6, 64)
    assert train.images.shape == (6, 3, 64, 64) and train.labels.dtype == torch.long
    assert not torch.equal(train.images, val.images)
    cached = load_split("train", 6, 64, cache_dir=tmp_path)
    assert torch.equal(cached.images, train.images) and torch.equal(cached.labels, train.labels)
    images, labels = train.batch(torch.tensor([1, 4]))
    assert images.dtype == torch.float32 and 0 <= images.min() and images.max() <= 1
    assert torch.equal(labels, train.labels[[1, 4]])


def test_every_class_appears():
    data = load_split("heldout", 20, 64)
    assert set(data.labels.unique().tolist()) == set(range(len(CLASS_NAMES)))


def test_unknown_split():
    with pytest.raises(ValueError, match="unknown split 'test'"):
        load_split("test", 1)
