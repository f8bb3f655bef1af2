"""Topological clustering with ATLAS's 4/2/0 thresholds, and the cluster splitter.

Cell significance is ``|E| / sigma_noise`` (absolute energy, so negative cells can join).
Cells above the growth threshold (2 sigma) form connected groups through the neighbour
graph; a group that holds a seed cell (above 4 sigma) is a cluster (two seeds joined by
growth cells end up in one cluster: ATLAS's maker does not split); then every neighbour
of a cluster above the perimeter threshold (0 sigma: any cell) is added to the cluster of
its most significant clustered neighbour.

The splitter (:func:`split_clusters`) follows ATLAS's topo-cluster splitter (athena
CaloTopoClusterSplitter defaults; Eur. Phys. J. C 77 (2017) 490). Local maxima of a
cluster are cells with E >= ``min_energy`` (500 MeV) in the primary layers (EMB2, EMB3,
EME2, EME3: where EM showers peak) with at least ``min_neighbours`` (4) neighbours in the
cluster and more energy than each of those in a primary layer (cells of other layers
count as neighbours but never prevent a maximum). Secondary layers (EMB1, EME1, HEC,
Tile) add maxima that beat every primary and secondary neighbour and whose eta x phi box
overlaps no primary maximum and no stronger secondary one. A cluster with two or more
maxima is re-grown from them, simultaneously, one neighbour step at a time through the
cluster's own cells (thresholds no longer matter); a cell reached in the same step by two
split clusters is shared and grows no further; cells reachable only through shared cells
are grown from them afterwards and shared by the same pair. A shared cell's weight in
cluster 1 is ``w1 = E1 / (E1 + r E2)``, ``r = exp(d1 - d2)``, ``w2 = 1 - w1``, with
``E_i`` the energy of split cluster i's unshared cells (at least 1 MeV) and ``d_i`` the
cell's distance to the centre of those cells (weighted by positive energy) in units of
``shower_scale`` (5 cm, r clipped to exp(+-10)). A cluster with fewer than two maxima is
kept as it is.

The result (:class:`ClusterCells`) lists (cell, cluster, weight) entries: a shared cell
has two entries whose weights add up to 1, every other clustered cell one with weight 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from jetpointnet.simulate.geometry import Geometry, layer_index

__all__ = [
    "PRIMARY_MAXIMUM_LAYERS",
    "SECONDARY_MAXIMUM_LAYERS",
    "ClusterCells",
    "split_clusters",
    "topo_cluster",
]

#: Layers of ATLAS's splitter "SamplingNames" (FCAL0 too, not simulated here).
PRIMARY_MAXIMUM_LAYERS: tuple[str, ...] = ("EMB2", "EMB3", "EME2", "EME3")
#: Layers of ATLAS's "SecondarySamplingNames" (FCAL1-2 too, not simulated here).
SECONDARY_MAXIMUM_LAYERS: tuple[str, ...] = (
    "EMB1", "EME1", "TileBar0", "TileBar1", "TileBar2", "TileExt0", "TileExt1", "TileExt2",
    "HEC0", "HEC1", "HEC2", "HEC3",
)  # fmt: skip


@dataclass
class ClusterCells:
    """Cluster membership as entries sorted by (cluster, cell).

    ``cell``: cell index; ``cluster``: label 0..n_clusters-1, in descending cluster energy;
    ``weight``: the share of the cell's energy in that cluster (1 unless shared).
    """

    cell: np.ndarray  # int64
    cluster: np.ndarray  # int64
    weight: np.ndarray  # float64
    n_clusters: int

    @classmethod
    def from_labels(cls, labels: np.ndarray) -> ClusterCells:
        """One entry of weight 1 per clustered cell of a label array (-1: unclustered)."""
        cell = np.flatnonzero(labels >= 0)
        lab = labels[cell].astype(np.int64)
        o = np.lexsort((cell, lab))
        n = int(lab.max() + 1) if lab.size else 0
        return cls(cell=cell[o], cluster=lab[o], weight=np.ones(cell.size), n_clusters=n)


def _rank_by_energy(labels: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """Map label -> rank in descending summed ``weights`` (stable)."""
    e_cl = np.bincount(labels, weights=weights, minlength=n)
    rank = np.empty(n, dtype=np.int64)
    rank[np.argsort(-e_cl, kind="stable")] = np.arange(n)
    return rank


def topo_cluster(
    energy: np.ndarray,
    noise: np.ndarray,
    neighbours: sp.csr_matrix,
    *,
    seed: float = 4.0,
    grow: float = 2.0,
    perimeter: float = 0.0,
) -> np.ndarray:
    """Cluster label per cell (-1 for unclustered), labels 0..n-1 in descending cluster energy.

    ``energy`` and ``noise`` in GeV per cell; thresholds in units of the noise.
    """
    sig = np.abs(energy) / noise
    labels = np.full(energy.size, -1, dtype=np.int64)
    grow_cells = np.flatnonzero(sig > grow)
    if grow_cells.size == 0:
        return labels
    sub = neighbours[grow_cells][:, grow_cells]
    _, comp = connected_components(sub, directed=False)
    has_seed = np.zeros(comp.max() + 1, dtype=bool)
    has_seed[comp[sig[grow_cells] > seed]] = True
    keep = has_seed[comp]
    if not keep.any():
        return labels
    _, lab = np.unique(comp[keep], return_inverse=True)
    core_cells = grow_cells[keep]
    labels[core_cells] = lab
    # perimeter: neighbours of clustered cells, to the most significant clustered neighbour
    src, dst = _neighbour_pairs(neighbours, core_cells)
    cand = (labels[dst] < 0) & (sig[dst] > perimeter)
    src, dst = src[cand], dst[cand]
    added = _most_significant_source(src, dst, sig)
    labels[added[1]] = labels[added[0]]
    clustered = np.sort(np.concatenate([core_cells, added[1]]))  # the cells labels >= 0
    n = int(lab.max()) + 1
    rank = _rank_by_energy(labels[clustered], energy[clustered], n)
    labels[clustered] = rank[labels[clustered]]
    return labels


def _neighbour_pairs(neighbours: sp.csr_matrix, cells: np.ndarray) -> tuple[np.ndarray, ...]:
    """(cell, neighbour) pairs of ``cells``, row by row in the matrix's stored order."""
    rows = sp.csr_matrix(neighbours[cells])
    return np.repeat(cells, np.diff(rows.indptr)), rows.indices.astype(np.int64)


def _most_significant_source(
    src: np.ndarray, dst: np.ndarray, sig: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(source, cell) for each distinct ``dst``: its ``src`` of highest ``sig`` (the first
    listed among equals), cells ascending."""
    if dst.size == 0:
        return src, dst
    o = np.argsort(dst, kind="stable")  # listed order kept within each cell
    src, dst = src[o], dst[o]
    head = np.ones(dst.size, dtype=bool)
    head[1:] = dst[1:] != dst[:-1]
    starts = np.flatnonzero(head)
    s = sig[src]
    best = np.maximum.reduceat(s, starts)
    grp = np.cumsum(head) - 1
    top = np.flatnonzero(s == best[grp])  # ascending: the first of each cell's maxima first
    first_top = np.ones(top.size, dtype=bool)
    first_top[1:] = grp[top[1:]] != grp[top[:-1]]
    pick = top[first_top]
    return src[pick], dst[pick]


def _ragged(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(s, s + c)`` for each (s, c)."""
    total = int(counts.sum())
    offs = np.repeat(starts - (np.cumsum(counts) - counts), counts)
    return offs + np.arange(total, dtype=np.int64)


def _adjacency(
    neighbours: sp.csr_matrix, cells: np.ndarray, rows: np.ndarray, local: np.ndarray,
    parent: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """CSR (indptr over all local cells, neighbour local indices) of the local cells
    ``rows``, keeping neighbours of the same cluster only (other rows are empty)."""
    first = neighbours.indptr[cells[rows]]
    cnt = neighbours.indptr[cells[rows] + 1] - first
    src = np.repeat(rows, cnt)
    nb = local[neighbours.indices[_ragged(first, cnt)]]
    ok = nb >= 0
    ok[ok] = parent[nb[ok]] == parent[src[ok]]
    indptr = np.zeros(cells.size + 1, dtype=np.int64)
    indptr[1:] = np.cumsum(np.bincount(src[ok], minlength=cells.size))
    return indptr, nb[ok].astype(np.int64)


def _local_maxima(
    e: np.ndarray, indptr: np.ndarray, nb: np.ndarray, candidate: np.ndarray,
    rival: np.ndarray, *, min_neighbours: int,
) -> np.ndarray:  # fmt: skip
    """Local indices of maxima among the ``candidate`` local indices: at least
    ``min_neighbours`` in-cluster neighbours and more energy than each neighbour that is a
    ``rival`` (cells of other layers count as neighbours but never prevent a maximum, as
    in ATLAS)."""
    nnb = indptr[candidate + 1] - indptr[candidate]
    cand, nnb = candidate[nnb >= min_neighbours], nnb[nnb >= min_neighbours]
    if cand.size == 0:
        return cand
    flat = _ragged(indptr[cand], nnb)
    value = np.where(rival, np.maximum(e, 0.0), 0.0)
    nb_max = np.maximum.reduceat(value[nb[flat]], np.cumsum(nnb) - nnb)
    return cand[e[cand] > nb_max]


def _overlap(geo: Geometry, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) boolean: the eta x phi boxes of cells a and b overlap."""
    a = a[:, None]
    d_eta = np.abs(geo.eta[a] - geo.eta[b])
    d_phi = np.abs(np.angle(np.exp(1j * (geo.phi[a] - geo.phi[b]))))
    return (d_eta < 0.5 * (geo.deta[a] + geo.deta[b])) & (d_phi < 0.5 * (geo.dphi[a] + geo.dphi[b]))


def _grow(
    owner: np.ndarray, partner: np.ndarray, sources: np.ndarray, indptr: np.ndarray,
    nb: np.ndarray, seed_e: np.ndarray, *, inherit: bool,
) -> None:  # fmt: skip
    """Grow split clusters in place from ``sources``, one neighbour step at a time.

    ``owner``: split cluster of each local cell (-1: not reached); ``partner``: the second
    split cluster of a shared cell (-1 otherwise). ``inherit`` False: a cell reached in
    one step by several split clusters is shared by the two of highest seed energy and
    stops there. ``inherit`` True (growth from shared cells): a reached cell takes the
    pair of its source (the source of highest seed energy) and is shared in turn.
    """
    k = seed_e.size
    seed_rank = np.empty(k, dtype=np.int64)
    seed_rank[np.argsort(-seed_e, kind="stable")] = np.arange(k)
    by_rank = np.argsort(seed_rank)
    new = sources
    while new.size:
        cnt = indptr[new + 1] - indptr[new]
        flat = _ragged(indptr[new], cnt)
        src = np.repeat(new, cnt)
        dst = nb[flat]
        ok = owner[dst] < 0
        if not ok.any():
            break
        src, dst = src[ok], dst[ok]
        # (cell, source) pairs ordered by cell, then by descending seed energy of the owner
        o = np.lexsort((seed_rank[owner[src]], dst))
        src, dst = src[o], dst[o]
        first = np.ones(dst.size, dtype=bool)
        first[1:] = dst[1:] != dst[:-1]
        cell = dst[first]
        owner[cell] = owner[src[first]]
        if inherit:
            partner[cell] = partner[src[first]]
            new = cell
            continue
        # a second, different owner among the cell's sources makes it shared
        grp = np.cumsum(first) - 1
        other = owner[src] != owner[src[first]][grp]
        has = np.zeros(cell.size, dtype=bool)
        has[grp[other]] = True
        second = np.full(cell.size, k, dtype=np.int64)
        np.minimum.at(second, grp[other], seed_rank[owner[src[other]]])
        partner[cell[has]] = by_rank[second[has]]
        new = cell[~has]


def _shared_weights(
    e: np.ndarray,
    cells: np.ndarray,
    geo: Geometry,
    active: np.ndarray,
    owner: np.ndarray,
    partner: np.ndarray,
    seeds: np.ndarray,
    sh: np.ndarray,
    shower_scale: float,
) -> np.ndarray:
    """Weight of each shared cell ``sh`` in its first owner's cluster (the second gets
    1 - w): energies and centres of the split clusters from their unshared cells, then
    ATLAS's E / distance rule."""
    k = seeds.size
    alone = active & (owner >= 0) & (partner < 0)
    e_split = np.bincount(owner[alone], weights=e[alone], minlength=k)
    xyz = [a[cells] for a in geo.positions()]
    w = np.maximum(e[alone], 0.0)
    w_sum = np.bincount(owner[alone], weights=w, minlength=k)
    centre = [
        np.where(
            w_sum > 0,
            np.bincount(owner[alone], weights=w * g[alone], minlength=k)
            / np.maximum(w_sum, 1e-300),
            g[seeds],
        )
        for g in xyz
    ]
    o1, o2 = owner[sh], partner[sh]
    d1 = np.sqrt(sum((g[sh] - c[o1]) ** 2 for g, c in zip(xyz, centre, strict=True)))
    d2 = np.sqrt(sum((g[sh] - c[o2]) ** 2 for g, c in zip(xyz, centre, strict=True)))
    e1, e2 = np.maximum(e_split[o1], 1e-3), np.maximum(e_split[o2], 1e-3)  # ATLAS: 1 MeV floor
    r = np.exp(np.clip((d1 - d2) / shower_scale, -10.0, 10.0))
    return e1 / (e1 + r * e2)


def split_clusters(
    energy: np.ndarray,
    labels: np.ndarray,
    geo: Geometry,
    *,
    min_energy: float = 0.5,
    min_neighbours: int = 4,
    shower_scale: float = 50.0,
    primary: tuple[str, ...] = PRIMARY_MAXIMUM_LAYERS,
    secondary: tuple[str, ...] = SECONDARY_MAXIMUM_LAYERS,
) -> ClusterCells:
    """Split the clusters of ``labels`` (from :func:`topo_cluster`) at their local maxima.

    ``energy`` in GeV per cell of ``geo``; ``min_energy`` in GeV; ``shower_scale`` in mm;
    ``primary``/``secondary``: layer names where maxima are looked for (``secondary=()``:
    primary layers only). See the module docstring for the procedure.
    """
    cells = np.flatnonzero(labels >= 0)
    if cells.size == 0:
        return ClusterCells.from_labels(labels)
    parent = labels[cells]
    n_parent = int(parent.max() + 1)
    e = energy[cells]
    local = np.full(energy.size, -1, dtype=np.int64)
    local[cells] = np.arange(cells.size)
    idx = layer_index()
    lut = np.zeros((2, len(geo.layers)), dtype=bool)
    lut[0, [idx[n] for n in primary]] = True
    lut[1, [idx[n] for n in secondary]] = True
    is_pri, is_sec = lut[:, geo.layer[cells]]
    cand = np.flatnonzero((is_pri | is_sec) & (e >= min_energy))
    indptr, nb = _adjacency(geo.neighbours, cells, cand, local, parent)
    maxima = _local_maxima(e, indptr, nb, cand[is_pri[cand]], is_pri, min_neighbours=min_neighbours)
    sec = _local_maxima(
        e, indptr, nb, cand[is_sec[cand]], is_pri | is_sec, min_neighbours=min_neighbours
    )
    if sec.size:  # drop secondary maxima behind or in front of an accepted maximum
        sec = sec[np.argsort(-e[sec], kind="stable")]
        ok = ~np.any(_overlap(geo, cells[sec], cells[maxima]), axis=1)
        pair = _overlap(geo, cells[sec], cells[sec])
        for i in range(sec.size):
            if ok[i]:
                ok[i + 1 :] &= ~pair[i, i + 1 :]
        maxima = np.concatenate([maxima, sec[ok]])
    split = np.bincount(parent[maxima], minlength=n_parent) >= 2
    seeds = maxima[split[parent[maxima]]]
    if seeds.size == 0:
        return ClusterCells.from_labels(labels)
    active = split[parent]
    indptr, nb = _adjacency(geo.neighbours, cells, np.flatnonzero(active), local, parent)
    k = seeds.size
    owner = np.full(cells.size, -1, dtype=np.int64)
    partner = np.full(cells.size, -1, dtype=np.int64)
    owner[seeds] = np.arange(k)
    seed_e = e[seeds]
    _grow(owner, partner, seeds, indptr, nb, seed_e, inherit=False)
    if (active & (owner < 0)).any():  # cells behind shared ones are shared in turn
        _grow(owner, partner, np.flatnonzero(partner >= 0), indptr, nb, seed_e, inherit=True)

    sh = np.flatnonzero(partner >= 0)
    o1, o2 = owner[sh], partner[sh]
    w1 = _shared_weights(e, cells, geo, active, owner, partner, seeds, sh, shower_scale)

    # entries: unsplit clusters keep their label, split clusters get n_parent + owner
    keep = ~active
    rest = active & (partner < 0)
    ent_cell = np.concatenate([cells[keep], cells[rest], cells[sh], cells[sh]])
    ent_cl = np.concatenate([parent[keep], n_parent + owner[rest], n_parent + o1, n_parent + o2])
    ent_w = np.concatenate([np.ones(int(keep.sum() + rest.sum())), w1, 1.0 - w1])
    _, ent_cl = np.unique(ent_cl, return_inverse=True)
    n = int(ent_cl.max() + 1)
    rank = _rank_by_energy(ent_cl, ent_w * energy[ent_cell], n)
    ent_cl = rank[ent_cl]
    o = np.lexsort((ent_cell, ent_cl))
    return ClusterCells(cell=ent_cell[o], cluster=ent_cl[o], weight=ent_w[o], n_clusters=n)
