"""The stored photo-model targets in words: held, or missed with the numbers."""

from __future__ import annotations

from carafe.inspect.photo_models import stored_photo_sentences


def _metrics(held: bool) -> dict:
    values = {
        "coffee.png": {"carafe": 0.81, "bilinear": 0.77},
        "gravel.png": {"carafe": 0.69, "bilinear": 0.72},
    }
    target = {
        "upsampler": "carafe",
        "seed": 0,
        "target": "off-centre own share at or above bilinear's on every photo",
        "held": held,
        "misses": [] if held else ["gravel.png"],
        "values": values,
    }
    moved = {
        "upsampler": "carafe",
        "seed": 0,
        "target": "own-region share at least 0.05 above its moved control",
        "held": False,
        "misses": ["coffee.png"],
        "values": {"coffee.png": {"carafe": 0.84, "carafe_moved": 0.80}},
    }
    other = dict(target, upsampler="fade")
    return {"photo_models": {"targets": [target, moved, other]}}


def test_a_missed_target_gives_the_photos_and_their_numbers():
    lines = stored_photo_sentences(_metrics(held=False), "carafe")
    assert len(lines) == 2  # only CARAFE's targets
    assert lines[0] == (
        "CARAFE photo model, seed 0: off-centre own share at or above bilinear's on every photo: "
        "**missed** on 1 of 2 photos (gravel CARAFE 0.690, bilinear's kernel 0.720)."
    )
    assert "(coffee CARAFE 0.840, its moved control 0.800)" in lines[1]


def test_a_held_target_says_so_and_nothing_stored_says_nothing():
    lines = stored_photo_sentences(_metrics(held=True), "carafe")
    assert lines[0].endswith("every photo: holds on all 2 held-out photos.")
    assert stored_photo_sentences({}, "carafe") == []
    assert stored_photo_sentences(None, "carafe") == []
