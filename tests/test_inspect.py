"""carafe.inspect: shapes, statistics and the hand recomputation against the real op."""

import numpy as np
import pytest

from carafe.explain import explain_pixel
from carafe.inspect import analyze, kernel_statistics, pca_rgb, toy_step
from carafe.nn import UPSAMPLER_KINDS


def test_analyze_shapes(tiny_model, small_image):
    a = analyze(tiny_model, small_image)
    assert a.segmentation.shape == small_image.shape[:2] and len(a.steps) == 1
    st = a.steps[0]
    c, h, w = st.input.shape
    oh, ow = st.output_shape
    assert (oh, ow) == (13, 19) and (h, w) == (7, 10)
    assert set(st.outputs) == set(UPSAMPLER_KINDS) - {"dysample"}  # no untrained DySample
    for out in st.outputs.values():
        assert out.shape == (c, oh, ow) and np.isfinite(out).all()
    d = st.carafe
    assert d.kernels.shape == (25, oh, ow) and d.entropy.shape == (1, oh, ow)
    np.testing.assert_allclose(d.kernels.sum(axis=0), 1.0, atol=1e-5)
    np.testing.assert_allclose(
        st.outputs["bilinear"][:, ::2, ::2].mean(), st.input.mean(), rtol=0.5
    )


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
    st = toy_step()
    assert st.input.shape == (2, 6, 6) and st.output.shape == (2, 12, 12)
    e = explain_pixel(st, 5, 6, channel=0)
    assert e.value_by_hand == pytest.approx(e.value_op, abs=1e-5)
    assert st.carafe.entropy.std() > 0.01  # kernels differ between pixels
    rgbs = pca_rgb([st.outputs["carafe"], st.outputs["bilinear"]])
    assert rgbs[0].shape == (12, 12, 3) and rgbs[0].dtype == np.uint8


def test_analyze_restores_torch_threads(tiny_model, small_image):
    import torch

    before = torch.get_num_threads()
    analyze(tiny_model, small_image, baselines=False, threads=1)
    assert torch.get_num_threads() == before


def test_strongest_lean_is_inside_and_maximal(tiny_model, small_image):
    from carafe.inspect import strongest_lean

    st = analyze(tiny_model, small_image, baselines=False).steps[0]
    oy, ox = strongest_lean(st, 0, (20, 20))
    assert oy < 5 and ox < 5
    lean = np.hypot(st.carafe.com_dy[0, :5, :5], st.carafe.com_dx[0, :5, :5])
    assert lean[oy, ox] == lean.max()


def test_summary_helpers():
    from carafe.inspect import agreement, channel_energy, max_abs_difference, rms_difference

    a = np.zeros((2, 2, 2), np.float32)
    b = a.copy()
    b[0, 0, 0] = 2.0
    assert rms_difference(a, b) == pytest.approx(np.sqrt(4 / 8))
    assert max_abs_difference(a, b) == 2.0
    assert channel_energy(b).tolist() == [1.0, 0.0]
    assert agreement(np.array([1, 2, 3]), np.array([1, 2, 0])) == pytest.approx(2 / 3)
