"""Masked losses: only points with ``mask`` True count (labelled cells, never padding).

Every loss is averaged once over the valid points (weighted mean where weights are
given): ``sum(w * l) / sum(w)`` with ``w = mask * weight``. A batch without any valid
point gives 0 (with a gradient path, so DDP and autograd stay happy).

Energies are in GeV; regression losses are in GeV^2 (MSE) or GeV (MAE).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F

__all__ = [
    "EnergyWeight",
    "energy_weights",
    "masked_bce",
    "masked_cross_entropy",
    "masked_mae",
    "masked_mean",
    "masked_mse",
]

EnergyWeight = Literal["none", "E", "E2"]


def masked_mean(values: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``sum(weights * values) / sum(weights)``; 0 when the weights sum to 0."""
    w = weights.to(values.dtype)
    total = w.sum()
    return (values * w).sum() / torch.clamp(total, min=torch.finfo(values.dtype).tiny)


def energy_weights(energy: torch.Tensor, scheme: EnergyWeight) -> torch.Tensor:
    """Per-point weights from the raw cell energy (GeV): 1, ``|E|`` or ``E^2`` (seed 001)."""
    if scheme == "none":
        return torch.ones_like(energy)
    if scheme == "E":
        return energy.abs()
    if scheme == "E2":
        return energy * energy
    raise ValueError(f"unknown energy weighting {scheme!r}")


def masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error over valid points (GeV^2 for energies)."""
    return masked_mean((pred - target) ** 2, mask)


def masked_mae(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over valid points (GeV for energies)."""
    return masked_mean((pred - target).abs(), mask)


def masked_bce(
    logits: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    *,
    weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Binary cross-entropy on logits, weighted mean over valid points.

    ``weight`` (e.g. :func:`energy_weights`) multiplies each point's term; the mean is
    taken with the same weights, so the scale does not depend on the energy unit.
    """
    t = torch.where(mask, target, torch.zeros_like(target)).to(logits.dtype)
    per_point = F.binary_cross_entropy_with_logits(logits, t, reduction="none")
    w = mask.to(logits.dtype) if weight is None else mask.to(logits.dtype) * weight
    return masked_mean(per_point, w)


def masked_cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    *,
    class_weights: Sequence[float] | None = None,
    weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Multi-class cross-entropy, ``logits`` ``(B, N, K)``, integer ``target`` ``(B, N)``.

    Each valid point's term is weighted by ``class_weights[target]`` (if given) times
    ``weight`` (if given); the mean uses the same weights (as ``F.cross_entropy``).
    """
    k = logits.shape[-1]
    t = torch.where(mask, target, torch.zeros_like(target)).long()
    per_point = F.cross_entropy(logits.reshape(-1, k), t.reshape(-1), reduction="none")
    per_point = per_point.view(t.shape)  # (B, N)
    w = mask.to(logits.dtype)
    if class_weights is not None:
        cw = torch.as_tensor(class_weights, dtype=logits.dtype, device=logits.device)
        w = w * cw[t]
    if weight is not None:
        w = w * weight
    return masked_mean(per_point, w)
