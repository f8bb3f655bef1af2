"""One chunk of events -> its labelled photon objects as cells, image and graph.

Steps (each a cut-flow counter, objects passing, cumulative): ``all`` candidates
(:mod:`.candidates`), ``eta`` (leading cluster abs(eta) < ``max_abs_eta``), ``matched`` (to
a truth photon of :mod:`.truth`, Delta-R < ``match_dr``), ``lxy`` (displaced inputs only:
the decay's Lxy > ``lxy_threshold_mm``; prompt inputs keep every matched object). Every
kept object gets the contract's arrays (``contracts/photon.md`` B; no weight yet).
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np

from jetpointnet.data.geometry import CellTable
from jetpointnet.photons.candidates import (
    Candidates,
    ClusterCells,
    cluster_cells,
    find_candidates,
    match_photons,
)
from jetpointnet.photons.cells import CELL_FEATURES, cell_cloud
from jetpointnet.photons.config import PhotonPrepConfig
from jetpointnet.photons.graph import object_edges, object_nodes
from jetpointnet.photons.image import object_image
from jetpointnet.photons.layers import IMAGE_LAYERS, depth_of
from jetpointnet.photons.pointing import pointing_z0
from jetpointnet.photons.truth import truth_photons

__all__ = ["CUTFLOW", "OBSERVERS", "ChunkPhotons", "build_chunk_photons", "object_arrays"]

CUTFLOW = ("all", "eta", "matched", "lxy")
OBSERVERS = ("obj_e", "obj_eta", "obj_phi", "truth_e", "lxy", "z_decay", "pointing_z0",
             "n_cells", "n_nodes")  # fmt: skip


@dataclass
class ChunkPhotons:
    """Per-object arrays of the kept objects of one chunk, the cut flow and the counts of
    what the fixed sizes cut (cells beyond L, nodes beyond M, edges beyond K)."""

    arrays: dict[str, np.ndarray]
    cutflow: dict[str, int]
    truncation: dict[str, int]


def _one(cc: ClusterCells, table: CellTable, clusters: np.ndarray, cfg: PhotonPrepConfig) -> dict:
    """The arrays of one object (its cluster rows, leading first)."""
    share = np.concatenate([np.arange(cc.offsets[k], cc.offsets[k + 1]) for k in clusters])
    local = np.repeat(np.arange(len(clusters)), np.diff(cc.offsets)[clusters])
    geo, e_share = cc.cell_geo[share], cc.cell_e[share]
    cells, inv = np.unique(geo, return_inverse=True)
    e = np.bincount(inv, weights=e_share, minlength=len(cells))
    total = float(e.sum())
    ref_eta, ref_phi = cc.eta[clusters[0]], cc.phi[clusters[0]]
    eta, phi = table.eta[cells].astype(np.float64), table.phi[cells].astype(np.float64)
    d_eta = eta - ref_eta
    d_phi = np.mod(phi - ref_phi + np.pi, 2 * np.pi) - np.pi
    depth = depth_of(table.layer[cells])
    x, mask, p4 = cell_cloud(d_eta, d_phi, e, depth, eta, phi, total=total, length=cfg.length)
    im = cfg.image
    image = object_image(d_eta, d_phi, depth, e / total, n_eta=im.n_eta, n_phi=im.n_phi,
                         pixel=(im.pixel[0], im.pixel[1]))  # fmt: skip
    g = cfg.graph
    nodes, n_nodes = object_nodes(local, d_eta[inv], d_phi[inv], e_share, depth[inv],
                                  total=total, max_nodes=g.max_nodes)  # fmt: skip
    edges, n_edges = object_edges(nodes, same_layer_dr=g.same_layer_dr,
                                  next_layer_dr=g.next_layer_dr, max_edges=g.max_edges)  # fmt: skip
    r = np.hypot(table.x[cells], table.y[cells]).astype(np.float64)
    pt = e / np.cosh(eta)
    px, py, pz = (pt * np.cos(phi)).sum(), (pt * np.sin(phi)).sum(), (pt * np.sinh(eta)).sum()
    return {"X": x, "mask": mask, "p4": p4, "image": image, "nodes": nodes, "edges": edges,
            "obj_e": total, "obj_eta": np.arcsinh(pz / max(np.hypot(px, py), 1e-12)),
            "obj_phi": np.arctan2(py, px), "n_cells": len(cells), "n_nodes": n_nodes,
            "n_edges": n_edges,
            "pointing_z0": pointing_z0(table.layer[cells], r, eta, e)}  # fmt: skip


def _pad(items: list[np.ndarray], size: int, width: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    out = np.zeros((len(items), size, width), dtype)
    mask = np.zeros((len(items), size), bool)
    for i, a in enumerate(items):
        out[i, : len(a)] = a
        mask[i, : len(a)] = True
    return out, mask


def object_arrays(cc: ClusterCells, table: CellTable, cands: Candidates,
                  cfg: PhotonPrepConfig) -> tuple[dict[str, np.ndarray], dict[str, int]]:  # fmt: skip
    """The contract's input arrays and ``obj_*``/``n_*``/``pointing_z0`` observers of
    ``cands``; the truncation counts."""
    objs = [_one(cc, table, cands.clusters[cands.offsets[i] : cands.offsets[i + 1]], cfg)
            for i in range(len(cands))]  # fmt: skip
    g, L = cfg.graph, cfg.length
    col = lambda k, dt: np.asarray([o[k] for o in objs], dt)
    node_x, node_mask = _pad([o["nodes"] for o in objs], g.max_nodes, 4, np.float32)
    edges, edge_mask = _pad([o["edges"] for o in objs], g.max_edges, 2, np.int32)
    stack = lambda k, shape, dt: np.asarray([o[k] for o in objs], dt).reshape(len(objs), *shape)
    arrays = {
        "X": stack("X", (L, len(CELL_FEATURES)), np.float32),
        "mask": stack("mask", (L,), bool),
        "p4": stack("p4", (L, 4), np.float32),
        "image": stack("image", (len(IMAGE_LAYERS), cfg.image.n_eta, cfg.image.n_phi),
                       np.float32),
        "node_x": node_x, "node_mask": node_mask, "edges": edges, "edge_mask": edge_mask,
        **{k: col(k, np.float32) for k in ("obj_e", "obj_eta", "obj_phi", "pointing_z0")},
        "n_cells": col("n_cells", np.int32), "n_nodes": col("n_nodes", np.int32),
    }  # fmt: skip
    trunc = {"cells": int(sum(max(o["n_cells"] - L, 0) for o in objs)),
             "nodes": int(sum(max(o["n_nodes"] - g.max_nodes, 0) for o in objs)),
             "edges": int(sum(max(o["n_edges"] - g.max_edges, 0) for o in objs))}  # fmt: skip
    return arrays, trunc


def build_chunk_photons(events: dict[str, ak.Array], table: CellTable, chunk, *,
                        config: PhotonPrepConfig, class_index: int) -> ChunkPhotons:  # fmt: skip
    """Kept, labelled objects of a chunk (class ``class_index``: 0 prompt, 1 displaced)."""
    cfg = config
    cc = cluster_cells(events, table)
    n_events = len(events["eventNumber"])
    truth = truth_photons(events, gun_photons=cfg.gun_photons)
    cands = find_candidates(cc, n_events, object_rule=cfg.object, min_cluster_e=cfg.min_cluster_e,
                            cluster_min_e=cfg.cluster_min_e, jet_radius=cfg.jet_radius,
                            jet_min_pt=cfg.jet_min_pt)  # fmt: skip
    first = np.searchsorted(cands.event, cands.event)
    rank = (np.arange(len(cands)) - first).astype(np.int32)  # in its event, by leading E
    in_eta = np.abs(cc.eta[cands.lead]) < cfg.max_abs_eta
    row = np.full(len(cands), -1, np.int64)
    row[in_eta], _ = match_photons(cands.select(in_eta), cc, truth, max_dr=cfg.match_dr)
    matched = row >= 0
    lxy = np.where(matched, truth.lxy[np.maximum(row, 0)] if len(truth) else 0.0, np.nan)
    keep = matched & ((lxy > cfg.lxy_threshold_mm) if class_index == 1 else True)
    cutflow = {"all": len(cands), "eta": int(in_eta.sum()), "matched": int(matched.sum()),
               "lxy": int(keep.sum())}  # fmt: skip
    kept = cands.select(keep)
    arrays, trunc = object_arrays(cc, table, kept, cfg)
    t = row[keep]
    entry = chunk.start + kept.event
    arrays.update(
        y_cloud=np.full(len(kept), class_index, np.int64),
        truth_e=truth.e[t].astype(np.float32), lxy=truth.lxy[t].astype(np.float32),
        z_decay=truth.z_decay[t].astype(np.float32),
        file_index=np.full(len(kept), chunk.file_index, np.int32),
        entry=entry.astype(np.int64),
        event_number=np.asarray(ak.to_numpy(events["eventNumber"]), np.int64)[kept.event],
        object_index=rank[keep],
    )  # fmt: skip
    return ChunkPhotons(arrays=arrays, cutflow=cutflow, truncation=trunc)
