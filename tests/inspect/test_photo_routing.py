"""Which checkpoint runs: photo models on photos, scene models on scenes; and the sentence on
what each kernel predictor reads."""

from __future__ import annotations

import numpy as np

from carafe.inspect import catalog
from carafe.inspect.kernel_family import FamilyKernel, predictor_sentence


def _kernel(name: str, guided: bool, own: float | None) -> FamilyKernel:
    k = np.full((5, 5), 1 / 25)
    return FamilyKernel(name.lower(), name, k, 0.04, float(np.log(25)), own, guided)


def test_photo_models_run_in_place_of_their_scene_models(monkeypatch):
    monkeypatch.setattr(catalog, "_pretrained", lambda: ["carafe", "carafe_photo", "fade"])
    assert catalog.model_names() == ["carafe", "fade"]  # photo models are not listed
    assert catalog.running_model("carafe", photos=True) == "carafe_photo"
    assert catalog.running_model("carafe", photos=False) == "carafe"
    assert catalog.running_model("fade", photos=True) == "fade"  # no photo model: the scene one
    assert catalog.photo_model_of("fade") is None
    assert catalog.trained_for("carafe_photo") == catalog.TRAINED_FOR_PHOTOS
    assert "no labels" in catalog.TRAINED_FOR_PHOTOS
    assert catalog.trained_for("carafe") == catalog.TRAINED_FOR_SCENES
    assert catalog.model_label("fade_photo") == "FADE photo model"


def test_predictor_sentence_names_what_each_reads_and_the_best_follower():
    kernels = [_kernel("CARAFE", False, 0.71), _kernel("FADE", True, 0.90)]
    text = predictor_sentence(kernels)
    assert text.startswith("CARAFE predicts its kernel from the coarse map alone; FADE also")
    assert (
        "FADE, which reads the fine map, puts the most weight on the pixel's own region: 0.90"
        in text
    )
    text = predictor_sentence(
        [_kernel("CARAFE", False, 0.92), _kernel("SAPA", True, 0.80)], "object"
    )
    assert (
        "CARAFE, which reads the coarse map alone, puts the most weight" in text
        and "object" in text
    )


def test_predictor_sentence_says_a_tie_and_stays_quiet_without_shares():
    tie = predictor_sentence([_kernel("CARAFE", False, 0.80), _kernel("FADE", True, 0.81)])
    assert "about the same weight" in tie and "the most" not in tie
    quiet = predictor_sentence([_kernel("CARAFE", False, None), _kernel("FADE", True, None)])
    assert (
        quiet
        == "CARAFE predicts its kernel from the coarse map alone; FADE also reads the fine map (the guide)."
    )
    both = predictor_sentence(
        [_kernel("FADE", True, None), _kernel("SAPA", True, None), _kernel("CARAFE", False, None)]
    )
    assert "FADE and SAPA also read the fine map" in both
