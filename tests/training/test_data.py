"""The generated textured-shapes data: determinism, splits, labels and cache."""

import numpy as np
import pytest
import torch

import carafe.training.data as data_module
from carafe.training.data import CLASS_NAMES, SOURCE_PHOTOS, load_split, make_scene


def test_scene_is_deterministic_and_labelled():
    image_a, labels_a = make_scene(np.random.default_rng([7, 3]), 96)
    image_b, labels_b = make_scene(np.random.default_rng([7, 3]), 96)
    assert image_a.shape == (96, 96, 3) and image_a.dtype == np.uint8
    assert labels_a.shape == (96, 96) and labels_a.max() < len(CLASS_NAMES)
    np.testing.assert_array_equal(image_a, image_b)
    np.testing.assert_array_equal(labels_a, labels_b)
    assert len(np.unique(labels_a)) >= 2  # background plus at least one shape
    assert image_a.std() > 10  # textured, not flat


def test_source_photos_are_disjoint_and_exist():
    train, heldout = set(SOURCE_PHOTOS["train"]), set(SOURCE_PHOTOS["heldout"])
    assert train and heldout and not train & heldout
    assert set(SOURCE_PHOTOS) == {"train", "heldout"}
    for split in SOURCE_PHOTOS:  # loads every photo (raises if one is missing)
        assert len(data_module.photo_textures(split)) == 2 * len(SOURCE_PHOTOS[split])


@pytest.mark.parametrize("split", ["train", "heldout"])
def test_scenes_draw_only_their_own_photos(split, monkeypatch):
    asked = []
    real = data_module.photo_textures

    def recording(which):
        asked.append(which)
        return real(which)

    monkeypatch.setattr(data_module, "photo_textures", recording)
    load_split(split, 5, 64)
    assert asked and set(asked) == {split}


def test_splits_differ_and_cache_round_trips(tmp_path):
    train = load_split("train", 20, 64, cache_dir=tmp_path)
    heldout = load_split("heldout", 20, 64)
    assert train.images.shape == (20, 3, 64, 64) and train.labels.dtype == torch.long
    # No held-out image equals, or is a near copy of, any training image.
    diff = (train.images[:, None].float() - heldout.images[None].float()).abs().mean((2, 3, 4))
    assert diff.min() > 5
    cached = load_split("train", 20, 64, cache_dir=tmp_path)
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
    with pytest.raises(ValueError, match="unknown split 'val'"):
        make_scene(np.random.default_rng(0), 32, "val")
