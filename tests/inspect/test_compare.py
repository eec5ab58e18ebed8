"""Where CARAFE − baseline differences lie (carafe.inspect.compare): the region split
recounted with plain loops, and the sentences worded where each fact holds and where not."""

from __future__ import annotations

import math

import numpy as np
import pytest

from carafe.inspect.compare.differences import (
    BORDER,
    EDGES,
    ELSEWHERE,
    REGIONS,
    border_padding_weight,
    difference_regions,
    split_energy,
)
from carafe.inspect.compare.words import (
    headline_sentence,
    learned_pair_sentence,
    panel_title,
    split_sentence,
    twin_input_sentence,
    twins_heading,
    undefined_share_note,
)
from carafe.ops.geometry import Geometry

# A 5×5 window, ×2, on a 16×16 input map of stride 8: the image (124×128 px) covers 15.5
# rows of input pixels, so the last map row is half image, half padded area (the model pads
# to its stride), and a window reading it reaches past the image.
GEO = Geometry(k=5, G=1, s=2, C=3, H=16, W=16, stride_in=8, stride_out=4, image_hw=(124, 128))
OUT_HW = (32, 32)
N = OUT_HW[0] * OUT_HW[1]


def _square_segmentation() -> np.ndarray:
    """Class 1 in a square in the middle of the 124×128 image, class 0 around it."""
    seg = np.zeros((124, 128), np.int32)
    seg[40:88, 48:96] = 1
    return seg


def _recount_labels(geo: Geometry, out_hw, seg) -> np.ndarray:
    """The region of every output pixel, by walking its window tap by tap."""
    h, w = seg.shape
    vh, vw = h // geo.stride_in, w // geo.stride_in  # input pixels wholly on the image
    r = (geo.k - 1) // 2
    labels = np.zeros(out_hw, int)
    for y in range(out_hw[0]):
        for x in range(out_hw[1]):
            past, classes = False, set()
            for row in range(y // geo.s - r, y // geo.s + r + 1):
                for col in range(x // geo.s - r, x // geo.s + r + 1):
                    if not (0 <= row < vh and 0 <= col < vw):
                        past = True
                        continue
                    # the class at the centre of that input-map pixel (clipped to the image)
                    iy = min(row * geo.stride_in + geo.stride_in // 2, h - 1)
                    ix = min(col * geo.stride_in + geo.stride_in // 2, w - 1)
                    classes.add(int(seg[iy, ix]))
            labels[y, x] = BORDER if past else EDGES if len(classes) > 1 else ELSEWHERE
    return labels


def test_regions_match_a_tap_by_tap_recount():
    seg = _square_segmentation()
    labels = difference_regions(GEO, OUT_HW, seg)
    np.testing.assert_array_equal(labels, _recount_labels(GEO, OUT_HW, seg))
    # every region is there; the half-padded last input row widens the frame at the bottom
    assert set(np.unique(labels)) == {BORDER, EDGES, ELSEWHERE}
    assert (labels[-6:] == BORDER).all() and not (labels[4:5, 4:28] == BORDER).any()


def test_no_segmentation_means_no_object_edges():
    labels = difference_regions(GEO, OUT_HW, None)
    assert not (labels == EDGES).any()
    np.testing.assert_array_equal(labels == BORDER, ~GEO.window_fully_in_image())


def test_split_energy_matches_a_recount():
    rng = np.random.default_rng(0)
    labels = _recount_labels(GEO, OUT_HW, _square_segmentation())
    diffs = [rng.normal(size=(3, *OUT_HW)), rng.normal(size=OUT_HW)]
    split = split_energy(diffs, labels, GEO.k)
    energy = [0.0, 0.0, 0.0]
    count = [0, 0, 0]
    for y in range(OUT_HW[0]):
        for x in range(OUT_HW[1]):
            count[labels[y, x]] += 1
            energy[labels[y, x]] += float((diffs[0][:, y, x] ** 2).sum() + diffs[1][y, x] ** 2)
    total = sum(energy)
    assert split.energy == pytest.approx(total)
    assert split.pixels == N and split.kernel_size == 5
    for i, name in enumerate(REGIONS):
        r = split.region(name)
        assert r.pixels == count[i]
        assert r.area_share == pytest.approx(count[i] / N)
        assert r.energy_share == pytest.approx(energy[i] / total)
        assert r.concentration == pytest.approx((energy[i] / total) / (count[i] / N))


def _edge_differences(labels, seed=0):
    """Differences only where the window holds two classes (labels from the recount)."""
    rng = np.random.default_rng(seed)
    return [np.where(labels == EDGES, rng.normal(size=labels.shape), 0.0)]


def test_sentence_says_edges_where_the_differences_lie_at_object_edges():
    labels = _recount_labels(GEO, OUT_HW, _square_segmentation())
    split = split_energy(_edge_differences(labels), labels, GEO.k)
    edges = split.region("object edges")
    assert edges.energy_share == pytest.approx(1.0)
    text = split_sentence(split, "channel 0", padding_weight=0.7)
    assert "0% in the border frame" in text
    assert (
        f"100% at object edges (window holds two objects or colour regions: {edges.area_share:.0%}"
        in (text)
    )
    assert f"They concentrate at object edges ({edges.concentration:.1f}×" in text
    assert "border frame (" not in text.split("They concentrate")[1]
    assert "not at object edges" not in text
    assert "zero" not in text  # the padding explanation belongs to a border-frame finding


def test_sentence_says_border_where_the_border_dominates():
    labels = _recount_labels(GEO, OUT_HW, _square_segmentation())
    diff = np.where(labels == BORDER, 3.0, 0.1)
    split = split_energy([diff], labels, GEO.k)
    border = split.region("border frame")
    text = split_sentence(split, "channel 0", padding_weight=0.72)
    assert text.startswith(f"Of the squared differences in channel 0, {border.energy_share:.0%}")
    assert f"5×5 window reaches past the image: {border.area_share:.0%} of the pixels" in text
    assert f"They concentrate in the border frame ({border.concentration:.1f}×" in text
    assert "not at object edges" in text
    assert "put 72% of their weight (mean over the border frame) on taps outside" in text
    assert "Explore's border ring" in text  # the other page's definition, named


def test_headline_names_the_border_frame_where_it_holds_the_differences():
    labels = _recount_labels(GEO, OUT_HW, _square_segmentation())
    split = split_energy([np.where(labels == BORDER, 3.0, 0.1)], labels, GEO.k)
    border, edges = split.region("border frame"), split.region("object edges")
    text = headline_sentence(split, "the 4 other panels")
    assert f"most densely in the border frame: {border.energy_share:.0%}" in text
    assert f"Object edges hold {edges.energy_share:.0%} on {edges.area_share:.0%}" in text
    assert "no more than their share" in text and "sharp" not in text


def test_headline_names_edges_where_they_hold_the_differences():
    labels = _recount_labels(GEO, OUT_HW, _square_segmentation())
    split = split_energy(_edge_differences(labels), labels, GEO.k)
    text = headline_sentence(split, "the 4 other panels")
    assert "most densely at object edges: 100%" in text and "border frame" not in text


def test_headline_when_even_equal_or_unsegmented():
    labels = _recount_labels(GEO, OUT_HW, _square_segmentation())
    even = headline_sentence(split_energy([np.ones(OUT_HW)], labels, 5), "the panels")
    assert "about evenly" in even and "most densely" not in even
    equal = headline_sentence(split_energy([np.zeros(OUT_HW)], labels, 5), "the panels")
    assert "equals the panels" in equal
    bare = difference_regions(GEO, OUT_HW, None)
    diff = np.where(bare == BORDER, 3.0, 0.1)
    text = headline_sentence(split_energy([diff], bare, 5), "the panels", segmentation=False)
    assert "in the border frame" in text and "Object edges" not in text


def test_panel_title_marks_untrained_learned_baselines_only():
    assert panel_title("deconv", "carafe", 64) == "Deconv (untrained)"
    assert panel_title("pixel_shuffle", "carafe", 64) == "Pixel shuffle (untrained)"
    assert panel_title("bilinear", "carafe", 64) == "Bilinear"  # nothing to train
    assert panel_title("nearest", "carafe", 64) == "Nearest"
    assert panel_title("deconv", "deconv", 64) == "Deconv"  # the model's own, trained


def _run(kind, seed, share, miou, moved=None):
    own = {kind: share, "bilinear": 0.9}
    if moved is not None:
        own[f"{kind}_moved"] = moved
    return {
        "upsampler": kind,
        "seed": seed,
        "miou": miou,
        "kernel_alignment": {"own_object_share": own},
    }


def test_learned_pair_sentence_ranks_only_where_every_seed_agrees():
    metrics = {
        "runs": [
            _run("carafe", 0, 0.882, 87.5, moved=0.70),
            _run("carafe", 1, 0.884, 85.5, moved=0.71),
            _run("dysample", 0, 0.890, 87.1),
            _run("dysample", 1, 0.894, 85.3),
        ]
    }
    text = learned_pair_sentence(metrics, "carafe", "dysample")
    # DySample's share is higher in every seed; the mIoU seeds overlap: no ranking
    assert "own-object share CARAFE 0.883, DySample 0.892" in text
    assert "every CARAFE seed below every DySample seed" in text
    assert "mIoU (%) CARAFE 86.5, DySample 86.2, their seeds overlap (not ranked)" in text
    assert "Only CARAFE has a content-blind control" in text and "0.705" in text
    assert "DySample has none" in text
    apart = {"runs": [_run("carafe", 0, 0.93, 88.0, 0.7), _run("dysample", 0, 0.90, 86.0)]}
    text = learned_pair_sentence(apart, "carafe", "dysample")
    assert "(stored, 1 seed each)" in text
    assert text.count("every CARAFE seed above every DySample seed") == 2
    both = {"runs": [_run("carafe", 0, 0.93, 88.0, 0.7), _run("dysample", 0, 0.90, 86.0, 0.6)]}
    assert "Only" not in learned_pair_sentence(both, "carafe", "dysample")
    assert learned_pair_sentence({"runs": [_run("carafe", 0, 0.9, 88.0)]}, "carafe", "x") == ""
    assert learned_pair_sentence(None, "carafe", "dysample") == ""
    # unequal seed counts are said as such, not as "1 seed each"
    uneven = {"runs": [*metrics["runs"], _run("sapa", 0, 0.83, 80.4)]}
    text = learned_pair_sentence(uneven, "carafe", "sapa")
    assert "(stored, CARAFE 2 seeds, SAPA 1 seed)" in text and "each" not in text


def test_sentence_for_even_equal_and_unsegmented_maps():
    labels = _recount_labels(GEO, OUT_HW, _square_segmentation())
    even = split_sentence(split_energy([np.ones(OUT_HW)], labels, 5), "channel 1", 0.5)
    assert "spread about evenly" in even and "concentrate" not in even
    assert "zero" not in even  # no border finding, so no padding explanation
    equal = split_sentence(split_energy([np.zeros(OUT_HW)], labels, 5), "channel 1")
    assert equal == "No difference at all in channel 1: the maps are equal."
    bare = difference_regions(GEO, OUT_HW, None)
    text = split_sentence(split_energy([np.ones(OUT_HW)], bare, 5), "channel 1", segmentation=False)
    assert "object edges unknown (this model has no segmentation)" in text
    assert "not at object edges" not in text


def test_empty_region_is_named_as_empty():
    labels = np.full(OUT_HW, ELSEWHERE)
    labels[:2] = BORDER
    split = split_energy([np.ones(OUT_HW)], labels, 5)
    assert math.isnan(split.region("object edges").concentration)
    text = split_sentence(split, "channel 2")
    assert "none at object edges (no window holds two objects or colour regions)" in text


@pytest.fixture(scope="module")
def shipped():
    """The shipped CARAFE model's finest step on the default sample, its segmentation."""
    from carafe.inspect.analysis import analyze
    from carafe.inspect.catalog import load_model
    from carafe.inspect.imageio import load_image_file, sample_images

    image = load_image_file(next(iter(sample_images().values()))).array
    a = analyze(load_model("carafe"), image)
    return a.steps[-1], a.segmentation


def test_shipped_model_differences_lean_to_the_border_frame(shipped):
    from carafe.inspect.pixel import kernel_view

    step, seg = shipped
    labels = difference_regions(step.geometry, step.output_shape, seg)
    np.testing.assert_array_equal(labels, _recount_labels(step.geometry, step.output_shape, seg))
    ch = int(step.channel_order[0])
    others = ("nearest", "bilinear", "deconv", "pixel_shuffle")
    diffs = [step.outputs["carafe"][ch] - step.outputs[k][ch] for k in others]
    split = split_energy(diffs, labels, step.geometry.k)
    border = split.region("border frame")
    # the multi-scale models put far less weight on zero padding than the 128-px ones did
    # (median 0.04-0.09 on the finest ring, metrics.json), yet the frame still holds more
    # than its share of the differences
    assert border.energy_share > border.area_share
    weight = border_padding_weight(step, labels)
    # recount from the kernels of every border-frame pixel, one by one
    ys, xs = np.nonzero(labels == BORDER)
    expected = np.mean(
        [kernel_view(step, y, x).padding_weight for y, x in zip(ys, xs, strict=True)]
    )
    assert weight == pytest.approx(expected, rel=1e-5)
    text = split_sentence(split, f"channel {ch}", weight)
    # 28 % of the energy on 23 % of the pixels: more than its share, not clearly more
    assert "spread about evenly" in text and f"{weight:.0%} of their weight" not in text


def test_twin_input_sentence_both_ways():
    a = np.arange(12, dtype=np.float32).reshape(3, 2, 2)
    same = twin_input_sentence("DySample", a, a.copy())
    assert "equals CARAFE's" in same and "differs" not in same
    other = twin_input_sentence("DySample", a, a + 2)
    assert "differs from CARAFE's (RMS difference 2;" in other
    assert f"RMS {np.sqrt(np.mean(a.astype(np.float64) ** 2)):.3g})" in other
    shape = twin_input_sentence("DySample", a, np.zeros((3, 4, 4)))
    assert "another shape (4×4, CARAFE's 2×2)" in shape


def test_twins_heading_names_the_twins_shown():
    assert twins_heading("CARAFE", []) == "Segmentation: CARAFE model"
    assert (
        twins_heading("CARAFE", ["Bilinear"]) == "Segmentation: CARAFE model vs its Bilinear twin"
    )
    assert (
        twins_heading("CARAFE", ["DySample", "Bilinear"])
        == "Segmentation: CARAFE model vs its DySample and Bilinear twins"
    )


def test_undefined_share_note_only_when_a_share_is_missing():
    rows = [
        {"kernel": "CARAFE", "off": 0.88},
        {"kernel": "nearest", "off": None},
        {"kernel": "nearest", "off": None},  # a second model's row of the same kernel
    ]
    note = undefined_share_note(rows, "off", "kernel")
    assert note.startswith("'off' is not defined for nearest:") and "0/0" in note
    assert undefined_share_note(rows[:1], "off", "kernel") == ""
