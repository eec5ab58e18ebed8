"""carafe.inspect: shapes, statistics and the hand recomputation against the real op."""

import numpy as np
import pytest
import torch

from carafe.assets import SAMPLES_DIR
from carafe.inspect.analysis import analyze, kernel_statistics
from carafe.inspect.catalog import model_names
from carafe.inspect.explain import explain_pixel
from carafe.inspect.summaries import pca_rgb
from carafe.inspect.toy import make_toy_step
from carafe.nn import UPSAMPLER_KINDS, UPSAMPLERS


def test_analyze_shapes(tiny_model, small_image):
    a = analyze(tiny_model, small_image)
    assert a.segmentation.shape == small_image.shape[:2] and len(a.steps) == 1
    st = a.steps[0]
    c, h, w = st.input.shape
    oh, ow = st.output_shape
    assert (oh, ow) == (13, 19) and (h, w) == (7, 10)
    # every kind with an untrained baseline, plus the model's own (no untrained learned kinds)
    assert set(st.outputs) == {k for k in UPSAMPLER_KINDS if UPSAMPLERS[k].baseline} | {"carafe"}
    for out in st.outputs.values():
        assert out.shape == (c, oh, ow) and np.isfinite(out).all()
    d = st.carafe
    assert d.kernels.shape == (25, oh, ow) and d.entropy.shape == (1, oh, ow)
    np.testing.assert_allclose(d.kernels.sum(axis=0), 1.0, atol=1e-5)
    # the baselines are those upsamplers applied to this step's input: nearest copies each
    # input pixel to its 2×2 block, bilinear (align_corners=False) puts 3/4 on the source and
    # 1/4 on the next pixel up/left at even output rows/columns (interior pixels)
    np.testing.assert_array_equal(
        st.outputs["nearest"][:, ::2, ::2], st.input[:, : (oh + 1) // 2, : (ow + 1) // 2]
    )
    inner = st.input[:, 1:-1, 1:-1]
    expect = 0.75 * (0.75 * inner + 0.25 * st.input[:, :-2, 1:-1])
    expect += 0.25 * (0.75 * st.input[:, 1:-1, :-2] + 0.25 * st.input[:, :-2, :-2])
    got = st.outputs["bilinear"][:, 2 : 2 * (h - 1) : 2, 2 : 2 * (w - 1) : 2]
    np.testing.assert_allclose(got, expect[:, : got.shape[1], : got.shape[2]], atol=1e-5)


def test_kernel_statistics_known_values():
    k = 3
    onehot = np.zeros((9, 1, 2), np.float32)
    onehot[5, 0, 0] = 1  # tap (1, 2): right of centre
    onehot[:, 0, 1] = 1 / 9
    ent, peak, dy, dx = kernel_statistics(onehot, k, 1)
    assert ent[0, 0, 0] == pytest.approx(0, abs=1e-6) and ent[0, 0, 1] == pytest.approx(np.log(9))
    assert peak[0, 0, 0] == 1 and dx[0, 0, 0] == 1 and dy[0, 0, 0] == 0
    assert dx[0, 0, 1] == pytest.approx(0, abs=1e-6)


def test_toy_step_and_pca():
    st = make_toy_step(trained_like=False)  # the "untrained" option: random weights
    assert st.input.shape == (2, 6, 6) and st.output.shape == (2, 12, 12)
    e = explain_pixel(st, 5, 6, channel=0)
    assert e.value_by_hand == pytest.approx(e.value_op, abs=1e-5)
    assert st.carafe.entropy.std() > 0.01  # kernels differ between pixels
    rgbs = pca_rgb([st.outputs["carafe"], st.outputs["bilinear"]])
    assert rgbs[0].shape == (12, 12, 3) and rgbs[0].dtype == np.uint8


def test_analyze_runs_with_the_threads_asked_for_and_restores_them(
    tiny_model, small_image, monkeypatch
):
    import torch

    before = torch.get_num_threads()
    seen = []
    forward = tiny_model.forward_with_intermediates

    def recording(images):
        seen.append(torch.get_num_threads())
        return forward(images)

    monkeypatch.setattr(tiny_model, "forward_with_intermediates", recording)
    analyze(tiny_model, small_image, baselines=False, threads=before + 1)
    assert seen == [before + 1] and torch.get_num_threads() == before
    analyze(tiny_model, small_image, baselines=False, threads=None)  # None keeps the setting
    assert seen == [before + 1, before] and torch.get_num_threads() == before


def test_default_toy_keeps_the_edge_sharp():
    """The default toy's kernels behave as trained ones: the 0 | 1 edge stays sharp."""
    st = make_toy_step()
    out, edge = st.output[0], 6  # output columns < 6 come from input columns < 3 (value 0)
    inner = out[2:-2, 2:-2]  # away from the border
    assert np.abs(inner[:, : edge - 2]).max() <= 0.1
    assert np.abs(inner[:, edge - 2 :] - 1).max() <= 0.1
    e = explain_pixel(st, 5, 5, channel=0)  # last pixel left of the edge
    assert e.value_by_hand == pytest.approx(e.value_op, abs=1e-6) and e.value_op <= 0.1
    assert np.abs(make_toy_step(trained_like=False).output[0, 2:-2, 2:-2][:, 2:4]).max() > 0.1


def test_start_pixel_window_lies_in_the_image(tiny_model, small_image):
    from carafe.inspect.pixel import kernel_view, start_pixel

    a = analyze(tiny_model, small_image, baselines=False)
    st = a.steps[0]
    oy, ox = start_pixel(st, 0, a.segmentation)
    assert st.geometry.window(oy, ox).in_image.all()
    assert kernel_view(st, oy, ox).padding_weight == 0.0
    # without a segmentation: the most leaning pixel among those whose window fits
    oy, ox = start_pixel(st, 0)
    fits = st.geometry.window_fully_in_image()[: st.output_shape[0], : st.output_shape[1]]
    lean = np.hypot(st.carafe.com_dy[0], st.carafe.com_dx[0])
    assert fits[oy, ox] and lean[oy, ox] == lean[fits].max()


def test_kernel_view_marks_zero_padding(tiny_model, small_image):
    from carafe.inspect.pixel import kernel_view

    st = analyze(tiny_model, small_image, baselines=False).steps[0]
    v = kernel_view(st, 0, 0)  # source (0, 0): the top two rows and left two columns are padding
    assert v.outside.sum() == 25 - 9 and not v.outside[2:, 2:].any()
    # counted from the raw (k², h, w) kernels: mask channel dy·5 + dx of output pixel (0, 0)
    taps = st.carafe.kernels[:, 0, 0].reshape(5, 5)
    assert v.padding_weight == pytest.approx(float(taps[:2].sum() + taps[2:, :2].sum()), abs=1e-6)
    assert v.padding_weight > 0 and v.weight_sum == pytest.approx(1.0, abs=1e-5)
    # the 52×76 image covers 7×10 input pixels at stride 8: all real, nothing padded inside
    assert kernel_view(st, 6, 8).padding_weight == 0.0


def test_summary_helpers():
    from carafe.inspect.analysis import channel_energy
    from carafe.inspect.summaries import agreement, max_abs_difference, rms_difference

    a = np.zeros((2, 2, 2), np.float32)
    b = a.copy()
    b[0, 0, 0] = 2.0
    assert rms_difference(a, b) == pytest.approx(np.sqrt(4 / 8))
    assert max_abs_difference(a, b) == 2.0
    assert channel_energy(b).tolist() == [1.0, 0.0]
    assert agreement(np.array([1, 2, 3]), np.array([1, 2, 0])) == pytest.approx(2 / 3)


_SAMPLES = SAMPLES_DIR


@pytest.mark.skipif("carafe" not in model_names(), reason="no checkpoint")
def test_shipped_model_starts_away_from_zero_padding():
    """Every bundled sample and a wide and a tall upload start at a kernel that (almost) never
    reads zero padding: the start pixel is chosen among windows inside the real image."""
    from carafe.inspect.catalog import load_model
    from carafe.inspect.imageio import load_image_file
    from carafe.inspect.pixel import kernel_view, start_pixel

    model = load_model("carafe")
    rng = np.random.default_rng(0)
    images = [load_image_file(p).array for p in sorted(_SAMPLES.glob("*.[jp][pn]g"))]
    images += [rng.integers(0, 256, (90, 512, 3), dtype=np.uint8)]  # wide
    images += [rng.integers(0, 256, (512, 90, 3), dtype=np.uint8)]  # tall
    assert len(images) >= 7
    for image in images:
        a = analyze(model, image, baselines=False)
        st = a.steps[-1]
        oy, ox = start_pixel(st, 0, a.segmentation)
        assert kernel_view(st, oy, ox).padding_weight <= 0.05, image.shape


def test_analysis_says_how_the_model_pads(small_image):
    import torch

    from carafe.models import build_model, default_config

    torch.manual_seed(0)
    model = build_model(default_config(fpn_channels=16)).eval()
    a = analyze(model, small_image, baselines=False)
    assert a.pad_multiple == model.neck.strides[-1] == model.size_divisor
    st = a.steps[-1]
    # 52×76 padded to 64×96: the maps reach past the image, and the step knows how far
    assert st.input.shape[1:] == (64 // st.stride_in, 96 // st.stride_in)
    assert st.geometry.visible_input_hw() == (-(-52 // st.stride_in), -(-76 // st.stride_in))


@pytest.mark.skipif("carafe" not in model_names(), reason="no checkpoint")
def test_start_window_lies_wholly_on_the_image():
    """Every cell of the start pixel's window is wholly image: on every sample and on uploads
    whose sides are no multiple of 32 (the model pads those), at every step."""
    from carafe.inspect.catalog import load_model
    from carafe.inspect.imageio import load_image_file
    from carafe.inspect.pixel import start_pixel

    model = load_model("carafe")
    rng = np.random.default_rng(3)
    images = [load_image_file(p).array for p in sorted(_SAMPLES.glob("*.[jp][pn]g"))]
    images += [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in [(77, 141), (203, 99)]]
    for image in images:
        a = analyze(model, image, baselines=False)
        for step in a.steps:
            oy, ox = start_pixel(step, 0, a.segmentation)
            sy, sx = oy // step.scale, ox // step.scale
            r, stride = step.carafe.up_kernel // 2, step.stride_in
            rows, cols = range(sy - r, sy + r + 1), range(sx - r, sx + r + 1)
            if step.geometry.window_fully_in_image().any():  # a window fits: it must be chosen
                assert min(rows) >= 0 and (max(rows) + 1) * stride <= image.shape[0], image.shape
                assert min(cols) >= 0 and (max(cols) + 1) * stride <= image.shape[1], image.shape


def test_guided_kernel_kinds_give_kernels_and_guide_from_one_pass(small_image):
    """A guided kind's step carries its kernels (with FADE's gate) and the guide it read."""
    from carafe.models import build_model, default_config

    for kind in ("fade", "sapa"):
        torch.manual_seed(0)
        model = build_model(default_config(kind, fpn_channels=8)).eval()
        a = analyze(model, small_image)
        for step in a.steps:
            d = step.details
            assert d.kind == kind and d.up_kernel == 5 and d.compressed is None
            sums = d.kernels.reshape(25, *d.kernels.shape[1:]).sum(0)
            np.testing.assert_allclose(sums, 1.0, atol=1e-5)
            assert step.guide.shape == step.output.shape and step.points is None
            assert (d.gate is not None) == (kind == "fade")
            if d.gate is not None:
                assert d.gate.shape == (1, *step.output_shape) and 0 < d.gate.min() < 1
