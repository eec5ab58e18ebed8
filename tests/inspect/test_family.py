"""The family table: measured rows with their CIs, sentences that claim only what the CI
allows, and the published numbers labelled as stored with their sources."""

from carafe.inspect.family import (
    PUBLISHED,
    FamilyRow,
    difference_sentence,
    family_rows,
    family_table,
    published_table,
)


def _ci(d, lo, hi):
    return {"difference": d, "ci_low": lo, "ci_high": hi}


METRICS = {
    "sizes": {
        "runs": [
            {"upsampler": "fade", "seed": 0, "by_size": {"256": {"miou": 86.0}}},
            {"upsampler": "carafe", "seed": 0, "by_size": {"256": {"miou": 87.5}}},
        ],
        "differences": [
            {"upsampler": "fade", "against": "bilinear", "seed": 0,
             "by_size": {"256": _ci(1.8, 1.1, 2.5)}},
            {"upsampler": "fade", "against": "carafe", "seed": 0,
             "by_size": {"256": _ci(-1.5, -2.1, -0.9)}},
        ],
    }
}  # fmt: skip


def test_rows_carry_both_cis_and_the_table_formats_them():
    rows = family_rows(METRICS)
    fade = next(r for r in rows if r.kind == "fade")
    assert fade.vs_twin["difference"] == 1.8 and fade.vs_carafe["ci_high"] == -0.9
    table = family_table(METRICS, 256)
    assert table.rows[0]["− bilinear twin (95 % CI)"] == "+1.80 [+1.10, +2.50]"
    assert table.rows[1]["− CARAFE"] == "–"  # CARAFE is not compared with itself
    assert family_table({}, 256).rows == []


def test_sentences_claim_only_what_the_ci_allows():
    above = FamilyRow("fade", 0, 256, 86.0, _ci(1.8, 1.1, 2.5), _ci(-1.5, -2.1, -0.9))
    text = difference_sentence(above)
    assert "above the bilinear twin by 1.80" in text and "below CARAFE by 1.50" in text
    tie = FamilyRow("sapa", 1, 256, 84.0, _ci(0.3, -0.4, 1.0), None)
    text = difference_sentence(tie)
    assert "not separable from the bilinear twin" in text and "contains 0" in text
    assert "CARAFE" not in text
    alone = FamilyRow("sapa", 0, 128, 62.7, None, None)
    assert difference_sentence(alone) == "SAPA (seed 0) scores 62.70 mIoU at 128 px."


def test_published_numbers_are_labelled_as_stored_with_sources():
    table = published_table()
    assert len(table.rows) == len(PUBLISHED) and all(r["source"] for r in table.rows)
    assert "stored" in table.caption and "±0.5 mIoU" in table.caption
    values = {(p.upsampler, p.metric): p.value for p in PUBLISHED}
    assert values[("FADE", "mIoU")] == 44.41 and values[("CARAFE", "AP")] == 38.6
