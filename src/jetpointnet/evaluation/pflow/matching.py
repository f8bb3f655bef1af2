"""Clusters, track-cluster matching, track-cluster groups and the LHED of one track.

- :func:`cluster_geometry`: a cluster's position is the unweighted mean of its cells and
  its angular widths their standard deviations, floored (PFLOW.md step 2);
- :func:`match_cluster`: the closest cluster in Delta-R' with enough energy;
- :func:`link_groups`: tracks that share clusters form one group (eflowRec's
  ``eflowCaloObject``), found as connected components of the track-cluster links;
- :func:`track_positions`, :func:`groups_present`, :func:`track_lhed`: where the track is
  in each layer and its layer of highest energy-density increase (:mod:`.layers`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jetpointnet.evaluation.pflow.event import EventCells, EventTracks, PflowParams
from jetpointnet.evaluation.pflow.layers import (
    GROUP_OF_SAMPLING,
    LHED_CATEGORIES,
    LHED_GROUP_OF_TRACK_LAYER,
    LHED_GROUPS,
    TRACK_LAYER_OF_SAMPLING,
    delta_phi,
    depth_ends,
    gaussian_cell_weight,
    group_densities,
    lhed_category,
    lhed_group,
)

__all__ = [
    "ClusterGeometry",
    "cluster_geometry",
    "groups_present",
    "link_groups",
    "match_cluster",
    "track_lhed",
    "track_positions",
]


@dataclass
class ClusterGeometry:
    ids: np.ndarray  # (K,) cluster index values
    cell_slot: np.ndarray  # (C,) index into ids for each cell
    eta: np.ndarray  # (K,) geometric centre
    phi: np.ndarray
    width_eta: np.ndarray  # floored widths
    width_phi: np.ndarray


def cluster_geometry(cells: EventCells, *, min_width: float = 0.05) -> ClusterGeometry:
    """Unweighted centre and angular widths (floored at ``min_width``) of each cluster."""
    ids, slot = np.unique(np.asarray(cells.cluster), return_inverse=True)
    slot = slot.ravel()
    k = ids.size
    n = np.maximum(np.bincount(slot, minlength=k).astype(np.float64), 1)
    eta = np.bincount(slot, weights=cells.eta, minlength=k) / n
    # circular mean for phi: average the offsets from one cell of the cluster
    first = np.zeros(k, dtype=np.int64)
    first[slot[::-1]] = np.arange(slot.size)[::-1]
    anchor = np.asarray(cells.phi, dtype=np.float64)[first] if slot.size else np.zeros(0)
    dphi = delta_phi(cells.phi, anchor[slot])
    phi = delta_phi(anchor + np.bincount(slot, weights=dphi, minlength=k) / n, 0.0)
    var_eta = np.bincount(slot, weights=(cells.eta - eta[slot]) ** 2, minlength=k) / n
    var_phi = np.bincount(slot, weights=delta_phi(cells.phi, phi[slot]) ** 2, minlength=k) / n
    return ClusterGeometry(
        ids=ids,
        cell_slot=slot,
        eta=eta,
        phi=phi,
        width_eta=np.maximum(np.sqrt(var_eta), min_width),
        width_phi=np.maximum(np.sqrt(var_phi), min_width),
    )


def match_cluster(
    geo: ClusterGeometry,
    cluster_energy: np.ndarray,
    track_eta: float,
    track_phi: float,
    track_e: float,
    *,
    params: PflowParams,
) -> int:
    """Slot (index into ``geo.ids``) of the matched cluster, or -1 (PFLOW.md step 2)."""
    drp = np.hypot(
        (geo.eta - track_eta) / geo.width_eta, delta_phi(geo.phi, track_phi) / geo.width_phi
    )
    ok = (drp < params.match_dr_prime) & (cluster_energy > params.min_cluster_fraction * track_e)
    if not ok.any():
        return -1
    return int(np.flatnonzero(ok)[np.argmin(drp[ok])])


def link_groups(links: list[np.ndarray], n_clusters: int) -> list[np.ndarray]:
    """Groups of tracks that share clusters (connected components).

    ``links[i]`` are the cluster slots of track ``i`` (empty for a track without any);
    returns the track indices of each group with at least one cluster, in the order of
    their first track.
    """
    parent = np.arange(n_clusters)

    def root(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = int(parent[a])
        return a

    for slots in links:
        for s in slots[1:]:
            ra, rb = root(int(slots[0])), root(int(s))
            if ra != rb:
                parent[rb] = ra
    groups: dict[int, list[int]] = {}
    for i, slots in enumerate(links):
        if len(slots):
            groups.setdefault(root(int(slots[0])), []).append(i)
    return [np.asarray(g, dtype=np.int64) for g in groups.values()]


def track_positions(
    cells: EventCells, tracks: EventTracks, t: int
) -> tuple[np.ndarray, np.ndarray]:
    """Track t's (eta, phi) in each cell's own layer; the reference point where missing."""
    ref_eta, ref_phi = tracks.reference()
    col = TRACK_LAYER_OF_SAMPLING[np.asarray(cells.sampling, dtype=np.int64)]
    eta = np.where(col >= 0, tracks.layer_eta[t][np.maximum(col, 0)], np.nan).astype(np.float64)
    phi = np.where(col >= 0, tracks.layer_phi[t][np.maximum(col, 0)], np.nan).astype(np.float64)
    bad = ~np.isfinite(eta) | ~np.isfinite(phi)
    eta[bad] = ref_eta[t]
    phi[bad] = ref_phi[t]
    return eta, phi


def groups_present(tracks: EventTracks, t: int) -> np.ndarray:
    """Mask over ``LHED_GROUPS`` of the groups where track t has an extrapolation."""
    ok = np.isfinite(tracks.layer_eta[t]) & (LHED_GROUP_OF_TRACK_LAYER >= 0)
    out = np.zeros(len(LHED_GROUPS), dtype=bool)
    out[LHED_GROUP_OF_TRACK_LAYER[ok]] = True
    return out


def track_lhed(
    cells: EventCells,
    energy: np.ndarray,
    pos_eta: np.ndarray,
    pos_phi: np.ndarray,
    select: np.ndarray,
    *,
    params: PflowParams,
    abs_eta: float = 0.0,
    present: np.ndarray | None = None,
) -> int:
    """LHED category index (into ``LHED_CATEGORIES``) from the selected cells.

    ``abs_eta``: the track's |eta| at the reference layer (sets the depth of each layer);
    ``present``: the groups the track crosses (:func:`groups_present`; all by default).
    """
    w = gaussian_cell_weight(
        cells.eta[select],
        cells.phi[select],
        cells.deta[select],
        cells.dphi[select],
        pos_eta[select],
        pos_phi[select],
        sigma=params.lhed_sigma,
        cut=params.lhed_cut,
    )
    groups = GROUP_OF_SAMPLING[np.asarray(cells.sampling[select], dtype=np.int64)]
    dens = group_densities(energy[select], w, cells.volume[select], groups)
    g = lhed_group(dens, depth_ends(abs_eta), present)
    return LHED_CATEGORIES.index(lhed_category(g))
