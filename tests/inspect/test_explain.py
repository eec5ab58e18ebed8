"""carafe.explain: one output value recomputed by hand equals the op's, stage by stage."""

import numpy as np
import pytest

from carafe.inspect.analysis import analyze
from carafe.inspect.explain import explain_pixel


@pytest.mark.parametrize("yx", [(0, 0), (5, 7), (12, 18), (3, 0)])
def test_explain_pixel_matches_op(tiny_model, small_image, yx):
    st = analyze(tiny_model, small_image, baselines=False).steps[0]
    for c in (0, 5):
        e = explain_pixel(st, *yx, channel=c)
        assert e.value_by_hand == pytest.approx(e.value_op, abs=1e-4)
        assert e.value_op == pytest.approx(float(st.output[c, yx[0], yx[1]]), abs=1e-6)
        np.testing.assert_allclose(e.compressed_by_hand, e.compressed_vector, atol=1e-4)
        np.testing.assert_allclose(e.encoder_logits_by_hand, e.encoder_logits, atol=1e-4)
        np.testing.assert_allclose(e.kernel_logits, e.encoder_logits, atol=1e-6)
        np.testing.assert_allclose(e.kernel_by_hand, e.kernel, atol=1e-5)
    assert not explain_pixel(st, 0, 0).inside[0, 0]


def test_explain_pixel_groups(small_image):
    from tests.conftest import TinySegModel

    st = analyze(TinySegModel(up_group=2).eval(), small_image, baselines=False).steps[0]
    e = explain_pixel(st, 4, 4, channel=7)
    assert e.group == 1 and e.value_by_hand == pytest.approx(e.value_op, abs=1e-4)


def test_explain_pixel_reports_the_weight_on_zero_padding(tiny_model, small_image):
    st = analyze(tiny_model, small_image, baselines=False).steps[0]
    e = explain_pixel(st, 0, 0, channel=1)
    assert e.outside_image.sum() == 16 and (e.window[e.outside_image] == 0).all()
    assert e.padding_weight == pytest.approx(float(e.kernel[e.outside_image].sum()))
    assert explain_pixel(st, 6, 8, channel=1).padding_weight == 0.0


def test_encoder_vector_by_hand_and_bilinear_beside_carafe(tiny_model, small_image):
    import torch
    import torch.nn.functional as F

    st = analyze(tiny_model, small_image).steps[0]
    e = explain_pixel(st, 9, 13, channel=3)
    d = st.carafe
    assert e.encoder_vector.shape == (d.encoder_logits.shape[0],)
    np.testing.assert_allclose(e.encoder_vector_by_hand, e.encoder_vector, atol=1e-4)
    np.testing.assert_allclose(
        e.encoder_vector[e.encoder_channels.ravel()], e.kernel_logits.ravel()
    )
    # bilinear's value is F.interpolate's at that pixel, and its k×k kernel reproduces it
    up = F.interpolate(torch.from_numpy(st.input)[None], scale_factor=2, mode="bilinear")
    assert e.bilinear_value == pytest.approx(float(up[0, 3, 9, 13]), abs=1e-5)
    assert e.bilinear_by_kernel == pytest.approx(e.bilinear_value, abs=1e-5)
    assert e.bilinear_kernel.sum() == pytest.approx(1.0) and (e.bilinear_kernel > 0).sum() == 4
    assert e.bilinear_value != pytest.approx(e.value_op, abs=1e-6)  # CARAFE is not bilinear


def test_pixel_shuffle_channel_formula_against_the_model(tiny_model, small_image):
    from carafe.inspect.explain import shuffle_view
    from tests.conftest import TinySegModel

    for model in (tiny_model, TinySegModel(up_group=2).eval()):
        st = analyze(model, small_image, baselines=False).steps[0]
        d = st.carafe
        k, s, g_count = d.up_kernel, st.scale, d.up_group
        for (y, x), g in [((5, 7), 0), ((12, 18), g_count - 1)]:
            view = shuffle_view(st, y, x, group=g)
            sy, sx = view.source
            assert (sy, sx) == (y // s, x // s) and view.sub_pixel == (y % s, x % s)
            block = d.encoder_logits[:, sy, sx].reshape(g_count, k * k, s, s)[g]  # [t, a, b]
            np.testing.assert_array_equal(
                view.logits, np.moveaxis(block, 0, -1).reshape(s, s, k, k)
            )
            sh, sw = d.kernel_logits.shape[-2:]  # the FPN crops the output: past it, NaN
            shown = (view.outputs[..., 0] < sh) & (view.outputs[..., 1] < sw)
            np.testing.assert_array_equal(view.kernel_logits[shown], view.logits[shown])
            assert np.isnan(view.kernel_logits[~shown]).all()
            per_group = k * k * s * s
            assert sorted(view.channels.ravel()) == list(range(g * per_group, (g + 1) * per_group))
            np.testing.assert_allclose(view.kernels[shown].sum(axis=(1, 2)), 1.0, atol=1e-5)
            a, b = view.sub_pixel
            np.testing.assert_array_equal(view.outputs[a, b], (y, x))


def test_pixel_shuffle_of_the_shipped_model():
    """The shuffle's channel formula on the trained model's tensors (finest FPN step)."""
    import torch

    from carafe.inspect.catalog import load_model
    from carafe.inspect.explain import shuffle_view

    model = load_model("carafe")
    image = np.zeros((64, 96, 3), np.uint8)
    image[:, 40:] = (230, 200, 40)
    st = analyze(model, image, baselines=False).steps[-1]
    module = model.neck.upsample_modules[st.index]
    with torch.no_grad():
        parts = module.forward_with_intermediates(torch.from_numpy(st.input)[None])
    enc, kl = parts.encoder_logits[0].numpy(), parts.kernel_logits[0].numpy()
    k, s = module.up_kernel, module.scale_factor
    for y, x in [(0, 0), (9, 21), (15, 23)]:
        view = shuffle_view(st, y, x)
        sy, sx = view.source
        block = enc[:, sy, sx].reshape(module.up_group, k * k, s, s)[0]
        for a in range(s):
            for b in range(s):
                np.testing.assert_array_equal(kl[: k * k, s * sy + a, s * sx + b], block[:, a, b])
                np.testing.assert_array_equal(view.logits[a, b].ravel(), block[:, a, b])
