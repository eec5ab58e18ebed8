"""carafe.inspect.habits: the border and flat-region measures against independent counts, and
every sentence worded both ways (where its fact holds and where it does not)."""

from __future__ import annotations

import numpy as np
import pytest

from carafe.inspect.analysis import analyze
from carafe.inspect.catalog import stored_border_sentence
from carafe.inspect.habits import (
    BorderHabit,
    FlatHabit,
    border_habit,
    border_profile,
    border_sentence,
    entropy_sentence,
    flat_habit,
    flat_sentence,
    renormalised_output,
    roughness,
    what_if_sentence,
)


@pytest.fixture(scope="module")
def step(tiny_model_module):
    image = np.random.default_rng(4).integers(0, 256, (52, 76, 3), dtype=np.uint8)
    return analyze(tiny_model_module, image).steps[0]


@pytest.fixture(scope="module")
def tiny_model_module():
    from tests.conftest import TinySegModel

    return TinySegModel().eval()


def test_border_habit_matches_a_loop_over_the_ring(step):
    h = border_habit(step)
    geo, d = step.geometry, step.carafe
    oh, ow = step.visible_output_hw()
    padding, outward = [], []
    for y in range(oh):
        for x in range(ow):
            if 0 < y < oh - 1 and 0 < x < ow - 1:
                continue
            win = geo.window(y, x)
            kernel = geo.kernel_at(d.kernels, y, x)
            padding.append(kernel[~win.in_image].sum())
            dy, dx = d.com_dy[0, y, x], d.com_dx[0, y, x]
            ny = (y == oh - 1) - (y == 0)
            nx = (x == ow - 1) - (x == 0)
            outward.append(dy * ny + dx * nx > 0)
    assert h.pixels == len(padding)
    assert h.padding_median == pytest.approx(np.median(padding), abs=1e-6)
    assert h.outward_share == pytest.approx(np.mean(outward))
    ring = np.zeros((oh, ow), bool)
    ring[[0, -1]], ring[:, [0, -1]] = True, True
    magnitude = np.abs(step.output[:, :oh, :ow]).mean(0)
    assert h.ring_ratio == pytest.approx(magnitude[ring].mean() / magnitude[~ring].mean(), rel=1e-5)


def test_renormalised_output_is_the_weighted_sum_over_taps_inside(step):
    geo, d = step.geometry, step.carafe
    out = renormalised_output(step)
    vh, vw = geo.visible_input_hw()
    for y, x in [(0, 0), (1, 7), (6, 9), (12, 18)]:
        kernel = geo.kernel_at(d.kernels, y, x).astype(np.float64)
        win = geo.window(y, x)
        weights = np.where(win.in_image, kernel, 0.0)
        weights /= weights.sum()
        expected = sum(
            weights[i, j] * step.input[:, row, col]
            for i, row in enumerate(win.rows)
            for j, col in enumerate(win.cols)
            if 0 <= row < vh and 0 <= col < vw
        )
        np.testing.assert_allclose(out[:, y, x], expected, rtol=1e-4, atol=1e-5)
    assert np.isfinite(out).all()


def test_border_profile_reads_one_row_of_each_method(step):
    p = border_profile(step, 3, 2)
    oh, ow = step.visible_output_hw()
    assert p.row == 3 and p.columns.tolist() == list(range(ow))
    np.testing.assert_array_equal(p.values["carafe"], step.output[2, 3, :ow])
    np.testing.assert_array_equal(p.values["bilinear"], step.outputs["bilinear"][2, 3, :ow])
    np.testing.assert_allclose(p.values["renormalised"], renormalised_output(step)[2, 3, :ow])
    assert border_profile(step, 10_000, 2).row == oh - 1  # clamped to the visible map


def test_flat_habit_on_a_one_colour_image(tiny_model_module):
    image = np.full((64, 80, 3), 90, np.uint8)
    step = analyze(tiny_model_module, image).steps[0]
    h = flat_habit(step, image)
    geo, d = step.geometry, step.carafe
    oh, ow = step.visible_output_hw()
    fits = geo.window_fully_in_image()[:oh, :ow]
    kernels = [geo.kernel_at(d.kernels, y, x) for y, x in zip(*np.nonzero(fits), strict=True)]
    assert h.pixels == len(kernels)
    assert h.peak_median == pytest.approx(np.median([k.max() for k in kernels]))
    assert h.centre_median == pytest.approx(np.median([k[2, 2] for k in kernels]))
    far = [
        max(abs(i - 2), abs(j - 2)) >= 2
        for i, j in (np.unravel_index(k.argmax(), (5, 5)) for k in kernels)
    ]
    assert h.far_peak_share == pytest.approx(np.mean(far))
    noisy = np.random.default_rng(0).integers(0, 256, (64, 80, 3), dtype=np.uint8)
    assert flat_habit(analyze(tiny_model_module, noisy).steps[0], noisy) is None


def _border(padding, outward, ring, bilinear=0.6, fixed=0.8):
    return BorderHabit(100, padding, outward, ring, bilinear, fixed)


def test_border_sentence_both_ways():
    fading = border_sentence(_border(0.85, 0.96, 0.16))
    assert "most of their weight on zero padding" in fading and "0.85" in fading
    assert "96% of them lean outward" in fading and "fades toward zero" in fading
    keeping = border_sentence(_border(0.03, 0.2, 0.58))
    assert "keep their weight on the image" in keeping and "80% of them lean inward" in keeping
    assert "fades" not in keeping and "keeps about bilinear's level" in keeping
    assert "border ring" in fading  # the name Compare's "border frame" is told apart from


def test_border_sentence_says_about_only_when_the_levels_are_close():
    # a 12×12 image: the ring holds most of the map, and its output is far above bilinear's
    strong = border_sentence(_border(0.3, 0.4, 2.59, bilinear=1.13))
    assert "about" not in strong and "stronger than bilinear's" in strong
    assert "2.59" in strong and "1.13" in strong
    weaker = border_sentence(_border(0.3, 0.4, 0.95, bilinear=1.2))
    assert "weaker than bilinear's" in weaker and "fades" not in weaker
    assert "about" in border_sentence(_border(0.3, 0.4, 1.20, bilinear=1.13))
    assert "about" not in border_sentence(_border(0.3, 0.4, 1.30, bilinear=1.13))
    alone = border_sentence(_border(0.3, 0.4, 0.7, bilinear=None))
    assert "bilinear" not in alone and alone.endswith("inside.")


@pytest.mark.parametrize("hw", [(12, 12), (24, 600), (600, 24), (64, 80)])
def test_border_sentence_holds_on_odd_images(tiny_model_module, hw):
    image = np.random.default_rng(1).integers(0, 256, (*hw, 3), dtype=np.uint8)
    h = border_habit(analyze(tiny_model_module, image).steps[0])
    text = border_sentence(h)
    close = abs(h.ring_ratio - h.bilinear_ring_ratio) <= 0.1 * h.bilinear_ring_ratio
    assert ("keeps about bilinear's level" in text) == close
    assert ("fades" in text) == (h.ring_ratio < min(0.9, 0.9 * h.bilinear_ring_ratio))
    assert ",." not in text and ",." not in what_if_sentence(h)


def test_what_if_sentence_both_ways():
    assert "0.80 of the inside's magnitude instead of 0.16" in what_if_sentence(
        _border(0.85, 0.9, 0.16)
    )
    assert "the weight on the padding lowers the ring" in what_if_sentence(_border(0.85, 0.9, 0.16))
    assert "changes little" in what_if_sentence(_border(0.05, 0.2, 0.78, fixed=0.8))
    down = what_if_sentence(_border(0.3, 0.2, 0.9, fixed=0.6))
    assert "down from 0.90 (bilinear: 0.60)." in down and "lowers" not in down
    alone = what_if_sentence(_border(0.3, 0.2, 0.9, bilinear=None, fixed=0.6))
    assert alone.endswith("down from 0.90.")
    for text in (down, alone, what_if_sentence(_border(0.85, 0.9, 0.16, bilinear=None))):
        assert ",." not in text and text.count(".") >= 1


def test_flat_sentence_both_ways():
    peaked = flat_sentence(FlatHabit(232, 8, 0.04, 0.27, 0.005, 0.74))
    assert "are not diffuse" in peaked and "0.27" in peaked and "74%" in peaked
    diffuse = flat_sentence(FlatHabit(50, 8, 0.04, 0.05, 0.04, 0.1))
    assert "stay diffuse" in diffuse and "not diffuse" not in diffuse
    assert "no flat region" in flat_sentence(None)


def _flat(carafe, bilinear):
    return FlatHabit(100, 8, 0.04, 0.27, 0.005, 0.74, carafe, bilinear)


def test_flat_sentence_says_what_the_roughness_says():
    rough = flat_sentence(_flat(0.037, 0.01))
    assert "3.7× as rough as bilinear's" in rough and "no difference" not in rough
    smooth = flat_sentence(_flat(0.005, 0.01))
    assert "smoother than bilinear's" in smooth and "rough as" not in smooth
    assert "about as rough as bilinear's" in flat_sentence(_flat(0.011, 0.01))
    constant = flat_sentence(_flat(0.0, 0.0))
    assert "makes no difference which tap carries the weight" in constant
    assert "rougher than bilinear's" in flat_sentence(_flat(0.01, 0.0))
    for text in (rough, smooth):
        assert "makes no difference" not in text


def test_roughness_is_the_mean_second_difference_inside_the_region():
    out = np.zeros((2, 6, 7))
    out[0, 2, 3] = 1.0  # one bump: |d2| = 1, 2, 1 along its row and its column
    where = np.ones((6, 7), bool)
    rows, cols = 6 * 5, 7 * 4  # runs of three along the rows, along the columns
    assert roughness(out, where) == pytest.approx(8 / (2 * (rows + cols)))
    ramp = np.broadcast_to(np.arange(7.0), (2, 6, 7))
    assert roughness(ramp, where) == 0.0  # a linear ramp is not rough
    assert roughness(out, np.zeros((6, 7), bool)) == 0.0


def test_flat_habit_roughness_matches_the_outputs(astronaut):
    image, analysis = astronaut
    step = analysis.steps[-1]
    h = flat_habit(step, image)
    assert h is not None and h.bilinear_roughness is not None
    oh, ow = step.visible_output_hw()
    flat = np.repeat(np.repeat(flat_habit_mask(step, image), 2, 0), 2, 1)[:oh, :ow]
    assert h.roughness == pytest.approx(roughness(step.output[:, :oh, :ow], flat))
    text = flat_sentence(h)
    says_rough = "as rough as bilinear's (" in text and "about" not in text
    assert says_rough == (h.roughness > 1.2 * h.bilinear_roughness)
    assert "makes no difference" not in text  # the photo's features are not constant there


def flat_habit_mask(step, image):
    from carafe.inspect.pixel import flat_mask

    return flat_mask(step, image)


def test_entropy_sentence_on_the_real_scale():
    spread = entropy_sentence(np.full(10, np.log(25)), 5, 2)
    assert "log(25) = 3.22 nats" in spread and "more spread out than bilinear's" in spread
    assert "(1.12 nats)" in spread and "100% of the kernels" in spread
    peaked = entropy_sentence(np.array([0.1, 0.3, 0.5]), 5, 2)
    assert "more concentrated than bilinear's" in peaked and "0% of the kernels" in peaked
    assert "about as spread out as" in entropy_sentence(np.array([1.1, 1.15]), 5, 2)
    one = entropy_sentence(np.zeros(4), 1, 2)  # k_up = 1: every kernel is the one tap
    assert "log(1) = 0.00" in one and "bilinear" not in one


def _metrics(band_fixed):
    def run(kind, seed, band, inside, fixed=None):
        row = {
            "upsampler": kind,
            "seed": seed,
            "band": {"miou": band},
            "interior": {"miou": inside},
        }
        if fixed is not None:
            row["renormalised"] = {"band": {"miou": fixed}}
        return row

    return {
        "border": {
            "band_px": 8,
            "heldout_images": 500,
            "runs": [
                run("carafe", 0, 74.2, 78.4, band_fixed),
                run("bilinear", 0, 70.8, 75.2),
            ],
        }
    }


def test_stored_border_sentence_both_ways():
    relies = stored_border_sentence(_metrics(59.7))
    assert relies.startswith("Stored") and "CARAFE 74.2 (inside 78.4)" in relies
    assert (
        "Bilinear 70.8" in relies
        and "becomes 59.7: the trained model relies on the zeros" in relies
    )
    assert "little difference" in stored_border_sentence(_metrics(73.9))
    assert stored_border_sentence({}) is None and stored_border_sentence(None) is None
