"""The object's cells as a point cloud (the point-cloud zoo's input, contract B ``X``).

Columns :data:`CELL_FEATURES`: d_eta, d_phi (to the highest-energy cluster), e_norm (cell
E / the object's total), layer (depth index 0..11 as float, -1 for samplings in no image
group), log_e (ln of the cell E in GeV, clamped below at ln 1e-3). The ``length``
highest-energy cells are kept, padding rows 0. ``p4``: massless (px, py, pz, E) in GeV
of each cell seen from the origin.
"""

from __future__ import annotations

import numpy as np

__all__ = ["CELL_FEATURES", "cell_cloud"]

CELL_FEATURES = ("d_eta", "d_phi", "e_norm", "layer", "log_e")


def cell_cloud(d_eta: np.ndarray, d_phi: np.ndarray, e: np.ndarray, depth: np.ndarray,
               eta: np.ndarray, phi: np.ndarray, *, total: float,
               length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """``X (length, 5)``, ``mask (length,)``, ``p4 (length, 4)`` of one object's cells."""
    order = np.argsort(-np.asarray(e), kind="stable")[:length]
    n = len(order)
    e_k = np.asarray(e, np.float64)[order]
    cols = [np.asarray(d_eta)[order], np.asarray(d_phi)[order], e_k / total,
            np.asarray(depth, np.float64)[order], np.log(np.maximum(e_k, 1e-3))]  # fmt: skip
    x = np.zeros((length, len(CELL_FEATURES)), np.float32)
    x[:n] = np.stack(cols, 1)
    et, ph = np.asarray(eta, np.float64)[order], np.asarray(phi, np.float64)[order]
    pt = e_k / np.cosh(et)
    p4 = np.zeros((length, 4), np.float32)
    p4[:n] = np.stack([pt * np.cos(ph), pt * np.sin(ph), pt * np.sinh(et), e_k], 1)
    mask = np.zeros(length, bool)
    mask[:n] = True
    return x, mask, p4
