"""A small synthetic preprocessed folder of kind "event", in the exact contract layout.

Contract: /work/contracts/event.md (``DIR/metadata.json`` with ``"kind": "event"``,
``DIR/arrays/SPLIT/chunk_*.npz`` in the padded layout). A learnable world: each event
holds 0-3 charged particles (each with a track at its direction) and 0-3 neutral ones
(photons deposit all their energy, neutral hadrons 60 %, charged ones 70 %), spread over
``eta, phi`` in [-0.5, 0.5]. A particle deposits its visible energy in 4-8 cells around
its direction with Gaussian weights of width 0.04, so close particles share cells; a few
noise cells carry no truth. The incidence ``q`` is each particle's share of each cell.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["CELL_FEATURES", "CLASSES", "TRACK_FEATURES", "make_events", "write_event_dataset"]

CLASSES = ["charged_hadron", "electron", "muon", "neutral_hadron", "photon"]
CELL_FEATURES = ["eta", "phi", "log_energy", "layer"]
TRACK_FEATURES = ["eta", "phi", "log_pt"]
_VISIBLE = {0: 0.7, 1: 1.0, 2: 0.05, 3: 0.6, 4: 1.0}


def _event(rng: np.random.Generator) -> dict:
    n_ch, n_ne = int(rng.integers(0, 4)), int(rng.integers(0, 4))
    if n_ch + n_ne == 0:
        n_ne = 1
    n = n_ch + n_ne
    eta, phi = rng.uniform(-0.5, 0.5, n), rng.uniform(-0.5, 0.5, n)
    energy = np.exp(rng.uniform(np.log(2.0), np.log(50.0), n))
    cls = np.concatenate([rng.choice([0, 1], n_ch, p=[0.8, 0.2]), rng.choice([3, 4], n_ne)]).astype(
        np.int64
    )
    centres = [
        np.stack([eta[k] + rng.normal(0, 0.04, m), phi[k] + rng.normal(0, 0.04, m)], 1)
        for k in range(n)
        for m in [int(rng.integers(4, 9))]
    ]
    n_noise = int(rng.integers(0, 4))
    cells = np.concatenate([*centres, rng.uniform(-0.5, 0.5, (n_noise, 2))])  # (C, 2)
    d2 = (cells[None, :, 0] - eta[:, None]) ** 2 + (cells[None, :, 1] - phi[:, None]) ** 2
    w = np.exp(-0.5 * d2 / 0.04**2)  # (n, C)
    w[:, len(cells) - n_noise :] = 0.0
    w /= w.sum(axis=1, keepdims=True)
    vis = energy * np.array([_VISIBLE[int(c)] for c in cls])
    dep = vis[:, None] * w  # (n, C) GeV
    dep[dep < 1e-3] = 0.0
    noise = np.zeros(len(cells))
    noise[len(cells) - n_noise :] = rng.uniform(0.1, 0.5, n_noise)
    cell_e = dep.sum(axis=0) + noise
    keep = cell_e > 1e-3
    cells, dep, noise, cell_e = cells[keep], dep[:, keep], noise[keep], cell_e[keep]
    q = np.concatenate([dep, noise[None]], axis=0) / cell_e[None]  # (n + 1, C)
    perm = rng.permutation(len(cells))
    return {
        "cells": cells[perm], "cell_e": cell_e[perm], "q": q[:, perm],
        "n_ch": n_ch, "eta": eta, "phi": phi, "energy": energy, "vis": vis, "cls": cls,
        "layer": rng.integers(0, 4, len(cells)),
    }  # fmt: skip


def make_events(rng: np.random.Generator, n: int) -> list[dict]:
    """``n`` synthetic events (unpadded dicts)."""
    return [_event(rng) for _ in range(n)]


def _pad(events: list[dict], lc: int, lt: int, kt: int, file_index: int, first: int) -> dict:
    n = len(events)
    a = {
        "cell_x": np.zeros((n, lc, len(CELL_FEATURES)), np.float32),
        "cell_mask": np.zeros((n, lc), bool),
        "cell_energy": np.zeros((n, lc), np.float32),
        "cell_eta": np.zeros((n, lc), np.float32),
        "cell_phi": np.zeros((n, lc), np.float32),
        "cell_id": np.full((n, lc), -1, np.int64),
        "track_x": np.zeros((n, lt, len(TRACK_FEATURES)), np.float32),
        "track_mask": np.zeros((n, lt), bool),
        "track_pt": np.zeros((n, lt), np.float32),
        "track_eta": np.zeros((n, lt), np.float32),
        "track_phi": np.zeros((n, lt), np.float32),
        "track_index": np.full((n, lt), -1, np.int32),
        "q": np.zeros((n, lc, lt + kt + 1), np.float32),
        "charged_class": np.full((n, lt), -1, np.int64),
        "charged_e": np.zeros((n, lt), np.float32),
        "neutral_mask": np.zeros((n, kt), bool),
        "neutral_class": np.full((n, kt), -1, np.int64),
        **{k: np.zeros((n, kt), np.float32) for k in
           ("neutral_e", "neutral_e_vis", "neutral_eta", "neutral_phi")},
        "file_index": np.full(n, file_index, np.int32),
        "entry": np.arange(first, first + n, dtype=np.int64),
        "event_number": 1000 + np.arange(first, first + n, dtype=np.int64),
        "region_index": np.zeros(n, np.int32),
        "region_eta": np.zeros(n, np.float32),
        "region_phi": np.zeros(n, np.float32),
    }  # fmt: skip
    for i, ev in enumerate(events):
        c, t = len(ev["cell_e"]), ev["n_ch"]
        ne = len(ev["cls"]) - t
        a["cell_mask"][i, :c] = True
        a["cell_energy"][i, :c] = ev["cell_e"]
        a["cell_eta"][i, :c], a["cell_phi"][i, :c] = ev["cells"][:, 0], ev["cells"][:, 1]
        a["cell_id"][i, :c] = 10_000 * i + np.arange(c)
        a["cell_x"][i, :c] = np.stack(
            [ev["cells"][:, 0], ev["cells"][:, 1], np.log(ev["cell_e"]), ev["layer"]], 1
        )
        pt = ev["energy"][:t] / np.cosh(ev["eta"][:t])
        a["track_mask"][i, :t] = True
        a["track_pt"][i, :t] = pt
        a["track_eta"][i, :t], a["track_phi"][i, :t] = ev["eta"][:t], ev["phi"][:t]
        a["track_index"][i, :t] = np.arange(t)
        a["track_x"][i, :t] = np.stack([ev["eta"][:t], ev["phi"][:t], np.log(pt)], 1)
        a["q"][i, :c, :t] = ev["q"][:t].T
        a["q"][i, :c, lt : lt + ne] = ev["q"][t:-1].T
        a["q"][i, :c, -1] = ev["q"][-1]
        a["charged_class"][i, :t] = ev["cls"][:t]
        a["charged_e"][i, :t] = ev["energy"][:t]
        a["neutral_mask"][i, :ne] = True
        a["neutral_class"][i, :ne] = ev["cls"][t:]
        a["neutral_e"][i, :ne] = ev["energy"][t:]
        a["neutral_e_vis"][i, :ne] = ev["vis"][t:]
        a["neutral_eta"][i, :ne], a["neutral_phi"][i, :ne] = ev["eta"][t:], ev["phi"][t:]
    return a


def write_event_dataset(
    root: Path, *, files: dict[str, int] | None = None, events_per_file: int = 32, seed: int = 0
) -> Path:
    """Write ``root/arrays/{split}/chunk_*.npz`` and ``root/metadata.json``; return ``root``."""
    from jetpointnet.io.sample_files import write_json, write_npz

    files = files or {"train": 2, "val": 1, "test": 1}
    rng = np.random.default_rng(seed)
    plan = {s: [make_events(rng, events_per_file) for _ in range(k)] for s, k in files.items()}
    every = [ev for chunks in plan.values() for evs in chunks for ev in evs]
    lc = max(len(ev["cell_e"]) for ev in every)
    lt = max(1, max(ev["n_ch"] for ev in every))
    kt = max(1, max(len(ev["cls"]) - ev["n_ch"] for ev in every))
    entry = 0
    for split, chunks in plan.items():
        (root / "arrays" / split).mkdir(parents=True, exist_ok=True)
        for j, evs in enumerate(chunks):
            arrays = _pad(evs, lc, lt, kt, 0, entry)
            write_npz(root / "arrays" / split / f"chunk_{j:05d}.npz", arrays)
            entry += len(evs)
    meta = {
        "kind": "event", "layout": "padded", "cell_features": CELL_FEATURES,
        "track_features": TRACK_FEATURES, "classes": CLASSES, "n_cells": lc,
        "n_tracks": lt, "n_neutral": kt, "region_rule": "one sample = one event",
        "visibility_rule": "synthetic", "merging_rule": "none",
    }  # fmt: skip
    write_json(root / "metadata.json", meta)
    return root
