"""Segmentation metrics: mIoU, class-agnostic boundary F and per-class boundary F (Csurka)."""

import pytest
import torch

from carafe.training.metrics import boundary_f_scores, boundary_map, class_boundary_f, mean_iou


def _square(size=128, lo=40, hi=88, value=1):
    labels = torch.zeros(1, size, size, dtype=torch.long)
    labels[:, lo:hi, lo:hi] = value
    return labels


def test_boundary_f_and_miou():
    target = torch.zeros(1, 16, 16, dtype=torch.long)
    target[:, 4:12, 4:12] = 1
    assert boundary_map(target).sum() == 28 + 32  # inner ring and outer ring (no corners)
    assert boundary_f_scores(target, target).item() == 1.0
    shifted = torch.roll(target, 1, dims=2)
    assert boundary_f_scores(shifted, target, tolerance=1).item() == 1.0
    assert boundary_f_scores(shifted, target, tolerance=0).item() < 0.8
    far = torch.roll(target, (5, 5), dims=(1, 2))
    assert boundary_f_scores(far, target, tolerance=1).item() < 0.5
    miou, per_class = mean_iou(torch.tensor([[6, 2], [0, 2]]))
    assert per_class == pytest.approx([0.75, 0.5]) and miou == pytest.approx(0.625)


def test_absent_class_is_left_out_of_the_mean():
    miou, per_class = mean_iou(torch.tensor([[6, 0, 2], [0, 0, 0], [0, 0, 2]]))
    assert per_class[1] is None
    assert miou == pytest.approx((0.75 + 0.5) / 2)


def test_class_boundary_f_tolerance_is_a_share_of_the_diagonal():
    # 128 x 128: tolerance 0.0075 * 181 = 1.36 px, so a 1-px shift is inside it and 2 px is not.
    target = _square()
    score, count = class_boundary_f(target, target, 3)
    assert count.tolist() == [1, 1, 0]  # class 2 appears in neither map: not scored
    assert score[:2].tolist() == [1.0, 1.0]
    one = class_boundary_f(torch.roll(target, 1, dims=2), target, 3)[0]
    assert one[1].item() == 1.0
    two = class_boundary_f(torch.roll(target, 2, dims=2), target, 3)[0]
    assert 0.3 < two[1].item() < 0.9
    # On a 4x larger image the tolerance is 4x larger (5.4 px): a 2-px shift is within it.
    big = _square(512, 160, 352)
    assert class_boundary_f(torch.roll(big, 2, dims=2), big, 2)[0][1].item() == 1.0


def test_class_boundary_f_scores_each_class_on_its_own():
    # A prediction with the right boundary but the wrong class: class-agnostic F is perfect,
    # the per-class score is 0 for both the true and the predicted class.
    target = _square()
    wrong = _square(value=2)
    assert boundary_f_scores(wrong, target).item() == 1.0
    score, count = class_boundary_f(wrong, target, 3)
    assert count.tolist() == [1, 1, 1]
    assert score[0].item() == 1.0 and score[1].item() == 0.0 and score[2].item() == 0.0
