"""What evaluation reads: the labels of a stage-2 split and the stage-1 samples behind them.

Stage 2 (``DIR/arrays/SPLIT/*.npz``, files in sorted order, either layout; read by
:mod:`jetpointnet.io.prep_folder`) becomes one ragged dict: per point ``point_type``,
``energy``, ``label_mask``, ``y_energy``, ``y_binary``, ``y_class`` (and ``y_total``,
``y_fraction``, ``cell_id`` where present), ``offsets`` (n + 1), and every per-sample
array of the contract. This is the order in which ``training.inference.predict``
returns its ``pred`` (and the same labels, read with it).

Stage 1 (``DIR/samples/SPLIT/*.arrow``, or ``*.parquet`` of older folders) is read as flat numpy arrays
(:class:`Stage1`), with cells concatenated over samples (``cell_offsets``).

The link: a stage-2 sample is the stage-1 row with the same stage-1 keys
(:func:`jetpointnet.io.prep_folder.stage1_rows`); its cell points are some of that
row's cells (all, or the nearest ones after truncation), found by their ``cell_id``
(:func:`point_cells`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jetpointnet.data.schema import PER_SAMPLE, PointType
from jetpointnet.errors import UserError, did_you_mean
from jetpointnet.io.mltree_layout import TRACK_LAYERS
from jetpointnet.io.prep_folder import concat_chunks, read_chunk, split_files, stage1_rows

__all__ = ["Stage1", "Stage1Link", "load_labels", "load_stage1", "point_cells", "stage1_link"]

_POINT_KEYS = ("point_type", "energy", "label_mask", "y_energy", "y_binary", "y_class")
_OPTIONAL_POINT_KEYS = ("y_total", "y_fraction", "cell_id")


def load_labels(data_dir: str | os.PathLike[str], *, split: str = "test") -> dict[str, np.ndarray]:
    """The labels and per-sample arrays of a stage-2 split, ragged, files in sorted order."""
    parts = []
    for path in split_files(data_dir, split):
        chunk = read_chunk(
            path,
            points=_POINT_KEYS,
            optional=_OPTIONAL_POINT_KEYS,
            per_sample=PER_SAMPLE,
            with_x=False,
        )
        parts.append({**chunk.points, "offsets": chunk.offsets, **chunk.per_sample})
    return concat_chunks(parts)


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
    """Read the stage-1 samples of a split (or the given stage-1 ``files``) as flat arrays."""
    import awkward as ak

    from jetpointnet.io.sample_files import read_samples

    if files is None and data_dir is None:
        raise ValueError("load_stage1: give data_dir or files")
    paths = files if files is not None else split_files(data_dir, split, stage="samples")  # type: ignore[arg-type]
    arrays = []
    for path in paths:
        try:
            arrays.append(read_samples(path))
        except (OSError, ValueError, TypeError) as exc:  # pyarrow's errors derive from these
            raise UserError(f"{path}: not a readable stage-1 file ({exc})") from None
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


def point_cells(labels: dict[str, np.ndarray], stage1: Stage1, rows: np.ndarray) -> np.ndarray:
    """For every stage-2 point, the index of its stage-1 cell in ``stage1.cells`` (or -1).

    ``rows``: per stage-2 sample, its stage-1 row (:func:`~jetpointnet.io.prep_folder.
    stage1_rows`, -1 none). A cell point is the cell of that row with the same
    ``cell_id`` (equal ids pair in order); track points, points of samples without a
    row and cells not found get -1.
    """
    if "cell_id" not in labels:
        raise UserError(
            "the stage-2 arrays carry no 'cell_id' (written by an older preprocess); "
            "re-run preprocess to link points to stage-1 cells"
        )
    s1_sample = np.repeat(np.asarray(rows, dtype=np.int64), np.diff(labels["offsets"]))
    is_cell = labels["point_type"] == int(PointType.CELL)
    candidate = is_cell & (s1_sample >= 0)
    cell_sample = np.repeat(np.arange(stage1.n), np.diff(stage1.cell_offsets))
    v2 = np.asarray(labels["cell_id"], dtype=np.uint64).astype(np.int64)
    v1 = np.asarray(stage1.cells["id"], dtype=np.uint64).astype(np.int64)
    # key: (stage-1 sample, cell id, occurrence); sort both sides identically
    k1 = np.lexsort((v1, cell_sample))
    idx2 = np.flatnonzero(candidate)
    k2 = idx2[np.lexsort((v2[idx2], s1_sample[idx2]))]
    t1 = np.stack([cell_sample[k1], v1[k1]], axis=1)
    t2 = np.stack([s1_sample[k2], v2[k2]], axis=1)
    rec1 = np.rec.fromarrays([t1[:, 0], t1[:, 1], _occurrence(t1)])
    rec2 = np.rec.fromarrays([t2[:, 0], t2[:, 1], _occurrence(t2)])
    where = np.minimum(np.searchsorted(rec1, rec2), max(len(rec1) - 1, 0))
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


@dataclass
class Stage1Link:
    """The stage-1 samples of the split and the way back to them from stage 2."""

    stage1: Stage1
    rows: np.ndarray  # per stage-2 sample: its stage-1 row, -1 none
    point_to_cell: np.ndarray  # per stage-2 point: its stage-1 cell, -1 none


def stage1_link(
    data_dir: str | os.PathLike[str],
    split: str,
    labels: dict[str, np.ndarray],
    notes: list[str],
) -> Stage1Link | None:
    """The split's stage-1 samples linked to ``labels`` (what ``predict`` read from stage
    2); None (and a note) when they are not available."""
    try:
        stage1 = load_stage1(data_dir, split=split)
        rows = stage1_rows(labels, stage1.sample)
        return Stage1Link(stage1, rows, point_cells(labels, stage1, rows))
    except UserError as exc:
        notes.append(f"stage-1 samples unavailable, no classical algorithm or displays: {exc}")
        return None
