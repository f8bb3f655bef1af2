"""The cut-based baseline: the pointing z0 of a shower from its EMB1 and EMB2 barycentres.

The energy-weighted (r, z) barycentre of the object's EMB1 cells and of its EMB2 cells
(cell r = ``rPerp``, z = r sinh(eta), mm) define a line in the (r, z) plane; ``z0`` is
its z at r = 0. A photon from the primary vertex points back to z ~ z_PV; one from a
displaced decay does not. NaN when the object has no energy in EMB1 or in EMB2.
"""

from __future__ import annotations

import numpy as np

from jetpointnet.io.mltree_layout import SAMPLING

__all__ = ["pointing_z0"]


def pointing_z0(sampling: np.ndarray, r: np.ndarray, eta: np.ndarray, e: np.ndarray) -> float:
    """z0 (mm) of one object's cells (CaloSampling numbers, r mm, eta, energies GeV)."""
    s, e = np.asarray(sampling), np.asarray(e, np.float64)
    z = np.asarray(r, np.float64) * np.sinh(np.asarray(eta, np.float64))
    bary = []
    for name in ("EMB1", "EMB2"):
        sel = (s == SAMPLING[name]) & (e > 0)
        w = e[sel].sum()
        if w <= 0:
            return float("nan")
        bary.append((np.dot(e[sel], np.asarray(r)[sel]) / w, np.dot(e[sel], z[sel]) / w))
    (r1, z1), (r2, z2) = bary
    if r2 == r1:
        return float("nan")
    return float(z1 - r1 * (z2 - z1) / (r2 - r1))
