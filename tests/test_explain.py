"""carafe.explain: one output value recomputed by hand equals the op's, stage by stage."""

import numpy as np
import pytest

from carafe.explain import explain_pixel
from carafe.inspect import analyze


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
