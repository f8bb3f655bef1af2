"""What evaluation reads: the labels of a stage-2 split and the stage-1 samples behind them.

Stage 2 (``DIR/arrays/SPLIT/*.npz``, files in sorted order, either layout) becomes one
ragged dict: per point ``point_type``, ``energy``, ``label_mask``, ``y_energy``,
``y_binary``, ``y_class`` (and ``y_total``, ``cell_id`` where present), ``offsets``
(n + 1), and every per-sample array of the contract. This is the order in which
``training.inference.predict`` returns its ``pred``.

Stage 1 (``DIR/samples/SPLIT/*.parquet``) is read as flat numpy arrays
(:class:`Stage1`), with cells concatenated over samples (``cell_offsets``).

Alignment (:func:`align_points`): a stage-2 sample is the stage-1 sample with the same
``(file_index, entry, track_index)``; its cell points are some of that sample's cells
(all, or the nearest ones after truncation). A point is matched to its stage-1 cell by
``cell_id`` when stage 2 carries it, otherwise by the exact float32 cell energy together
with the focal truth energy (``energy`` / ``y_energy`` against ``cells.energy`` /
``cells.truth_focal``), taking equal keys in order. Unmatched points get -1 and are
counted.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jetpointnet.data.schema import METADATA_FILE, PER_SAMPLE, PointType
from jetpointnet.errors import UserError, did_you_mean
from jetpointnet.io.mltree_layout import TRACK_LAYERS
from jetpointnet.io.sample_files import read_json

__all__ = [
    "Stage1",
    "align_points",
    "load_labels",
    "load_stage1",
    "match_samples",
    "read_metadata",
]

_POINT_KEYS = ("point_type", "energy", "label_mask", "y_energy", "y_binary", "y_class")
_OPTIONAL_POINT_KEYS = ("y_total", "y_fraction", "cell_id")


def read_metadata(data_dir: str | os.PathLike[str]) -> dict:
    """``DIR/metadata.json`` (a UserError when absent or unreadable)."""
    path = Path(data_dir) / METADATA_FILE
    if not path.is_file():
        raise UserError(f"{path}: not found (is {data_dir} an output of 'jetpointnet preprocess'?)")
    try:
        return read_json(path)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON (line {exc.lineno})") from None


def _split_files(data_dir: Path, stage: str, split: str, suffix: str) -> list[Path]:
    root = data_dir / stage
    folder = root / split
    files = (
        sorted(f for f in folder.glob(f"*{suffix}") if ".partial-" not in f.name)
        if (folder.is_dir())
        else []
    )
    if not files:
        have = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        raise UserError(
            f"{folder}: no {suffix} files for split '{split}'" + did_you_mean(split, have)
        )
    return files


def load_labels(data_dir: str | os.PathLike[str], *, split: str = "test") -> dict[str, np.ndarray]:
    """The labels and per-sample arrays of a stage-2 split, ragged, files in sorted order."""
    files = _split_files(Path(data_dir), "arrays", split, ".npz")
    parts: list[dict[str, np.ndarray]] = []
    for path in files:
        try:
            f = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise UserError(f"{path}: not a readable npz file ({exc})") from None
        with f:
            missing = [k for k in (*_POINT_KEYS, "n_points") if k not in f.files]
            if missing:
                raise UserError(
                    f"{path}: missing array {missing[0]!r}" + did_you_mean(missing[0], f.files)
                )
            keys = [*_POINT_KEYS, *(k for k in _OPTIONAL_POINT_KEYS if k in f.files)]
            pts = {k: f[k] for k in keys}
            if "offsets" in f.files:
                offsets = f["offsets"].astype(np.int64)
            elif "mask" in f.files:
                mask = f["mask"].astype(bool)
                offsets = np.r_[0, np.cumsum(mask.sum(axis=1))].astype(np.int64)
                flat = mask.reshape(-1)
                pts = {k: v.reshape(-1)[flat] for k, v in pts.items()}
            else:
                raise UserError(f"{path}: neither 'offsets' (ragged) nor 'mask' (padded) found")
            part = dict(pts)
            part["offsets"] = offsets
            part.update({k: f[k] for k in PER_SAMPLE if k in f.files})
            parts.append(part)
    out: dict[str, np.ndarray] = {}
    for key in parts[0]:
        if key == "offsets":
            continue
        if all(key in p for p in parts):
            out[key] = np.concatenate([p[key] for p in parts])
    sizes = np.array([p["offsets"][-1] for p in parts])
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    tails = [p["offsets"][1:] + s for p, s in zip(parts, starts, strict=True)]
    out["offsets"] = np.concatenate([[0], *tails]).astype(np.int64)
    return out


@dataclass
class Stage1:
    """Stage-1 samples as flat arrays: ``sample[k]`` (n,), ``track[k]`` (n, ...),
    ``others[k]`` (sum of others,) with ``other_offsets``, ``cells[k]`` with ``cell_offsets``."""

    sample: dict[str, np.ndarray]
    track: dict[str, np.ndarray]
    others: dict[str, np.ndarray]
    other_offsets: np.ndarray
    cells: dict[str, np.ndarray]
    cell_offsets: np.ndarray

    @property
    def n(self) -> int:
        return len(self.cell_offsets) - 1


_TRACK_FIELDS = (
    "index",
    "p",
    "pt",
    "eta",
    "phi",
    "layer_eta",
    "layer_phi",
    "layer_x",
    "layer_y",
    "layer_z",
)
_CELL_FIELDS = (
    "id",
    "energy",
    "eta",
    "phi",
    "x",
    "y",
    "z",
    "layer",
    "deta",
    "dphi",
    "volume",
    "cluster",
    "truth_focal",
    "truth_total",
)


def load_stage1(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    split: str = "test",
    files: list[Path] | None = None,
) -> Stage1:
    """Read the stage-1 samples of a split (or the given parquet ``files``) as flat arrays."""
    import awkward as ak

    paths = (
        files if files is not None else _split_files(Path(data_dir), "samples", split, ".parquet")
    )
    arrays = []
    for path in paths:
        try:
            arrays.append(ak.from_parquet(path))
        except (OSError, ValueError, TypeError) as exc:  # pyarrow's errors derive from these
            raise UserError(f"{path}: not a readable stage-1 parquet file ({exc})") from None
    arr = ak.concatenate(arrays) if len(arrays) > 1 else arrays[0]
    need = {"track": _TRACK_FIELDS, "others": _TRACK_FIELDS, "cells": _CELL_FIELDS}
    for part, fields in need.items():
        if part not in arr.fields:
            raise UserError(
                f"{paths[0]}: stage-1 samples lack {part!r}" + did_you_mean(part, arr.fields)
            )
        have = arr[part].fields
        for name in fields:
            if name not in have:
                raise UserError(
                    f"{paths[0]}: stage-1 {part} lack field {name!r}" + did_you_mean(name, have)
                )

    def flat(x: ak.Array) -> np.ndarray:
        return ak.to_numpy(ak.flatten(x, axis=1)) if x.ndim > 1 else ak.to_numpy(x)

    def num(x: ak.Array, width: int | None = None) -> np.ndarray:
        """Fixed-length lists (regular or not) as a 2-D array of ``width`` columns."""
        if width is not None and len(x) and not isinstance(x.type.content, ak.types.RegularType):
            x = ak.to_regular(x, axis=1)
        out = np.asarray(ak.to_numpy(x))
        return out.reshape(-1, width) if width else out

    sample = {
        k: ak.to_numpy(arr[k]) for k in ("file_index", "entry", "event_number") if k in arr.fields
    }
    width = {k: len(TRACK_LAYERS) for k in _TRACK_FIELDS if k.startswith("layer_")}
    track = {k: num(arr["track", k], width.get(k)) for k in _TRACK_FIELDS}
    n_oth = ak.to_numpy(ak.num(arr["others"], axis=1)).astype(np.int64)
    others = {}
    for k in _TRACK_FIELDS:
        v = arr["others", k]
        others[k] = num(ak.flatten(v, axis=1), width.get(k))
    n_cells = ak.to_numpy(ak.num(arr["cells"], axis=1)).astype(np.int64)
    cells = {k: flat(arr["cells", k]) for k in _CELL_FIELDS}
    sample["track_index"] = track["index"].astype(np.int64)
    return Stage1(
        sample=sample,
        track=track,
        others=others,
        other_offsets=np.r_[0, np.cumsum(n_oth)].astype(np.int64),
        cells=cells,
        cell_offsets=np.r_[0, np.cumsum(n_cells)].astype(np.int64),
    )


def _sample_keys(file_index: np.ndarray, entry: np.ndarray, track_index: np.ndarray) -> np.ndarray:
    return (
        (np.asarray(file_index, dtype=np.int64) << 44)
        + (np.asarray(entry, dtype=np.int64) << 16)
        + np.asarray(track_index, dtype=np.int64)
    )


def match_samples(labels: dict[str, np.ndarray], stage1: Stage1) -> np.ndarray:
    """For every stage-2 sample, the index of the stage-1 sample with the same
    ``(file_index, entry, track_index)``, or -1."""
    s2_key = _sample_keys(labels["file_index"], labels["entry"], labels["track_index"])
    s1_key = _sample_keys(
        stage1.sample["file_index"], stage1.sample["entry"], stage1.sample["track_index"]
    )
    if len(s1_key) == 0:
        return np.full(len(s2_key), -1, dtype=np.int64)
    order = np.argsort(s1_key, kind="mergesort")
    pos = np.minimum(np.searchsorted(s1_key[order], s2_key), len(order) - 1)
    return np.where(s1_key[order][pos] == s2_key, order[pos], -1).astype(np.int64)


def align_points(labels: dict[str, np.ndarray], stage1: Stage1) -> np.ndarray:
    """For every stage-2 point, the index of its stage-1 cell in ``stage1.cells`` (or -1).

    Track points and points whose sample or cell is not found get -1.
    """
    s1_of_s2 = match_samples(labels, stage1)

    offsets = labels["offsets"]
    n_pts = np.diff(offsets)
    sample_of_point = np.repeat(np.arange(len(n_pts)), n_pts)
    is_cell = labels["point_type"] == int(PointType.CELL)
    s1_sample = s1_of_s2[sample_of_point]
    candidate = is_cell & (s1_sample >= 0)

    c_off = stage1.cell_offsets
    cell_sample = np.repeat(np.arange(stage1.n), np.diff(c_off))
    if "cell_id" in labels:
        v2 = np.asarray(labels["cell_id"], dtype=np.uint64).astype(np.int64)
        v1 = np.asarray(stage1.cells["id"], dtype=np.uint64).astype(np.int64)
        w2 = np.zeros_like(v2)
        w1 = np.zeros_like(v1)
    else:
        v2 = np.asarray(labels["energy"], dtype=np.float32).view(np.int32).astype(np.int64)
        v1 = np.asarray(stage1.cells["energy"], dtype=np.float32).view(np.int32).astype(np.int64)
        w2 = np.asarray(labels["y_energy"], dtype=np.float32).view(np.int32).astype(np.int64)
        w1 = (
            np.asarray(stage1.cells["truth_focal"], dtype=np.float32)
            .view(np.int32)
            .astype(np.int64)
        )
    # key: (stage-1 sample, value, truth, occurrence); sort both sides identically
    k1 = np.lexsort((w1, v1, cell_sample))
    idx2 = np.flatnonzero(candidate)
    k2 = idx2[np.lexsort((w2[idx2], v2[idx2], s1_sample[idx2]))]
    t1 = np.stack([cell_sample[k1], v1[k1], w1[k1]], axis=1)
    t2 = np.stack([s1_sample[k2], v2[k2], w2[k2]], axis=1)
    occ1 = _occurrence(t1)
    occ2 = _occurrence(t2)
    rec1 = np.rec.fromarrays([t1[:, 0], t1[:, 1], t1[:, 2], occ1])
    rec2 = np.rec.fromarrays([t2[:, 0], t2[:, 1], t2[:, 2], occ2])
    where = np.searchsorted(rec1, rec2)
    where = np.minimum(where, max(len(rec1) - 1, 0))
    out = np.full(len(labels["point_type"]), -1, dtype=np.int64)
    if len(rec1):
        ok = rec1[where] == rec2
        out[k2[ok]] = k1[where[ok]]
    return out


def _occurrence(keys: np.ndarray) -> np.ndarray:
    """Running count of each row among equal preceding rows (rows sorted)."""
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64)
    new = np.r_[True, np.any(keys[1:] != keys[:-1], axis=1)]
    start = np.maximum.accumulate(np.where(new, np.arange(len(keys)), 0))
    return np.arange(len(keys)) - start
