"""The cut-based baseline: the pointing z0 of a shower from its EMB1 and EMB2 barycentres.

The energy-weighted eta barycentre of the object's EMB1 cells and of its EMB2 cells, each
placed at the mean radius of a photon shower's deposits in that layer
(:data:`LAYER_FRONT_MM` + :data:`SHOWER_DEPTH_MM` sin theta), define a line in the (r, z) plane (z = r sinh(eta), mm);
``z0`` is its z at r = 0. A photon from the primary vertex points back to z ~ z_PV; one
from a displaced decay does not. NaN when the object has no energy in EMB1 or in EMB2.

Why not the cells' own radii: a cell's ``rPerp`` is the middle of its layer (EMB2:
1758 mm), but a photon shower deposits most of its EMB2 energy in the front of the layer;
cell centres at the wrong depth shrink the lever arm's z difference and bias z0 towards 0
(a photon from z0 = 500 mm pointed back to ~270 mm). ATLAS's photon pointing likewise
evaluates each layer's eta at a parametrised shower depth.
"""

from __future__ import annotations

import numpy as np

from jetpointnet.io.mltree_layout import SAMPLING

__all__ = ["LAYER_FRONT_MM", "SHOWER_DEPTH_MM", "pointing_z0"]

#: Front radius (mm) of EMB1 and EMB2 and the mean radial depth (mm) of a 50 GeV photon
#: shower's deposits behind it at normal incidence (eta ~ 0), measured with the simulator's
#: true deposit positions (mean radii 1557 and 1670 mm). At polar angle theta the shower
#: runs along its line, so its mean radius is front + depth * sin(theta).
LAYER_FRONT_MM = {"EMB1": 1500.0, "EMB2": 1587.0}
SHOWER_DEPTH_MM = {"EMB1": 57.0, "EMB2": 83.0}


def pointing_z0(sampling: np.ndarray, r: np.ndarray, eta: np.ndarray, e: np.ndarray) -> float:
    """z0 (mm) of one object's cells (CaloSampling numbers, r mm, eta, energies GeV).

    ``r`` is accepted for the callers' convenience and not used: each layer's barycentre
    is placed at its shower radius, front + depth * sin(theta), with theta the polar
    angle of the line itself (three fixed-point steps from theta = 90 degrees).
    """
    s, e = np.asarray(sampling), np.asarray(e, np.float64)
    eta = np.asarray(eta, np.float64)
    bary = []
    for name in ("EMB1", "EMB2"):
        sel = (s == SAMPLING[name]) & (e > 0)
        w = e[sel].sum()
        if w <= 0:
            return float("nan")
        bary.append(np.sinh(np.dot(e[sel], eta[sel]) / w))  # z / r of the barycentre
    sin_theta = 1.0
    for _ in range(3):
        r1, r2 = (LAYER_FRONT_MM[n] + SHOWER_DEPTH_MM[n] * sin_theta for n in ("EMB1", "EMB2"))
        z1, z2 = r1 * bary[0], r2 * bary[1]
        sin_theta = (r2 - r1) / np.hypot(r2 - r1, z2 - z1)
    return float(z1 - r1 * (z2 - z1) / (r2 - r1))
