"""carafe.geometry against the C++ index functions (carafe_index.h), the reference and torch."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from carafe.ops.geometry import Geometry, visible_extent
from carafe.ops.reference import carafe_reference
from tests.conftest import random_inputs

SHAPES = [  # c, h, w, k, g, s
    (4, 5, 5, 1, 1, 1),
    (6, 7, 5, 3, 2, 2),
    (8, 4, 9, 5, 4, 3),
    (3, 3, 3, 7, 1, 4),
]


def _forward_by_geometry(features: np.ndarray, masks: np.ndarray, geo: Geometry) -> np.ndarray:
    """CARAFE one output value at a time, using only Geometry's window/kernel/group methods."""
    oh, ow = geo.out_hw
    out = np.zeros((geo.C, oh, ow))
    for y in range(oh):
        for x in range(ow):
            win = geo.window(y, x)
            rows, cols = np.clip(win.rows, 0, geo.H - 1), np.clip(win.cols, 0, geo.W - 1)
            for g in range(geo.G):
                kernel = geo.kernel_at(masks, y, x, g) * win.inside  # zero padding
                for c in geo.channels_of_group(g):
                    assert geo.group_of_channel(c) == g
                    out[c, y, x] = (kernel * features[c][np.ix_(rows, cols)]).sum()
    return out


def _geometry(shape) -> Geometry:
    c, h, w, k, g, s = shape
    return Geometry(k=k, G=g, s=s, C=c, H=h, W=w)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_forward_by_geometry_matches_the_cpp_index_functions(shape, index_ops):
    c, h, w, k, g, s = shape
    features, masks = random_inputs(1, c, h, w, k, g, s, normalised=False)
    geo = _geometry(shape)
    assert geo.mask_channels == masks.shape[1] and geo.out_hw == tuple(masks.shape[-2:])
    mine = _forward_by_geometry(features[0].numpy(), masks[0].numpy(), geo)
    np.testing.assert_allclose(
        mine, index_ops.index_forward(features, masks, k, g, s)[0].numpy(), atol=1e-12
    )
    np.testing.assert_allclose(mine, carafe_reference(features, masks, k, g, s)[0].numpy())


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_grad_masks_by_geometry_match_the_cpp_index_functions(shape, index_ops):
    """d out / d mask[(g·k + dy)·k + dx, y, x] = Σ over group g's channels of grad · tap value."""
    c, h, w, k, g, s = shape
    features, masks = random_inputs(1, c, h, w, k, g, s, normalised=False)
    grad_out = torch.randn(1, c, h * s, w * s, dtype=torch.float64)
    _, grad_masks = index_ops.index_backward(grad_out, features, masks, k, g, s)
    geo, f, go = _geometry(shape), features[0].numpy(), grad_out[0].numpy()
    mine = np.zeros(grad_masks.shape[1:])
    for y in range(h * s):
        for x in range(w * s):
            win = geo.window(y, x)
            for grp in range(g):
                chans = list(geo.channels_of_group(grp))
                for dy in range(k):
                    for dx in range(k):
                        if win.inside[dy, dx]:
                            tap = f[chans, win.rows[dy], win.cols[dx]]
                            mine[geo.mask_channel(grp, dy, dx), y, x] = go[chans, y, x] @ tap
    np.testing.assert_allclose(mine, grad_masks[0].numpy(), atol=1e-12)


@pytest.mark.parametrize("k, g, s", [(3, 1, 2), (5, 2, 2), (3, 2, 3)])
def test_encoder_channel_is_the_pixel_shuffle(k, g, s):
    geo = Geometry(k=k, G=g, s=s, C=2 * g, H=3, W=4)
    encoder = torch.randn(1, g * k * k * s * s, 3, 4)
    shuffled = F.pixel_shuffle(encoder, s)[0].numpy()  # what CARAFEPack does
    enc = encoder[0].numpy()
    for y in range(3 * s):
        for x in range(4 * s):
            sy, sx = geo.source_pixel(y, x)
            a, b = geo.sub_pixel(y, x)
            for grp in range(g):
                channels = geo.encoder_channels(y, x, grp)
                assert channels[0, 1] == geo.encoder_channel(grp, 1, a, b)
                np.testing.assert_array_equal(
                    geo.kernel_at(shuffled, y, x, grp), enc[channels, sy, sx]
                )


def test_window_marks_padding_and_the_padded_image_area():
    # a 20×36 image at stride 4 (input map, 5×9 visible) padded by the model to 8×12 map pixels
    geo = Geometry(k=5, G=1, s=2, C=4, H=8, W=12, stride_in=4, stride_out=2, image_hw=(20, 36))
    assert geo.visible_input_hw() == (5, 9) and geo.visible_output_hw() == (10, 18)
    assert geo.visible_output_hw((15, 30)) == (10, 18) and geo.visible_output_hw((7, 30)) == (7, 18)
    corner = geo.window(0, 0)  # source (0, 0): two rows and two columns of zero padding
    assert corner.source == (0, 0) and corner.inside.sum() == 9
    np.testing.assert_array_equal(corner.inside, corner.in_image)
    bottom = geo.window(9, 17)  # source (4, 8): last visible row/column of the map
    assert bottom.inside.all()  # inside the (padded) map ...
    assert bottom.in_image.sum() == 9 and bottom.outside_image[3:, :].all()  # ... not the image
    full = geo.window_fully_in_image()
    assert full.shape == (16, 24)
    ys, xs = np.nonzero(full)
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (4, 5, 4, 13)
    for y, x in [(4, 4), (5, 13), (3, 4), (6, 13), (4, 14)]:
        assert full[y, x] == geo.window(y, x).in_image.all()


def test_image_boxes_and_selection_round_trip():
    geo = Geometry(k=3, G=1, s=2, C=4, H=6, W=6, stride_in=8, stride_out=4)
    assert geo.output_box(2, 3) == (8, 12, 12, 16)
    assert geo.window_box(2, 3) == (0, 0, 24, 24)  # source (1, 1), radius 1, 8 px per pixel
    assert geo.map_window(2, 3) == (0, 0, 3, 3)
    for y, x in [(0, 0), (5, 7), (11, 11)]:
        assert geo.output_pixel_at(*geo.image_centre(y, x)) == (y, x)
    assert visible_extent(21, 4) == 6 and visible_extent(20, 4) == 5


def test_bad_geometry_is_refused():
    with pytest.raises(ValueError, match="odd"):
        Geometry(k=4, G=1, s=2, C=4, H=2, W=2)
    with pytest.raises(ValueError, match="divisible"):
        Geometry(k=3, G=3, s=2, C=4, H=2, W=2)
