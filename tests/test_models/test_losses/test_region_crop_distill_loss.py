"""RegionCropDistillLoss: 1 - cosine on hand-made pairs, the teacher detached, no regions."""
import pytest
import torch

from umg_mm.models.losses import RegionCropDistillLoss


def test_value_is_the_weighted_mean_of_one_minus_cosine():
    student = torch.tensor([[2., 0.], [0., 1.], [1., 1.]], requires_grad=True)
    teacher = torch.tensor([[1., 0.], [3., 0.], [-1., -1.]], requires_grad=True)
    loss = RegionCropDistillLoss(loss_weight=0.5)(student, teacher)
    assert loss.item() == pytest.approx(0.5 * (0. + 1. + 2.) / 3)
    loss.backward()
    assert student.grad.abs().sum() > 0 and teacher.grad is None


def test_no_regions_give_zero_on_the_graph_and_errors_name_the_fix():
    student = torch.zeros(0, 4, requires_grad=True)
    loss = RegionCropDistillLoss()(student, torch.zeros(0, 4))
    assert loss.item() == 0 and loss.requires_grad
    with pytest.raises(ValueError, match='same'):
        RegionCropDistillLoss()(torch.zeros(2, 4), torch.zeros(3, 4))
    with pytest.raises(ValueError, match='num_crops'):
        RegionCropDistillLoss(num_crops=0)
