"""Small synthetic preprocessed ``photon`` folders in the format of /work/contracts/photon.md B.

Two classes with a real, learnable difference in the shower's direction:

- ``prompt`` (class 0): a shower pointing at the origin, so in object-relative
  coordinates its centroid stays at (0, 0) in every layer; ``lxy`` = ``z_decay`` = 0 and
  ``pointing_z0`` ~ N(0, 60 mm);
- ``displaced`` (class 1): the ALP decays at ``lxy`` flat in [0, 4000] mm, so the shower
  leans: its centroid moves by ``slope * (depth - 2)`` in eta (and half of it in phi)
  with ``|slope|`` in [0.015, 0.045] growing with ``lxy``; ``pointing_z0`` ~ slope * 20000 mm plus the same
  60 mm resolution.

Cells: 12 to 40 per object in 1 to 3 clusters, depths 0..11 (mostly the barrel's
0..3); ``X`` columns :data:`FEATURES`, ``p4`` massless from the cell's (eta, phi, E).
The image (12, 15, 15) sums ``e_norm`` per pixel of :data:`PIXEL`; nodes are the
(cluster, depth) pairs with energy-weighted positions; edges join nodes of one depth
closer than 0.08 and of consecutive depths closer than 0.12 (both directions). 5 % of
the objects have ``pointing_z0`` NaN. Links are made-up but unique per object.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from synthetic_jets import write_chunks

from jetpointnet.io.sample_files import write_json

__all__ = ["CLASSES", "FEATURES", "LAYERS", "OBSERVERS", "make_photons", "write_photon_folder"]

FEATURES = ["d_eta", "d_phi", "e_norm", "layer", "log_e"]
CLASSES = ["prompt", "displaced"]
LAYERS = ["PreSamplerB", "EMB1", "EMB2", "EMB3", "PreSamplerE", "EME1", "EME2", "EME3",
          "HEC0", "TileExt0", "TileExt1", "TileExt2"]  # fmt: skip
OBSERVERS = ["obj_e", "obj_eta", "obj_phi", "truth_e", "lxy", "z_decay", "pointing_z0",
             "n_cells", "n_nodes"]  # fmt: skip
CLOUD_ARRAYS = ["image", "node_x", "node_mask", "edges", "edge_mask"]
PIXEL = (0.025, 0.0245)
GRID = 15
LENGTH, MAX_NODES, MAX_EDGES = 40, 24, 96


def _cells(rng: np.random.Generator, label: int, lxy: float) -> tuple[np.ndarray, np.ndarray]:
    """(n, 4) cells (d_eta, d_phi, E GeV, depth) and their cluster index."""
    n = int(rng.integers(12, LENGTH + 1))
    depth = rng.choice(12, n, p=[0.08, 0.25, 0.4, 0.12, 0.02, 0.03, 0.03, 0.02, 0.02,
                                 0.01, 0.01, 0.01])  # fmt: skip
    slope = 0.0 if label == 0 else rng.choice([-1, 1]) * (0.015 + 0.03 * lxy / 4000.0)
    cluster = rng.choice(3, n, p=[0.7, 0.2, 0.1])
    offset = np.array([[0.0, 0.0], [0.06, -0.04], [-0.05, 0.07]])[cluster]  # (n, 2)
    lean = slope * (depth - 2.0)
    deta = offset[:, 0] + lean + rng.normal(0.0, 0.02, n)
    dphi = offset[:, 1] + 0.5 * lean + rng.normal(0.0, 0.02, n)
    e = rng.exponential(1.0, n) * np.where(cluster == 0, 3.0, 0.8) + 0.05
    return np.column_stack([deta, dphi, e, depth]), cluster


def _graph(cells: np.ndarray, cluster: np.ndarray, total: float):
    """Nodes (d_eta, d_phi, e_norm, depth) per (cluster, depth) and their edges (i <- j)."""
    keys = sorted({(int(c), int(d)) for c, d in zip(cluster, cells[:, 3], strict=True)})
    nodes = []
    for c, d in keys[:MAX_NODES]:
        sel = (cluster == c) & (cells[:, 3] == d)
        w = cells[sel, 2]
        nodes.append([*(w @ cells[sel, :2] / w.sum()), w.sum() / total, d])
    nodes = np.array(nodes, np.float32)
    edges = []
    for i in range(len(nodes)):
        for j in range(len(nodes)):
            dist, step = np.hypot(*(nodes[i, :2] - nodes[j, :2])), abs(nodes[i, 3] - nodes[j, 3])
            if i != j and ((step == 0 and dist < 0.08) or (step == 1 and dist < 0.12)):
                edges.append([i, j])
    return nodes, np.array(edges[:MAX_EDGES], np.int32).reshape(-1, 2)


def make_photons(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """``n`` objects, classes interleaved at random, as the arrays of one chunk."""
    labels = rng.permutation(np.arange(n) % 2)
    out: dict[str, np.ndarray] = {
        "X": np.zeros((n, LENGTH, len(FEATURES)), np.float32),
        "mask": np.zeros((n, LENGTH), bool),
        "p4": np.zeros((n, LENGTH, 4), np.float32),
        "image": np.zeros((n, 12, GRID, GRID), np.float32),
        "node_x": np.zeros((n, MAX_NODES, 4), np.float32),
        "node_mask": np.zeros((n, MAX_NODES), bool),
        "edges": np.zeros((n, MAX_EDGES, 2), np.int32),
        "edge_mask": np.zeros((n, MAX_EDGES), bool),
    }
    obs = {k: np.zeros(n, np.float32) for k in OBSERVERS[:7]}
    counts = {k: np.zeros(n, np.int32) for k in OBSERVERS[7:]}
    for j, label in enumerate(labels):
        lxy = 0.0 if label == 0 else rng.uniform(0.0, 4000.0)
        cells, cluster = _cells(rng, int(label), lxy)
        total = cells[:, 2].sum()
        eta0, phi0 = rng.uniform(-1.3, 1.3), rng.uniform(-3.0, 3.0)
        eta, phi, e = eta0 + cells[:, 0], phi0 + cells[:, 1], cells[:, 2]
        k = len(cells)
        out["X"][j, :k] = np.column_stack([cells[:, 0], cells[:, 1], e / total, cells[:, 3],
                                           np.log(np.maximum(e, 1e-3))])  # fmt: skip
        out["mask"][j, :k] = True
        pt = e / np.cosh(eta)
        out["p4"][j, :k] = np.column_stack(
            [pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta), e]
        )
        ie = np.clip(np.floor(cells[:, 0] / PIXEL[0] + GRID / 2), 0, GRID - 1).astype(int)
        ip = np.clip(np.floor(cells[:, 1] / PIXEL[1] + GRID / 2), 0, GRID - 1).astype(int)
        np.add.at(out["image"][j], (cells[:, 3].astype(int), ie, ip), e / total)
        nodes, edges = _graph(cells, cluster, total)
        out["node_x"][j, : len(nodes)], out["node_mask"][j, : len(nodes)] = nodes, True
        out["edges"][j, : len(edges)], out["edge_mask"][j, : len(edges)] = edges, True
        slope_z0 = 0.0 if label == 0 else (cells[:, 0] @ e / total) * 20000.0
        z0 = np.nan if rng.random() < 0.05 else slope_z0 + rng.normal(0.0, 60.0)
        values = {"obj_e": total, "obj_eta": eta0, "obj_phi": phi0, "truth_e": total * 1.02,
                  "lxy": lxy, "z_decay": lxy * np.sinh(eta0), "pointing_z0": z0}  # fmt: skip
        for key, v in values.items():
            obs[key][j] = v
        counts["n_cells"][j], counts["n_nodes"][j] = k, len(nodes)
    out.update(obs)
    out.update(counts)
    out["y_cloud"] = labels.astype(np.int64)
    out["weight"] = np.ones(n, np.float32)
    return out


def write_photon_folder(
    root: str | Path,
    *,
    seed: int = 0,
    objects: dict[str, int] | None = None,
    chunk: int = 200,
    drop: tuple[str, ...] = (),
) -> Path:
    """Write a preprocessed photon folder under ``root`` and return it.

    ``objects``: objects per split (default train 600, val 200, test 400), ``chunk``
    objects per chunk file; ``drop``: array names left out of every chunk (bad input).
    """
    root = Path(root)
    objects = objects or {"train": 600, "val": 200, "test": 400}
    counts = write_chunks(root, make_photons, objects, rng=np.random.default_rng(seed),
                          chunk=chunk, classes=CLASSES, stem="photons", file_of_class=True,
                          drop=drop)  # fmt: skip
    meta = {
        "kind": "photon",
        "layout": "padded",
        "classes": CLASSES,
        "features": FEATURES,
        "length": LENGTH,
        "observers": OBSERVERS,
        "cloud_arrays": CLOUD_ARRAYS,
        "image_layers": LAYERS,
        "image_pixel": list(PIXEL),
        "node_features": ["d_eta", "d_phi", "e_norm", "layer"],
        "max_nodes": MAX_NODES,
        "max_edges": MAX_EDGES,
        "edge_thresholds": {"same_layer": 0.08, "next_layer": 0.12},
        "object": "synthetic leading cluster",
        "lxy_threshold_mm": 0.0,
        "counts": counts,
        "cutflow": {},
        "inputs": ["prompt.root", "displaced.root"],
        "sources": [
            {"class": "prompt", "sha256": "0" * 64},
            {"class": "displaced", "sha256": "1" * 64},
        ],
    }
    write_json(root / "metadata.json", meta)
    return root
