"""Event-level subtraction: reconcile the tracks' claims on cells, leave the remnant.

Every selected track claims an energy in some cells (the network's predicted focal
deposit, or what the classical algorithm subtracted). Where claims on one cell add up to
more than the cell holds, they are reconciled by one rule:

1. a claim is clipped to ``[0, max(E_cell, 0)]`` (a track never takes energy a cell does
   not have, and never gives energy to a cell);
2. if the clipped claims on a cell add up to more than ``max(E_cell, 0)``, each is scaled
   by the same factor ``max(E_cell, 0) / sum`` (proportional scaling);
3. the cell keeps ``remnant = E_cell - sum(granted)``.

So for every cell ``sum(granted) + remnant == E_cell`` (no energy is created or lost),
``0 <= granted <= claim``, and ``remnant >= min(E_cell, 0)``: a negative (noise) cell is
never touched. Energies in GeV.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Claims", "reconcile"]


@dataclass(frozen=True)
class Claims:
    """Sparse claims: track row ``track``, cell row ``cell``, ``energy`` (GeV), each (K,)."""

    track: np.ndarray
    cell: np.ndarray
    energy: np.ndarray

    def __len__(self) -> int:
        return len(self.energy)

    @classmethod
    def empty(cls) -> Claims:
        z = np.zeros(0, np.int64)
        return cls(track=z, cell=z, energy=np.zeros(0))

    @classmethod
    def concat(cls, parts: list[Claims]) -> Claims:
        if not parts:
            return cls.empty()
        return cls(
            track=np.concatenate([p.track for p in parts]).astype(np.int64),
            cell=np.concatenate([p.cell for p in parts]).astype(np.int64),
            energy=np.concatenate([p.energy for p in parts]).astype(np.float64),
        )


def reconcile(cell_energy: np.ndarray, claims: Claims) -> tuple[np.ndarray, np.ndarray]:
    """``(granted (K,), remnant (C,))`` under the module's rule (GeV)."""
    e = np.asarray(cell_energy, dtype=np.float64)
    avail = np.maximum(e, 0.0)
    c = np.asarray(claims.cell, dtype=np.int64)
    want = np.nan_to_num(np.asarray(claims.energy, dtype=np.float64), nan=0.0, posinf=0.0)
    want = np.clip(want, 0.0, avail[c])
    total = np.bincount(c, weights=want, minlength=len(e))
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(total > avail, avail / total, 1.0)
    granted = want * scale[c]
    taken = np.bincount(c, weights=granted, minlength=len(e))
    return granted, e - taken
