"""Electric charge of truth particles from their PDG ids (scikit-HEP ``particle``).

The lookup runs once per distinct id of a chunk, so it costs a few microseconds per
distinct particle species, not per cell.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["charge_of"]


@lru_cache(maxsize=4096)
def _charge(pdg_id: int) -> float:
    from particle import PDGID

    charge = PDGID(pdg_id).charge
    return float(charge) if charge is not None else 0.0


def charge_of(pdg_ids: np.ndarray) -> np.ndarray:
    """Charge (units of e, float32) for every PDG id; unknown or invalid ids give 0."""
    ids = np.asarray(pdg_ids, dtype=np.int64)
    if ids.size == 0:
        return np.zeros(0, dtype=np.float32)
    uniq, inverse = np.unique(ids, return_inverse=True)
    charges = np.array([_charge(int(u)) for u in uniq], dtype=np.float32)
    return charges[inverse.reshape(ids.shape)]
