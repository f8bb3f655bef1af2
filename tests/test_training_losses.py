"""Masked losses against hand-computed values (training/losses.py, training/tasks.py)."""

from __future__ import annotations

import math

import pytest
import torch

from jetpointnet.training.config import TaskConfig
from jetpointnet.training.losses import (
    energy_weights,
    masked_bce,
    masked_cross_entropy,
    masked_mae,
    masked_mse,
)
from jetpointnet.training.tasks import make_task

# two samples, three points each; the last point of each is padding / unlabelled
PRED = torch.tensor([[1.0, 2.0, 50.0], [0.0, 4.0, -7.0]])
TARGET = torch.tensor([[0.0, 2.0, -1.0], [1.0, 1.0, -1.0]])
MASK = torch.tensor([[True, True, False], [True, True, False]])


def test_masked_mse_averages_once_over_valid_points() -> None:
    # squared errors of valid points: 1, 0, 1, 9 -> 11 / 4 (not / 2 samples, not / 6 points)
    assert masked_mse(PRED, TARGET, MASK).item() == pytest.approx(11 / 4)


def test_masked_mae() -> None:
    assert masked_mae(PRED, TARGET, MASK).item() == pytest.approx((1 + 0 + 1 + 3) / 4)


def test_loss_of_batch_without_valid_points_is_zero_with_gradient() -> None:
    pred = PRED.clone().requires_grad_()
    loss = masked_mse(pred, TARGET, torch.zeros_like(MASK))
    loss.backward()
    assert loss.item() == 0.0
    assert torch.all(pred.grad == 0)


def test_padding_values_never_matter() -> None:
    other = PRED.clone()
    other[~MASK] = float("nan")
    assert masked_mse(torch.nan_to_num(other, nan=1e6), TARGET, MASK).item() == pytest.approx(
        11 / 4
    )


def _bce(p: float, y: int) -> float:
    return -(y * math.log(p) + (1 - y) * math.log(1 - p))


def test_energy_weighted_bce() -> None:
    logits = torch.tensor([[0.0, 2.0, 9.0]])
    target = torch.tensor([[1, 0, -1]])
    mask = torch.tensor([[True, True, False]])
    energy = torch.tensor([[1.0, -3.0, 100.0]])
    p = [0.5, 1 / (1 + math.exp(-2.0))]
    terms = [_bce(p[0], 1), _bce(p[1], 0)]
    unweighted = masked_bce(logits, target, mask)
    assert unweighted.item() == pytest.approx(sum(terms) / 2)
    w = energy_weights(energy, "E")  # |E|: 1, 3
    weighted = masked_bce(logits, target, mask, weight=w)
    assert weighted.item() == pytest.approx((terms[0] + 3 * terms[1]) / 4)
    w2 = energy_weights(energy, "E2")  # 1, 9
    assert masked_bce(logits, target, mask, weight=w2).item() == pytest.approx(
        (terms[0] + 9 * terms[1]) / 10
    )


def test_cross_entropy_with_class_weights() -> None:
    logits = torch.tensor([[[2.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [5.0, 0, 0, 0]]])
    target = torch.tensor([[0, 2, -1]])
    mask = torch.tensor([[True, True, False]])
    z0 = math.log(math.exp(2) + 3)
    z1 = math.log(math.e + 3)
    l0, l1 = z0 - 2.0, z1 - 0.0
    assert masked_cross_entropy(logits, target, mask).item() == pytest.approx((l0 + l1) / 2)
    cw = [1.0, 1.0, 4.0, 1.0]
    got = masked_cross_entropy(logits, target, mask, class_weights=cw).item()
    assert got == pytest.approx((l0 + 4 * l1) / 5)


def test_regression_task_ignores_tracks_and_padding() -> None:
    task = make_task(TaskConfig(name="regression"))
    batch = {
        "mask": torch.tensor([[True, True, True, False]]),
        "label_mask": torch.tensor([[True, True, False, False]]),
        "y_energy": torch.tensor([[1.0, 0.0, -1.0, -1.0]]),
        "energy": torch.tensor([[2.0, 1.0, 5.0, 0.0]]),
    }
    out = torch.tensor([[1.5, 0.5, 100.0, 100.0]])
    assert task.loss(out, batch).item() == pytest.approx((0.25 + 0.25) / 2)
    assert task.predicted_focal(out, batch)[0, :2].tolist() == [True, False]
