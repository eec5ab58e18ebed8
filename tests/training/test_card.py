"""The model card is generated from the stored measurements, and its words follow the numbers."""

import json

import pytest

from carafe.assets import METRICS_FILE
from carafe.training.card import (
    CARD_FILE,
    SNAPSHOT_METRICS,
    _alignment_prose,
    _size_prose,
    model_card,
)


def test_the_shipped_card_is_the_one_the_stored_numbers_give():
    if not METRICS_FILE.is_file():
        pytest.skip("no assets/metrics.json")
    metrics = json.loads(METRICS_FILE.read_text())
    snapshots = json.loads(SNAPSHOT_METRICS.read_text()) if SNAPSHOT_METRICS.is_file() else None
    assert CARD_FILE.read_text() == model_card(metrics, snapshots), (
        "assets/MODEL_CARD.md is out of date: run python -m carafe.training.card"
    )


def _sizes(carafe_miou, bilinear_miou, ci):
    def run(kind, miou, off=None):
        align = None
        if off is not None:
            align = {
                "off_centre_own_share": dict(
                    zip(("carafe", "carafe_moved", "bilinear"), off, strict=True)
                )
            }
        return {
            "upsampler": kind,
            "seed": 0,
            "by_size": {"128": {"miou": miou, "kernel_alignment": align}},
        }

    return {
        "sizes": [128],
        "runs": [run("carafe", carafe_miou, (0.9, 0.7, 0.8)), run("bilinear", bilinear_miou)],
        "differences": [
            {
                "upsampler": "carafe",
                "against": "bilinear",
                "seed": 0,
                "by_size": {"128": dict(zip(("difference", "ci_low", "ci_high"), ci, strict=True))},
            }
        ],
    }


def test_size_prose_says_met_when_met_and_missed_by_how_much_when_not():
    met = _size_prose(_sizes(80.0, 75.0, (5.0, 3.0, 7.0)))
    assert "Every run scores at least 70 mIoU" in met and "lowest is 75.00" in met
    assert "above it with the 95 % interval clear of zero at 128 px" in met
    missed = _size_prose(_sizes(80.0, 68.5, (11.5, 9.0, 14.0)))
    assert "missed by bilinear twin seed 0 at 128 px (68.50, 1.50 short)" in missed


def test_size_prose_says_when_the_interval_straddles_zero_or_lies_below():
    assert "not separable from it at 128 px" in _size_prose(_sizes(75.5, 75.0, (0.5, -0.4, 1.2)))
    assert "below it, interval clear of zero, at 128 px" in _size_prose(
        _sizes(74.0, 75.0, (-1.0, -1.8, -0.2))
    )


def test_alignment_prose_names_the_sizes_where_carafe_loses():
    sizes = _sizes(80.0, 75.0, (5.0, 3.0, 7.0))
    assert "beats both bilinear's and the moved control's at 128 px" in _alignment_prose(sizes)
    sizes["runs"][0]["by_size"]["128"]["kernel_alignment"]["off_centre_own_share"]["carafe"] = 0.75
    text = _alignment_prose(sizes)
    assert "does not beat both bilinear's and the moved control's at any size" in text
    # with two sizes, one won and one lost: both are named
    run = sizes["runs"][0]
    run["by_size"]["256"] = {
        "miou": 80.0,
        "kernel_alignment": {
            "off_centre_own_share": {"carafe": 0.95, "carafe_moved": 0.7, "bilinear": 0.8}
        },
    }
    sizes["sizes"] = [128, 256]
    text = _alignment_prose(sizes)
    assert "beats both bilinear's and the moved control's at 256 px" in text
    assert "it does not at 128 px" in text
