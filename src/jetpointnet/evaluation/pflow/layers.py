"""Calorimeter layer groups, ring widths, angular distances and the LHED, for particle flow.

The eflowRec algorithm thinks in layer *groups* rather than CaloSampling numbers: the
barrel and end-cap EM layers of the same depth share ring widths and profiles. Our groups,
in depth order (``PS`` comes first but takes no part in the LHED):

==========  =======================================  ===================
group       CaloSamplings                            ring width (eta-phi)
==========  =======================================  ===================
``PS``      PreSamplerB, PreSamplerE                 0.0491 (ours: as EM1)
``EM1``     EMB1, EME1                               0.0491
``EM2``     EMB2, EME2                               0.0175
``EM3``     EMB3, EME3                               0.0278
``HEC0-3``  HEC0 .. HEC3                             0.0701
``Tile0``   TileBar0, TileExt0, TileGap3             0.0701
``Tile1``   TileBar1, TileExt1, TileGap1             0.0701
``Tile2``   TileBar2, TileExt2, TileGap2, FCAL0-2    0.1114
==========  =======================================  ===================

The LHED (layer of highest energy density) is the group with the largest *increase* of
the Gaussian-weighted energy density with depth (PFLOW.md step 4), reported as one of the
categories ``EM1``, ``EM2``, ``EM3``, ``HEC``, ``Tile``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from jetpointnet.io.mltree_layout import SAMPLING, TRACK_LAYERS

__all__ = [
    "GROUPS",
    "GROUP_OF_SAMPLING",
    "LHED_CATEGORIES",
    "LHED_GROUPS",
    "REF_SAMPLINGS",
    "RING_WIDTH",
    "TRACK_LAYER_OF_SAMPLING",
    "delta_phi",
    "delta_r",
    "gaussian_cell_weight",
    "group_densities",
    "lhed_category",
    "lhed_group",
]

GROUPS: tuple[str, ...] = (
    "PS",
    "EM1",
    "EM2",
    "EM3",
    "HEC0",
    "HEC1",
    "HEC2",
    "HEC3",
    "Tile0",
    "Tile1",
    "Tile2",
)

#: Groups that enter the LHED search, in depth order (index into GROUPS minus one).
LHED_GROUPS: tuple[str, ...] = GROUPS[1:]
LHED_CATEGORIES: tuple[str, ...] = ("EM1", "EM2", "EM3", "HEC", "Tile")

#: Ring width per group (eta-phi radius), PFLOW.md step 7.
RING_WIDTH: dict[str, float] = {
    "PS": 0.0491,
    "EM1": 0.0491,
    "EM2": 0.0175,
    "EM3": 0.0278,
    "HEC0": 0.0701,
    "HEC1": 0.0701,
    "HEC2": 0.0701,
    "HEC3": 0.0701,
    "Tile0": 0.0701,
    "Tile1": 0.0701,
    "Tile2": 0.1114,
}

_SAMPLING_GROUP = {
    "PreSamplerB": "PS",
    "PreSamplerE": "PS",
    "EMB1": "EM1",
    "EME1": "EM1",
    "EMB2": "EM2",
    "EME2": "EM2",
    "EMB3": "EM3",
    "EME3": "EM3",
    "HEC0": "HEC0",
    "HEC1": "HEC1",
    "HEC2": "HEC2",
    "HEC3": "HEC3",
    "TileBar0": "Tile0",
    "TileExt0": "Tile0",
    "TileGap3": "Tile0",
    "TileBar1": "Tile1",
    "TileExt1": "Tile1",
    "TileGap1": "Tile1",
    "TileBar2": "Tile2",
    "TileExt2": "Tile2",
    "TileGap2": "Tile2",
    "FCAL0": "Tile2",
    "FCAL1": "Tile2",
    "FCAL2": "Tile2",
}

#: CaloSampling number -> index into GROUPS (a numpy lookup table over 0..23).
GROUP_OF_SAMPLING: np.ndarray = np.array(
    [
        GROUPS.index(_SAMPLING_GROUP[name])
        for name, _ in sorted(SAMPLING.items(), key=lambda kv: kv[1])
    ],
    dtype=np.int16,
)

#: CaloSampling number -> index into TRACK_LAYERS (-1 for FCAL: no extrapolation).
TRACK_LAYER_OF_SAMPLING: np.ndarray = np.array(
    [
        TRACK_LAYERS.index(name) if name in TRACK_LAYERS else -1
        for name, _ in sorted(SAMPLING.items(), key=lambda kv: kv[1])
    ],
    dtype=np.int16,
)

#: The reference layers (EMB2, then EME2) as indices into TRACK_LAYERS.
REF_SAMPLINGS: tuple[int, int] = (TRACK_LAYERS.index("EMB2"), TRACK_LAYERS.index("EME2"))


def delta_phi(a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
    """``a - b`` wrapped into [-pi, pi) (radians)."""
    return (np.asarray(a, dtype=np.float64) - b + np.pi) % (2.0 * np.pi) - np.pi


def delta_r(
    eta1: np.ndarray | float,
    phi1: np.ndarray | float,
    eta2: np.ndarray | float,
    phi2: np.ndarray | float,
) -> np.ndarray:
    """Angular distance sqrt(d_eta^2 + d_phi^2)."""
    deta = np.asarray(eta1, dtype=np.float64) - eta2
    return np.hypot(deta, delta_phi(phi1, phi2))


def gaussian_cell_weight(
    cell_eta: np.ndarray,
    cell_phi: np.ndarray,
    cell_deta: np.ndarray,
    cell_dphi: np.ndarray,
    track_eta: np.ndarray | float,
    track_phi: np.ndarray | float,
    *,
    sigma: float = 0.032,
    cut: float = 3.0,
) -> np.ndarray:
    """Integral over each cell's eta-phi rectangle of a unit 2-D Gaussian at the track.

    The Gaussian (width ``sigma`` in eta and phi) is truncated at ``cut`` sigma in each
    direction, so cells farther than that get weight 0.
    """
    de = np.asarray(cell_eta, dtype=np.float64) - track_eta
    dp = delta_phi(cell_phi, track_phi)
    he = 0.5 * np.asarray(cell_deta, dtype=np.float64)
    hp = 0.5 * np.asarray(cell_dphi, dtype=np.float64)
    lim = cut * sigma

    def one(d: np.ndarray, h: np.ndarray) -> np.ndarray:
        lo = np.clip(d - h, -lim, lim)
        hi = np.clip(d + h, -lim, lim)
        return np.maximum(ndtr(hi / sigma) - ndtr(lo / sigma), 0.0)

    return one(de, he) * one(dp, hp)


def group_densities(
    energy: np.ndarray,
    weight: np.ndarray,
    volume: np.ndarray,
    group: np.ndarray,
) -> np.ndarray:
    """Per LHED group (``LHED_GROUPS`` order): sum of ``weight * E / V`` (GeV / mm^3).

    Cells without a positive volume use volume 1 (a documented fallback for inputs
    that lack ``cell_geo_volume``); negative cell energies count as zero.
    """
    vol = np.where(np.asarray(volume) > 0, volume, 1.0)
    dens = np.asarray(weight) * np.maximum(energy, 0.0) / vol
    g = np.asarray(group, dtype=np.int64) - 1  # drop PS (index 0)
    ok = g >= 0
    return np.bincount(g[ok], weights=dens[ok], minlength=len(LHED_GROUPS))


def lhed_group(densities: np.ndarray) -> int:
    """Index into ``LHED_GROUPS`` of the largest increase of density with depth.

    The increase of the first group is its density itself. With all densities zero the
    answer is EM2 (index 1), the reference layer.
    """
    d = np.asarray(densities, dtype=np.float64)
    if not np.any(d > 0):
        return 1
    grad = np.diff(np.r_[0.0, d])
    return int(np.argmax(grad))


def lhed_category(group_index: int) -> str:
    """``EM1``/``EM2``/``EM3``/``HEC``/``Tile`` for an index into ``LHED_GROUPS``."""
    name = LHED_GROUPS[group_index]
    if name.startswith("HEC"):
        return "HEC"
    if name.startswith("Tile"):
        return "Tile"
    return name
