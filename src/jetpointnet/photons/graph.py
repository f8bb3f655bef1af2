"""The object's graph: one node per (cluster, depth layer), edges by distance.

Seed 003's GNN input: a node holds a cluster's energy in one depth layer (:mod:`.layers`),
with features (d_eta, d_phi, e_norm, layer): the energy-weighted position of those cells
relative to the highest-energy cluster, their energy over the object's total, and the
depth index as a float. The ``max_nodes`` highest-energy nodes are kept. Directed edges
(i receives from j), both directions listed, no self-loops: nodes of the same layer with
Delta-R < ``same_layer_dr``, nodes of consecutive layers of one group (barrel, end-cap,
extended barrel) with Delta-R < ``next_layer_dr``; the first ``max_edges`` (by i, then j).
"""

from __future__ import annotations

import numpy as np

from jetpointnet.photons.layers import group_of_depth

__all__ = ["NODE_FEATURES", "object_edges", "object_nodes"]

NODE_FEATURES = ("d_eta", "d_phi", "e_norm", "layer")


def object_nodes(cluster: np.ndarray, d_eta: np.ndarray, d_phi: np.ndarray, e: np.ndarray,
                 depth: np.ndarray, *, total: float, max_nodes: int) -> tuple[np.ndarray, int]:  # fmt: skip
    """``(n, 4)`` float32 nodes (highest energy first, at most ``max_nodes``) of one object's
    cell shares (``cluster``: local cluster index of each share, ``e`` GeV), and the count
    before truncation."""
    ok = np.asarray(depth) >= 0
    key = np.asarray(cluster, np.int64)[ok] * 64 + np.asarray(depth, np.int64)[ok]
    uniq, inv = np.unique(key, return_inverse=True)
    w = np.asarray(e, np.float64)[ok]
    e_node = np.bincount(inv, weights=w, minlength=len(uniq))
    safe = np.where(e_node != 0, e_node, 1.0)
    x = np.stack([np.bincount(inv, weights=w * np.asarray(d_eta)[ok], minlength=len(uniq)) / safe,
                  np.bincount(inv, weights=w * np.asarray(d_phi)[ok], minlength=len(uniq)) / safe,
                  e_node / total, (uniq % 64).astype(np.float64)], axis=1)  # fmt: skip
    order = np.argsort(-e_node, kind="stable")[:max_nodes]
    return x[order].astype(np.float32), len(uniq)


def object_edges(nodes: np.ndarray, *, same_layer_dr: float, next_layer_dr: float,
                 max_edges: int) -> tuple[np.ndarray, int]:  # fmt: skip
    """``(k, 2)`` int32 directed edges (i, j) among ``nodes`` (module rules), at most
    ``max_edges``, and the count before truncation."""
    layer = nodes[:, 3].astype(np.int64)
    dr = np.hypot(nodes[:, None, 0] - nodes[None, :, 0], nodes[:, None, 1] - nodes[None, :, 1])
    gap = np.abs(layer[:, None] - layer[None, :])
    group = group_of_depth(layer)
    same_group = group[:, None] == group[None, :]
    link = ((gap == 0) & (dr < same_layer_dr)) | ((gap == 1) & same_group & (dr < next_layer_dr))
    np.fill_diagonal(link, False)
    i, j = np.nonzero(link)
    return np.stack([i, j], 1)[:max_edges].astype(np.int32), len(i)
