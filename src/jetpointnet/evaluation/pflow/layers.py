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
the Gaussian-weighted, depth-normalised energy density per interaction length of depth
(PFLOW.md step 4, eflowRec's ``getFirstIntLayer``), reported as one of the categories
``EM1``, ``EM2``, ``EM3``, ``HEC``, ``Tile``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from jetpointnet.io.mltree_layout import SAMPLING, TRACK_LAYERS

__all__ = [
    "EM1_SAMPLINGS",
    "GROUPS",
    "GROUP_OF_SAMPLING",
    "LHED_CATEGORIES",
    "LHED_GROUPS",
    "LHED_GROUP_OF_TRACK_LAYER",
    "REF_SAMPLINGS",
    "RING_WIDTH",
    "TRACK_LAYER_OF_SAMPLING",
    "delta_phi",
    "delta_r",
    "density_conversion",
    "depth_ends",
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
#: The first EM layer (EMB1, then EME1) as indices into TRACK_LAYERS: eflowRec's |eta|.
EM1_SAMPLINGS: tuple[int, int] = (TRACK_LAYERS.index("EMB1"), TRACK_LAYERS.index("EME1"))

#: TRACK_LAYERS index -> index into LHED_GROUPS (-1 for the presamplers).
LHED_GROUP_OF_TRACK_LAYER: np.ndarray = np.array(
    [
        LHED_GROUPS.index(_SAMPLING_GROUP[name]) if _SAMPLING_GROUP[name] != "PS" else -1
        for name in TRACK_LAYERS
    ],
    dtype=np.int16,
)

#: Interaction lengths at normal incidence of each group and of the material in front of
#: it (ATLAS, ../shared/CALO.md; gaps as in eflowRec's depth calculator).
_BARREL_LAMBDA = {"EM1": 0.22, "EM2": 0.87, "EM3": 0.08, "Tile0": 1.5, "Tile1": 4.1, "Tile2": 1.8}
_BARREL_GAP = {"EM1": 0.58, "Tile0": 0.47}
_ENDCAP_LAMBDA = {
    "EM1": 0.30,
    "EM2": 0.76,
    "EM3": 0.23,
    "HEC0": 1.5,
    "HEC1": 2.8,
    "HEC2": 2.9,
    "HEC3": 2.7,
}
_ENDCAP_GAP = {"EM1": 0.5, "HEC0": 0.4}
#: Radiation length (mm) used to normalise densities: eflowRec's 47.45 and 44.44 X0 per m.
X0_MM = {"EM": 1000.0 / 47.44680851, "HAD": 1000.0 / 44.44444444}


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


def depth_ends(abs_eta: float) -> np.ndarray:
    """Depth (interaction lengths along the track from the interaction point) at the back of
    each LHED group (``LHED_GROUPS`` order) for a track at ``abs_eta``, as eflowRec's
    ``eflowDepthCalculator`` does for ATLAS: the EM barrel below |eta| 1.475, else the EM
    end-cap; Tile below |eta| 1.7, HEC above 1.5; path lengths grow as cosh(eta) in the
    barrel and 1/tanh|eta| in the end-caps; groups the track does not cross add 1e-4."""
    a = float(min(abs(abs_eta), 3.2))
    barrel, endcap = np.cosh(a), 1.0 / np.tanh(max(a, 1e-3))
    em_barrel = a < 1.475
    step = []
    for name in LHED_GROUPS:
        gap, thick = 0.0, 0.0
        if name.startswith("EM"):
            table = _BARREL_LAMBDA if em_barrel else _ENDCAP_LAMBDA
            path = barrel if em_barrel else endcap
            gap = (_BARREL_GAP if em_barrel else _ENDCAP_GAP).get(name, 0.0) * path
            thick = table[name] * path
        elif name.startswith("Tile") and a < 1.7:
            gap = _BARREL_GAP.get(name, 0.0) * barrel
            thick = _BARREL_LAMBDA[name] * barrel
        elif name.startswith("HEC") and a > 1.5:
            gap = _ENDCAP_GAP.get(name, 0.0) * endcap
            thick = _ENDCAP_LAMBDA[name] * endcap
        step.append(gap + (thick if thick > 0 else 1e-4))
    return np.cumsum(step)


def density_conversion() -> np.ndarray:
    """Per LHED group, the factor X0^3 (mm^3) that turns GeV / mm^3 into GeV per X0^3 (EM
    layers with the LAr X0, hadronic ones with the Tile/HEC X0, eflowRec's values)."""
    return np.array([X0_MM["EM" if n.startswith("EM") else "HAD"] ** 3 for n in LHED_GROUPS])


def lhed_group(densities: np.ndarray, depth: np.ndarray, present: np.ndarray | None = None) -> int:
    """Index into ``LHED_GROUPS`` of the largest increase of energy density with depth.

    eflowRec's ``eflowLayerIntegrator::getFirstIntLayer``: going through the groups the
    track crosses (``present``; all by default) in depth order, the gradient is the change
    of the depth-normalised density (``densities`` in GeV / mm^3, converted to GeV per X0^3)
    over the change of ``depth`` (interaction lengths at the back of each group, see
    :func:`depth_ends`) since the previous group, both starting at 0; the group with the
    largest gradient wins, the first one on ties (so EM1 when every density is zero).
    """
    d = np.asarray(densities, dtype=np.float64) * density_conversion()
    x = np.asarray(depth, dtype=np.float64)
    use = np.ones(d.size, dtype=bool) if present is None else np.asarray(present, dtype=bool)
    if not use.any():
        use = np.ones(d.size, dtype=bool)
    best, best_grad, x_prev, y_prev = -1, -np.inf, 0.0, 0.0
    for g in np.flatnonzero(use):
        grad = (d[g] - y_prev) / max(x[g] - x_prev, 1e-9)
        x_prev, y_prev = x[g], d[g]
        if grad > best_grad:
            best, best_grad = int(g), grad
    return best


def lhed_category(group_index: int) -> str:
    """``EM1``/``EM2``/``EM3``/``HEC``/``Tile`` for an index into ``LHED_GROUPS``."""
    name = LHED_GROUPS[group_index]
    if name.startswith("HEC"):
        return "HEC"
    if name.startswith("Tile"):
        return "Tile"
    return name
