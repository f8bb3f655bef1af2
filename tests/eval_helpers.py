"""A tiny synthetic preprocess output (stage 1 Arrow IPC + stage 2 npz) for evaluation tests.

Not a test module. Events hold one or two charged pions (and sometimes a photon) whose
showers are spread over a global cell grid in EMB2, EMB3, TileBar0 and TileBar1; every
cell keeps each particle's true energy. The files follow the documented contracts
(``data/samples.py`` fields used by evaluation, ``data/schema.py`` arrays). Units: GeV.
"""

from __future__ import annotations

import json
from pathlib import Path

import awkward as ak
import numpy as np

from jetpointnet.data.schema import PER_SAMPLE, PointType
from jetpointnet.io.mltree_layout import SAMPLING, TRACK_LAYERS

__all__ = ["make_dataset"]

_GRID = {  # layer: (deta, dphi, volume mm^3, half-width in cells, share of the deposit)
    "EMB2": (0.025, 0.0245, 2.0e5, 4, 0.35),
    "EMB3": (0.05, 0.0245, 1.0e5, 2, 0.10),
    "TileBar0": (0.1, 0.098, 2.0e7, 1, 0.35),
    "TileBar1": (0.1, 0.098, 5.0e7, 1, 0.20),
}
_EM_ONLY = {"EMB2": 0.9, "EMB3": 0.1}
_BARREL = [i for i, n in enumerate(TRACK_LAYERS) if not n.startswith(("EME", "HEC", "PreSamplerE"))]


def _deposit(
    cells: dict,
    particle: int,
    eta0: float,
    phi0: float,
    e: float,
    shares: dict,
    rng: np.random.Generator,
) -> None:
    for layer, share in shares.items():
        deta, dphi, vol, half, _ = _GRID[layer]
        i0, j0 = int(np.floor(eta0 / deta)), int(np.floor(phi0 / dphi))
        for i in range(i0 - half, i0 + half + 1):
            for j in range(j0 - half, j0 + half + 1):
                ce, cp = (i + 0.5) * deta, (j + 0.5) * dphi
                w = np.exp(-np.hypot(ce - eta0, cp - phi0) / 0.03)
                val = e * share * w * rng.uniform(0.8, 1.2) / 8.0
                if val < 0.005:
                    continue
                cid = (SAMPLING[layer] << 40) | ((i + 50000) << 20) | (j + 50000)
                c = cells.setdefault(
                    cid,
                    {
                        "eta": ce,
                        "phi": cp,
                        "layer": SAMPLING[layer],
                        "deta": deta,
                        "dphi": dphi,
                        "volume": vol,
                        "truth": {},
                    },
                )
                c["truth"][particle] = c["truth"].get(particle, 0.0) + val


def make_dataset(root: Path, *, n_events: int = 30, seed: int = 0, split: str = "test") -> Path:
    """Write ``root/samples/SPLIT/part_00000.arrow``, ``root/arrays/SPLIT/part_00000.npz``
    and ``root/metadata.json``; drop the farthest cell of every fifth sample from stage 2."""
    rng = np.random.default_rng(seed)
    rows, samples2 = [], []
    for ev in range(n_events):
        n_trk = int(rng.integers(1, 3))
        eta = rng.uniform(-0.4, 0.4, n_trk)
        phi = rng.uniform(-1.0, 1.0, n_trk)
        if n_trk == 2:
            eta[1], phi[1] = eta[0] + 0.06, phi[0] + 0.05
        p = rng.uniform(2.0, 20.0, n_trk)
        cells: dict[int, dict] = {}
        for t in range(n_trk):
            _deposit(
                cells, t, eta[t], phi[t], 0.65 * p[t], {k: v[4] for k, v in _GRID.items()}, rng
            )
        if rng.random() < 0.5:
            _deposit(cells, 9, eta[0] + 0.05, phi[0] - 0.04, rng.uniform(1.0, 6.0), _EM_ONLY, rng)
        ids = np.array(sorted(cells), dtype=np.uint64)
        for t in range(n_trk):
            recs = []
            for cid in ids:
                c = cells[int(cid)]
                dr = float(np.hypot(c["eta"] - eta[t], c["phi"] - phi[t]))
                if dr >= 0.2:
                    continue
                truth = c["truth"]
                lead = max(truth, key=truth.get)
                recs.append(
                    {
                        "id": int(cid),
                        "energy": np.float32(sum(truth.values())),
                        "eta": c["eta"],
                        "phi": c["phi"],
                        "x": 1800 * np.cos(c["phi"]),
                        "y": 1800 * np.sin(c["phi"]),
                        "z": 1800 * np.sinh(c["eta"]),
                        "layer": c["layer"],
                        "deta": c["deta"],
                        "dphi": c["dphi"],
                        "volume": c["volume"],
                        "cluster": 100 if lead == 9 else lead,
                        "dr": dr,
                        "truth_focal": np.float32(truth.get(t, 0.0)),
                        "truth_total": np.float32(sum(truth.values())),
                        "lead": lead,
                    }
                )

            def trk(k: int, eta=eta, phi=phi, p=p) -> dict:
                le = np.full(len(TRACK_LAYERS), np.nan)
                le[_BARREL] = eta[k]
                lp = np.where(np.isfinite(le), phi[k], np.nan)
                r = 1800.0
                return {
                    "index": k,
                    "p": float(p[k]),
                    "pt": float(p[k] / np.cosh(eta[k])),
                    "eta": float(eta[k]),
                    "phi": float(phi[k]),
                    "layer_eta": le.tolist(),
                    "layer_phi": lp.tolist(),
                    "layer_x": (r * np.cos(lp)).tolist(),
                    "layer_y": (r * np.sin(lp)).tolist(),
                    "layer_z": (r * np.sinh(le)).tolist(),
                }

            others = [trk(k) for k in range(n_trk) if k != t]
            rows.append(
                {
                    "event_number": 1000 + ev,
                    "entry": ev,
                    "track_index": t,
                    "file_index": 0,
                    "track": trk(t),
                    "others": others,
                    "cells": [{k: v for k, v in r.items() if k != "lead"} for r in recs],
                }
            )
            keep = recs if len(rows) % 5 else sorted(recs, key=lambda r: r["dr"])[:-1]
            dr_other = [
                float(np.hypot(eta[k] - eta[t], phi[k] - phi[t])) for k in range(n_trk) if k != t
            ]
            samples2.append(
                (
                    ev,
                    t,
                    p[t],
                    eta[t],
                    phi[t],
                    keep,
                    len(others),
                    min(dr_other) if dr_other else np.inf,
                )
            )
    folder = root / "samples" / split
    folder.mkdir(parents=True, exist_ok=True)
    ak.to_feather(ak.Array(rows), folder / "part_00000.arrow", compression="lz4")
    _write_arrays(root, split, samples2, rng)
    (root / "metadata.json").write_text(
        json.dumps({"layout": "ragged", "sources": ["synthetic.root"]})
    )
    return root


def _write_arrays(root: Path, split: str, samples: list, rng: np.random.Generator) -> None:
    pts: dict[str, list] = {
        k: []
        for k in (
            "point_type",
            "energy",
            "label_mask",
            "y_energy",
            "y_binary",
            "y_class",
            "y_total",
            "cell_id",
        )
    }
    per: dict[str, list] = {k: [] for k in PER_SAMPLE}
    for ev, t, p, eta, phi, keep, n_oth, mdr in samples:
        order = rng.permutation(len(keep))  # stage-2 order differs from stage 1
        for i in order:
            r = keep[i]
            pts["point_type"].append(int(PointType.CELL))
            pts["energy"].append(r["energy"])
            pts["label_mask"].append(True)
            pts["y_energy"].append(r["truth_focal"])
            pts["y_binary"].append(int(r["lead"] == t))
            pts["y_class"].append(0 if r["lead"] == t else (2 if r["lead"] == 9 else 1))
            pts["y_total"].append(r["truth_total"])
            pts["cell_id"].append(r["id"])
        pts["point_type"].append(int(PointType.FOCUSED_TRACK))
        pts["energy"].append(p)
        pts["label_mask"].append(False)
        for k in ("y_energy", "y_binary", "y_class", "y_total"):
            pts[k].append(-1)
        pts["cell_id"].append(0)  # track points: no cell
        for k, v in (
            ("n_points", len(keep) + 1),
            ("event_number", 1000 + ev),
            ("entry", ev),
            ("track_index", t),
            ("file_index", 0),
            ("track_p", p),
            ("track_pt", p / np.cosh(eta)),
            ("track_eta", eta),
            ("track_phi", phi),
            ("truth_focal_total", sum(float(r["truth_focal"]) for r in keep)),
            ("n_other_tracks", n_oth),
            ("min_dr_other", mdr),
        ):
            per[k].append(v)
    n = np.asarray(per["n_points"])
    arrays = {
        "X": np.zeros((int(n.sum()), 3), dtype=np.float32),
        "point_type": np.asarray(pts["point_type"], dtype=np.int8),
        "energy": np.asarray(pts["energy"], dtype=np.float32),
        "label_mask": np.asarray(pts["label_mask"], dtype=bool),
        "y_energy": np.asarray(pts["y_energy"], dtype=np.float32),
        "y_binary": np.asarray(pts["y_binary"], dtype=np.int8),
        "y_class": np.asarray(pts["y_class"], dtype=np.int8),
        "y_total": np.asarray(pts["y_total"], dtype=np.float32),
        "cell_id": np.asarray(pts["cell_id"], dtype=np.uint64),
        "offsets": np.r_[0, np.cumsum(n)].astype(np.int64),
    }
    for k, v in per.items():
        arrays[k] = np.asarray(v)
    folder = root / "arrays" / split
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "part_00000.npz", **arrays)
