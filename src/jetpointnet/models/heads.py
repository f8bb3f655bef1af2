"""Per-point output heads: what a task puts on top of a model body.

A head maps body features ``(B, N, C)`` to the task's raw output per point:

- ``energy``: one linear unit, the rectified TSSR activation, times the input cell
  energy (seed 000's energy bypass). Output: predicted focal energy in GeV, ``(B, N)``.
- ``logits``: ``n_outputs`` linear units. Output: logits, ``(B, N)`` for one unit,
  ``(B, N, n_outputs)`` otherwise.

The head does not know the loss; the task (``jetpointnet.training.tasks``) does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from jetpointnet.models.layers import TSSR

__all__ = ["EnergyHead", "HeadSpec", "LogitHead", "make_head"]


@dataclass(frozen=True)
class HeadSpec:
    """Which head a task wants: ``kind``, output units and TSSR parameters."""

    kind: Literal["energy", "logits"]
    n_outputs: int = 1
    tssr_a: float = 0.05
    tssr_b: float = 0.1


class EnergyHead(nn.Module):
    """``TSSR(linear(features)) * energy``: focal energy per point in GeV, ``(B, N)``."""

    def __init__(self, c_in: int, *, tssr_a: float = 0.05, tssr_b: float = 0.1) -> None:
        super().__init__()
        self.linear = nn.Linear(c_in, 1)
        self.act = TSSR(a=tssr_a, b=tssr_b)

    def forward(self, feats: torch.Tensor, energy: torch.Tensor) -> torch.Tensor:
        frac = self.act(self.linear(feats).squeeze(-1))  # (B, N)
        return frac * energy


class LogitHead(nn.Module):
    """Linear logits per point: ``(B, N)`` for one output, else ``(B, N, n_outputs)``."""

    def __init__(self, c_in: int, n_outputs: int) -> None:
        super().__init__()
        self.n_outputs = n_outputs
        self.linear = nn.Linear(c_in, n_outputs)

    def forward(self, feats: torch.Tensor, energy: torch.Tensor) -> torch.Tensor:
        out = self.linear(feats)  # (B, N, K)
        return out.squeeze(-1) if self.n_outputs == 1 else out


def make_head(c_in: int, spec: HeadSpec) -> nn.Module:
    """The head module for ``spec`` on ``c_in`` body channels."""
    if spec.kind == "energy":
        return EnergyHead(c_in, tssr_a=spec.tssr_a, tssr_b=spec.tssr_b)
    if spec.kind == "logits":
        return LogitHead(c_in, spec.n_outputs)
    raise ValueError(f"unknown head kind {spec.kind!r}")
