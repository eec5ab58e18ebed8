"""The reference is the oracle, so it is itself checked against the paper's formula written
as plain loops over every output element."""

import pytest
import torch

from carafe.ops.reference import carafe_reference
from tests.conftest import random_inputs


def carafe_by_loops(features, masks, k, g, s):
    n_, c_, h, w = features.shape
    r = (k - 1) // 2
    out = torch.zeros(n_, c_, h * s, w * s, dtype=features.dtype)
    for n in range(n_):
        for c in range(c_):
            grp = c // (c_ // g)
            for y in range(h * s):
                for x in range(w * s):
                    total = 0.0
                    for dy in range(k):
                        for dx in range(k):
                            iy, ix = y // s + dy - r, x // s + dx - r
                            if 0 <= iy < h and 0 <= ix < w:
                                total += (
                                    masks[n, (grp * k + dy) * k + dx, y, x] * features[n, c, iy, ix]
                                )
                    out[n, c, y, x] = total
    return out


@pytest.mark.parametrize(
    "shape", [(1, 2, 3, 4, 3, 1, 2), (2, 4, 3, 2, 5, 2, 3), (1, 3, 2, 3, 1, 3, 1)]
)
def test_reference_matches_the_formula(shape):
    n, c, h, w, k, g, s = shape
    features, masks = random_inputs(n, c, h, w, k, g, s, normalised=False)
    expected = carafe_by_loops(features, masks, k, g, s)
    torch.testing.assert_close(carafe_reference(features, masks, k, g, s), expected)


def test_reference_of_uniform_kernel_is_box_filter_of_nearest_upsample():
    # With every weight 1/k^2 and s=1, CARAFE is a k x k mean filter with zero padding.
    features, _ = random_inputs(1, 3, 6, 5, 3, 1, 1)
    masks = torch.full((1, 9, 6, 5), 1 / 9, dtype=torch.float64)
    box = torch.nn.functional.avg_pool2d(features, 3, stride=1, padding=1, count_include_pad=True)
    torch.testing.assert_close(carafe_reference(features, masks, 3, 1, 1), box)


@pytest.mark.parametrize("k,g,s", [(1, 1, 1), (3, 2, 2), (5, 1, 3), (7, 4, 2)])
def test_export_decomposition_matches_the_reference(k, g, s):
    from carafe.ops.reference import carafe_for_export

    features, masks = random_inputs(2, 4 * g, 5, 3, k, g, s, normalised=False)
    expected = carafe_reference(features, masks, k, g, s)
    torch.testing.assert_close(carafe_for_export(features, masks, k, g, s), expected)
