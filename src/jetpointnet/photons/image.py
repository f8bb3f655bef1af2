"""The object's image: energy fractions per (depth layer, eta pixel, phi pixel).

Seed 003: cell energies divided by the object's total, summed per pixel of ``pixel`` =
(d_eta, d_phi) in an ``n_eta x n_phi`` window centred on the highest-energy cluster (its
centre pixel holds d = 0), one such window per depth layer (:mod:`.layers`). Cells outside
the window or in no depth layer are in no pixel; the image then sums to less than 1.
"""

from __future__ import annotations

import numpy as np

from jetpointnet.photons.layers import IMAGE_LAYERS

__all__ = ["object_image"]


def object_image(d_eta: np.ndarray, d_phi: np.ndarray, depth: np.ndarray, e_norm: np.ndarray,
                 *, n_eta: int = 15, n_phi: int = 15,
                 pixel: tuple[float, float] = (0.025, 0.0245)) -> np.ndarray:  # fmt: skip
    """``(12, n_eta, n_phi)`` float32 image of one object's cells."""
    img = np.zeros((len(IMAGE_LAYERS), n_eta, n_phi), np.float64)
    i = np.floor(np.asarray(d_eta) / pixel[0] + n_eta / 2).astype(np.int64)
    j = np.floor(np.asarray(d_phi) / pixel[1] + n_phi / 2).astype(np.int64)
    d = np.asarray(depth, np.int64)
    ok = (d >= 0) & (i >= 0) & (i < n_eta) & (j >= 0) & (j < n_phi)
    np.add.at(img, (d[ok], i[ok], j[ok]), np.asarray(e_norm, np.float64)[ok])
    return img.astype(np.float32)
