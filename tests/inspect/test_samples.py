"""The shapes samples are the held-out scenes they claim, and the shipped models segment them."""

import numpy as np
import pytest
import torch

from carafe.assets import SAMPLES_DIR
from carafe.inspect.imageio import SAMPLE_SCENES, load_image_file, sample_scene
from carafe.models import list_pretrained, load_pretrained
from carafe.training.sizes import WORKING_RANGE

MIN_PIXEL_ACCURACY = 0.90


@pytest.mark.parametrize("name", sorted(SAMPLE_SCENES))
def test_shapes_sample_is_its_regenerated_scene(name):
    image, labels = sample_scene(name)
    shipped = load_image_file(SAMPLES_DIR / name).array
    assert np.array_equal(shipped, image)
    assert labels.shape == image.shape[:2] and set(np.unique(labels)) == {0, 1, 2, 3, 4}
    assert WORKING_RANGE[0] <= max(image.shape[:2]) <= WORKING_RANGE[1]


def test_photos_have_no_scene():
    assert sample_scene("cat.jpg") is None


@pytest.mark.parametrize("model_name", ["carafe", "bilinear", "dysample"])
def test_shipped_models_segment_every_shapes_sample(model_name):
    assert model_name in list_pretrained()
    model = load_pretrained(model_name)
    for name in sorted(SAMPLE_SCENES):
        image, labels = sample_scene(name)
        x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255.0
        with torch.no_grad():
            pred = model(x).argmax(1)[0].numpy()
        accuracy = float((pred == labels).mean())
        assert accuracy >= MIN_PIXEL_ACCURACY, (model_name, name, accuracy)
