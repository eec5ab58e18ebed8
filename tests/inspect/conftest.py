"""Fixtures of the display-layer tests that several modules share: the default checkpoint and
its analyses of two samples, one with windows on one colour and one without."""

from __future__ import annotations

import numpy as np
import pytest

from carafe.inspect.analysis import analyze
from carafe.inspect.catalog import load_model, model_names
from carafe.inspect.imageio import load_image_file, sample_images


def _sample(name: str) -> np.ndarray:
    return load_image_file(sample_images()[name]).array


@pytest.fixture(scope="session")
def default_model():
    """The checkpoint the app opens with."""
    return load_model(model_names()[0])


@pytest.fixture(scope="session")
def astronaut(default_model):
    """(image, analysis) of a photo that has windows on one colour at the finest step."""
    image = _sample("astronaut.jpg")
    return image, analyze(default_model, image)


@pytest.fixture(scope="session")
def shapes(default_model):
    """(image, analysis) of a textured scene without a window on one colour."""
    image = _sample("shapes_1.png")
    return image, analyze(default_model, image)
