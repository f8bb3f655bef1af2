"""Topological clustering with ATLAS's 4/2/0 thresholds.

Cell significance is ``|E| / sigma_noise`` (absolute energy, so negative cells can join).
Cells above the growth threshold (2 sigma) form connected groups through the neighbour
graph; a group that holds a seed cell (above 4 sigma) is a cluster (two seeds joined by
growth cells end up in one cluster, as in ATLAS's growth step without splitting); then
every neighbour of a cluster above the perimeter threshold (0 sigma: any cell) is added
to the cluster of its most significant clustered neighbour.

Not modelled: the cluster splitter at local maxima (so no cell is shared by two
clusters in our files; the MLTree reader still handles shared cells of real files).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

__all__ = ["topo_cluster"]


def topo_cluster(
    energy: np.ndarray,
    noise: np.ndarray,
    neighbours: sp.csr_matrix,
    *,
    seed: float = 4.0,
    grow: float = 2.0,
    perimeter: float = 0.0,
) -> np.ndarray:
    """Cluster label per cell (-1 for unclustered), labels 0..n-1 in descending cluster energy."""
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
    rows = neighbours[core_cells].tocoo()
    src = core_cells[rows.row]
    dst = rows.col
    cand = (labels[dst] < 0) & (sig[dst] > perimeter)
    src, dst = src[cand], dst[cand]
    if dst.size:
        order = np.lexsort((-sig[src], dst))
        dst_sorted = dst[order]
        first = np.ones(dst_sorted.size, dtype=bool)
        first[1:] = dst_sorted[1:] != dst_sorted[:-1]
        labels[dst_sorted[first]] = labels[src[order][first]]
    # relabel by descending cluster energy
    n = labels.max() + 1
    e_cl = np.bincount(labels[labels >= 0], weights=energy[labels >= 0], minlength=n)
    rank = np.empty(n, dtype=np.int64)
    rank[np.argsort(-e_cl, kind="stable")] = np.arange(n)
    clustered = labels >= 0
    labels[clustered] = rank[labels[clustered]]
    return labels
