"""Hand-made calorimeter patterns for the particle-flow tests (not a test module).

A pion-like shower: a grid of cells in EMB2 (0.025 x 0.0245), EMB3 (0.05 x 0.0245) and
TileBar0/1 (0.1 x 0.098) around a track at (eta0, phi0), with energy falling off
exponentially with the distance to the track. Units: GeV, radians, mm^3.
"""

from __future__ import annotations

import numpy as np

from jetpointnet.evaluation.pflow.algorithm import EventCells, EventTracks
from jetpointnet.io.mltree_layout import SAMPLING, TRACK_LAYERS

__all__ = ["cells_concat", "shower", "track"]

_GRID = {  # sampling: (deta, dphi, volume mm^3, half-size in cells)
    "EMB2": (0.025, 0.0245, 2.0e5, 4),
    "EMB3": (0.05, 0.0245, 1.0e5, 2),
    "TileBar0": (0.1, 0.098, 2.0e7, 1),
    "TileBar1": (0.1, 0.098, 5.0e7, 1),
}


def shower(
    eta0: float,
    phi0: float,
    energy: dict[str, float],
    *,
    cluster: int = 0,
    slope: float = 0.03,
) -> EventCells:
    """Cells of one cluster; ``energy[layer]`` GeV spread as exp(-dR / slope) in that layer."""
    cols: dict[str, list] = {
        k: [] for k in ("energy", "eta", "phi", "sampling", "deta", "dphi", "volume")
    }
    for layer, e_layer in energy.items():
        deta, dphi, vol, half = _GRID[layer]
        k = np.arange(-half, half + 1)
        ee, pp = np.meshgrid(eta0 + k * deta, phi0 + k * dphi, indexing="ij")
        ee, pp = ee.ravel(), pp.ravel()
        w = np.exp(-np.hypot(ee - eta0, pp - phi0) / slope)
        cols["energy"] += list(e_layer * w / w.sum())
        cols["eta"] += list(ee)
        cols["phi"] += list(pp)
        cols["sampling"] += [SAMPLING[layer]] * ee.size
        cols["deta"] += [deta] * ee.size
        cols["dphi"] += [dphi] * ee.size
        cols["volume"] += [vol] * ee.size
    n = len(cols["energy"])
    return EventCells(
        energy=np.array(cols["energy"]),
        eta=np.array(cols["eta"]),
        phi=np.array(cols["phi"]),
        sampling=np.array(cols["sampling"], dtype=np.int64),
        cluster=np.full(n, cluster, dtype=np.int64),
        deta=np.array(cols["deta"]),
        dphi=np.array(cols["dphi"]),
        volume=np.array(cols["volume"]),
    )


def cells_concat(*parts: EventCells) -> EventCells:
    """One EventCells from several (clusters keep their numbers)."""
    return EventCells(
        **{
            f: np.concatenate([getattr(p, f) for p in parts])
            for f in EventCells.__dataclass_fields__
        }
    )


def track(p: list[float], eta: list[float], phi: list[float]) -> EventTracks:
    """Tracks at normal incidence: the same (eta, phi) in every layer; pT = p / cosh(eta)."""
    p_arr = np.asarray(p, dtype=np.float64)
    eta_arr = np.asarray(eta, dtype=np.float64)
    le = np.repeat(eta_arr[:, None], len(TRACK_LAYERS), axis=1)
    lp = np.repeat(np.asarray(phi, dtype=np.float64)[:, None], len(TRACK_LAYERS), axis=1)
    return EventTracks(p=p_arr, pt=p_arr / np.cosh(eta_arr), layer_eta=le, layer_phi=lp)
