"""Small synthetic stage-2 datasets in the exact array contract of ``data/schema.py``.

A learnable rule: a cell is focal when it lies near the track (``dr < 0.5``) and carries
the feature flag; the focal particle then holds 90% of the cell energy. Each sample also
has a focused-track point and sometimes an other-track point (no labels: IGNORE).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from jetpointnet.data.schema import IGNORE, CellClass, PointType

__all__ = ["FEATURES", "make_samples", "write_dataset"]

FEATURES = ["x", "y", "dr", "energy", "type", "flag"]


def make_samples(rng: np.random.Generator, n: int, *, min_cells: int = 8, max_cells: int = 40):
    """A list of ``n`` samples, each a dict of per-point arrays (ragged, unpadded)."""
    out = []
    for _ in range(n):
        nc = int(rng.integers(min_cells, max_cells + 1))
        ntr = 1 + int(rng.random() < 0.5)
        xy = rng.normal(0.0, 0.6, size=(nc, 2))
        dr = np.hypot(xy[:, 0], xy[:, 1])
        flag = (rng.random(nc) < 0.5).astype(np.float32)
        e = rng.exponential(1.0, nc).astype(np.float32) + 0.05
        focal = (dr < 0.5) & (flag > 0)
        y_energy = np.where(focal, 0.9 * e, 0.0).astype(np.float32)
        y_class = np.where(
            focal,
            CellClass.FOCAL,
            np.where(
                flag > 0,
                CellClass.OTHER_CHARGED,
                np.where(dr < 0.5, CellClass.NEUTRAL, CellClass.NOISE),
            ),
        )
        types = np.array([PointType.FOCUSED_TRACK, PointType.OTHER_TRACK][:ntr], dtype=np.int8)
        txy = np.array([[0.0, 0.0], [0.7, -0.4]])[:ntr]
        p = np.full(ntr, 5.0, dtype=np.float32)
        X = np.zeros((nc + ntr, len(FEATURES)), dtype=np.float32)
        X[:nc, 0:2] = xy
        X[:nc, 2] = dr
        X[:nc, 3] = e / 2.0
        X[:nc, 4] = PointType.CELL
        X[:nc, 5] = flag
        X[nc:, 0:2] = txy
        X[nc:, 2] = np.hypot(txy[:, 0], txy[:, 1])
        X[nc:, 3] = p / 2.0
        X[nc:, 4] = types
        lab = np.ones(nc + ntr, dtype=bool)
        lab[nc:] = False
        ign = np.full(ntr, IGNORE)
        out.append(
            {
                "X": X,
                "point_type": np.concatenate([np.full(nc, PointType.CELL), types]).astype(np.int8),
                "energy": np.concatenate([e, p]).astype(np.float32),
                "label_mask": lab,
                "y_energy": np.concatenate([y_energy, ign]).astype(np.float32),
                "y_fraction": np.concatenate([y_energy / e, ign]).astype(np.float32),
                "y_binary": np.concatenate([focal, ign]).astype(np.int8),
                "y_class": np.concatenate([y_class, ign]).astype(np.int8),
                "y_total": np.concatenate([e, ign]).astype(np.float32),
            }
        )
    return out


def _per_sample(samples, file_index: int, first: int) -> dict[str, np.ndarray]:
    n = len(samples)
    return {
        "n_points": np.array([len(s["X"]) for s in samples], dtype=np.int32),
        "event_number": np.arange(first, first + n, dtype=np.int64),
        "entry": np.arange(first, first + n, dtype=np.int64),
        "track_index": np.zeros(n, dtype=np.int32),
        "file_index": np.full(n, file_index, dtype=np.int32),
        "track_p": np.full(n, 5.0, dtype=np.float32),
        "track_pt": np.full(n, 4.0, dtype=np.float32),
        "track_eta": np.zeros(n, dtype=np.float32),
        "track_phi": np.zeros(n, dtype=np.float32),
        "truth_focal_total": np.array(
            [s["y_energy"][s["label_mask"]].sum() for s in samples], dtype=np.float32
        ),
        "n_other_tracks": np.array([int((s["point_type"] == 2).sum()) for s in samples], np.int32),
        "min_dr_other": np.full(n, np.inf, dtype=np.float32),
    }


def _write_chunk(path: Path, samples, layout: str, per_sample, length: int) -> None:
    keys = [k for k in samples[0]]
    arrays: dict[str, np.ndarray] = dict(per_sample)
    if layout == "ragged":
        for k in keys:
            arrays[k] = np.concatenate([s[k] for s in samples])
        arrays["offsets"] = np.concatenate([[0], np.cumsum(per_sample["n_points"])]).astype(
            np.int64
        )
    else:
        n = len(samples)
        for k in keys:
            first = samples[0][k]
            shape = (n, length, *first.shape[1:])
            if k == "X":
                fill = 0
            elif k == "label_mask":
                fill = False
            elif k == "point_type":
                fill = PointType.PADDING
            else:
                fill = IGNORE
            arr = np.full(shape, fill, dtype=first.dtype)
            for i, s in enumerate(samples):
                arr[i, : len(s[k])] = s[k]
            arrays[k] = arr
        mask = np.zeros((n, length), dtype=bool)
        for i, s in enumerate(samples):
            mask[i, : len(s["X"])] = True
        arrays["mask"] = mask
    np.savez(path, **arrays)


def write_dataset(
    root: Path,
    *,
    layout: str = "ragged",
    files: dict[str, int] | None = None,
    samples_per_file: int = 48,
    seed: int = 0,
    max_cells: int = 40,
) -> Path:
    """Write ``root/arrays/{split}/chunk_*.npz`` and ``root/metadata.json``; return ``root``."""
    files = files or {"train": 3, "val": 1, "test": 1}
    rng = np.random.default_rng(seed)
    length = max_cells + 2
    counts = {}
    first = 0
    for split, n_files in files.items():
        folder = root / "arrays" / split
        folder.mkdir(parents=True, exist_ok=True)
        counts[split] = 0
        for i in range(n_files):
            samples = make_samples(rng, samples_per_file, max_cells=max_cells)
            per_sample = _per_sample(samples, 0, first)
            first += len(samples)
            _write_chunk(folder / f"chunk_{i:04d}.npz", samples, layout, per_sample, length)
            counts[split] += len(samples)
    meta = {"layout": layout, "features": FEATURES, "length": length, "counts": counts}
    (root / "metadata.json").write_text(json.dumps(meta))
    return root
