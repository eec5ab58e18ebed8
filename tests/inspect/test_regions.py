"""Explore's image-wide region measure: numbers from the maps, sentences true both ways."""

import numpy as np
import pytest
import torch

from carafe.inspect.analysis import analyze
from carafe.inspect.regions import (
    SAME_SHARE,
    ImageAlignment,
    image_alignment,
    image_alignment_sentence,
    pixel_alignment_sentence,
)
from carafe.models import build_model, default_config
from carafe.training.alignment import own_share_maps


def _photo(seed=0):
    """A bright disc on a dark noisy background: two colour regions with a curved edge."""
    rng = np.random.default_rng(seed)
    image = rng.integers(10, 60, (96, 128, 3)).astype(np.uint8)
    yy, xx = np.mgrid[:96, :128]
    disc = (yy - 48) ** 2 + (xx - 60) ** 2 < 30**2
    image[disc] = rng.integers(190, 250, (int(disc.sum()), 3))
    return image


@pytest.fixture(scope="module")
def carafe_analysis():
    torch.manual_seed(0)
    model = build_model(default_config("carafe", fpn_channels=8))
    return analyze(model, _photo())


def test_the_measure_is_the_mean_of_the_straddling_pixels(carafe_analysis):
    a = image_alignment(carafe_analysis)
    assert a is not None and a.regions >= 2 and a.straddling > 0
    step = next(s for s in carafe_analysis.steps if s.index == a.step_index)
    d = step.carafe
    kernels = torch.from_numpy(d.kernels).view(d.up_group, -1, *d.kernels.shape[-2:]).mean(0)
    maps = own_share_maps(
        kernels[None],
        torch.from_numpy(a.regions_map)[None],
        step.stride_in,
        step.stride_out,
        step.scale,
    )
    mask = maps["straddling"][0]
    assert int(mask.sum()) == a.straddling
    assert a.carafe == pytest.approx(float(maps["kernels"][0][mask].mean()))
    assert a.bilinear == pytest.approx(float(maps["bilinear"][0][mask].mean()))
    row, col = a.typical
    assert mask[row, col]
    assert a.typical_carafe == pytest.approx(float(maps["kernels"][0][row, col]))
    lead = maps["kernels"][0][mask] - maps["bilinear"][0][mask]
    # the typical pixel sits at the median lead: as many pixels below it as above (±1)
    below = int((lead < a.typical_carafe - a.typical_bilinear).sum())
    above = int((lead > a.typical_carafe - a.typical_bilinear).sum())
    assert abs(below - above) <= 1 + int((lead == lead[0]).sum())
    assert 0 <= a.carafe_ahead + a.carafe_behind <= 1
    assert a.shares_at(row, col) == pytest.approx((a.typical_carafe, a.typical_bilinear))
    off = (~mask).nonzero()[0].tolist()
    assert a.shares_at(*off) is None and a.shares_at(-1, 0) is None


def test_no_measure_without_carafe_or_without_edges():
    torch.manual_seed(0)
    bilinear = build_model(default_config("bilinear", fpn_channels=8))
    assert image_alignment(analyze(bilinear, _photo())) is None
    carafe = build_model(default_config("carafe", fpn_channels=8))
    flat = np.full((64, 64, 3), 128, np.uint8)
    assert image_alignment(analyze(carafe, flat)) is None


def _made_up(carafe, bilinear, moved, ahead, behind, typical=(3, 4)):
    return ImageAlignment(
        step_index=2,
        window=5,
        regions=7,
        straddling=1234,
        carafe=carafe,
        moved=moved,
        bilinear=bilinear,
        nearest=0.9,
        carafe_ahead=ahead,
        carafe_behind=behind,
        typical=typical,
        typical_carafe=carafe,
        typical_bilinear=bilinear,
        regions_map=np.zeros((2, 2), np.int64),
        carafe_map=np.full((8, 8), np.nan),
        bilinear_map=np.full((8, 8), np.nan),
    )


def test_image_sentence_says_more_when_carafe_leads_and_less_when_it_trails():
    ahead = image_alignment_sentence(_made_up(0.82, 0.74, 0.70, 0.6, 0.3))
    assert "0.82" in ahead and "more than bilinear (0.74)" in ahead
    assert "more than its own kernels moved" in ahead and "60 %" in ahead and "30 %" in ahead
    behind = image_alignment_sentence(_made_up(0.70, 0.84, 0.71, 0.2, 0.7))
    assert "less than bilinear (0.84)" in behind
    assert "about as much as its own kernels moved" in behind  # 0.70 vs 0.71: within 0.01
    tie = image_alignment_sentence(_made_up(0.80, 0.80 + SAME_SHARE / 2, 0.6, 0.4, 0.4))
    assert "about as much as bilinear" in tie


def test_pixel_sentence_says_whether_the_pixel_is_typical_and_how_often_it_happens():
    a = _made_up(0.82, 0.74, 0.70, 0.6, 0.3, typical=(3, 4))
    typical = pixel_alignment_sentence(a, 3, 4, 0.9, 0.7)
    assert "more than bilinear (0.70)" in typical and "60 %" in typical
    assert "is the typical straddling pixel" in typical
    other = pixel_alignment_sentence(a, 5, 5, 0.5, 0.8)
    assert "less than bilinear (0.80)" in other and "30 %" in other
    assert "is not the image's typical" in other
    same = pixel_alignment_sentence(a, 5, 5, 0.8, 0.8)
    assert "about as much as bilinear" in same and "10 %" in same


def test_true_masks_replace_the_colour_regions_and_the_words_say_objects(carafe_analysis):
    image = _photo()
    yy, xx = np.mgrid[: image.shape[0], : image.shape[1]]
    masks = ((yy - 48) ** 2 + (xx - 60) ** 2 < 30**2).astype(np.int64)
    a = image_alignment(carafe_analysis, labels=masks)
    assert a.true_labels and a.regions == 2 and np.array_equal(a.regions_map, masks)
    text = image_alignment_sentence(a)
    assert "(true object masks)" in text and "pixel's own object" in text
    assert "colour regions" in image_alignment_sentence(image_alignment(carafe_analysis))


def test_image_sentence_names_the_kind_and_words_the_off_centre_share_both_ways():
    from dataclasses import replace

    base = _made_up(0.84, 0.83, 0.76, 0.3, 0.5)
    ahead = image_alignment_sentence(replace(base, name="FADE", carafe_off=0.81, bilinear_off=0.77))
    assert ahead.startswith("At the 1,234 pixels") and "FADE puts 0.84" in ahead
    assert "CARAFE" not in ahead
    assert "it puts 0.81 on the own region, more than bilinear (0.77)" in ahead
    behind = image_alignment_sentence(replace(base, carafe_off=0.69, bilinear_off=0.72))
    assert "it puts 0.69 on the own region, less than bilinear (0.72)" in behind
    assert "centre tap" not in image_alignment_sentence(base)  # not measured: not said


def test_the_off_centre_shares_are_the_kernels_own_weight_off_the_centre(carafe_analysis):
    a = image_alignment(carafe_analysis)
    step = next(s for s in carafe_analysis.steps if s.index == a.step_index)
    d = step.carafe
    kern = torch.from_numpy(d.kernels).view(d.up_group, 25, *d.kernels.shape[-2:]).mean(0)
    maps = own_share_maps(
        kern[None], torch.from_numpy(a.regions_map)[None], step.stride_in, step.stride_out, 2
    )
    mask = maps["straddling"][0]
    # off-centre weight = all weight minus the centre tap's, at the straddling pixels
    off = maps["kernels_off_weight"][0][mask]
    assert torch.allclose(off, 1 - kern[12].double()[mask], atol=1e-5)
    expected = float(maps["kernels_off_own"][0][mask].sum() / off.sum())
    assert a.carafe_off == pytest.approx(expected) and 0 < a.carafe_off < 1
    assert 0 < a.bilinear_off < 1
