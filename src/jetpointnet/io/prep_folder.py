"""The folder that ``jetpointnet preprocess`` writes, read in one place.

Layout (names of the arrays: :mod:`jetpointnet.data.schema`)::

    DIR/metadata.json              features, scalings, layout, counts, sources
    DIR/samples/SPLIT/NAME.arrow   stage 1: one row per focused track (Arrow IPC)
    DIR/arrays/SPLIT/NAME.npz      stage 2: point clouds of the same tracks, same NAME

A stage-2 chunk is read into a ragged :class:`Chunk` whatever its layout (padded files:
their real points only, row-major). Its *stage-1 keys* (:data:`STAGE1_KEYS`, per sample)
are the link back: ``file_index`` (into ``metadata["sources"]``) and ``entry`` name the
ROOT event, ``track_index`` the focused track; the same three columns of the stage-1 file
``DIR/samples/SPLIT/NAME.arrow`` (:func:`stage1_path`; ``.parquet`` in folders
written before 2026-12-02, still read) name its rows, and
:func:`stage1_rows` finds, for every stage-2 sample, its stage-1 row by these exact
integers. Files left by an interrupted writer (:func:`~jetpointnet.io.atomic.is_partial`)
are never listed. Numpy (and pyarrow for the key columns) only.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from jetpointnet.errors import UserError, did_you_mean
from jetpointnet.io.atomic import is_partial

__all__ = [
    "METADATA_FILE",
    "STAGE1_KEYS",
    "STAGES",
    "Chunk",
    "concat_chunks",
    "feature_count",
    "load_arrays",
    "peek_n_points",
    "read_chunk",
    "read_metadata",
    "read_stage1_keys",
    "split_files",
    "stage1_path",
    "stage1_rows",
    "stage_files",
]

METADATA_FILE = "metadata.json"
#: Per-sample arrays that link a stage-2 sample to its stage-1 row and ROOT event.
STAGE1_KEYS = ("file_index", "entry", "track_index")
#: Sub-folder of each stage -> the suffixes of its files, the one written now first
#: (stage 1 was parquet before Arrow IPC; such folders still read).
STAGES = {"samples": (".arrow", ".parquet"), "arrays": (".npz",)}
_UNREADABLE = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)


def read_metadata(data_dir: str | os.PathLike[str]) -> dict:
    """``DIR/metadata.json`` (a UserError when absent or not valid JSON)."""
    from jetpointnet.io.sample_files import read_json  # awkward and pyarrow: not at import

    path = Path(data_dir) / METADATA_FILE
    if not path.is_file():
        raise UserError(f"{path}: not found (is {data_dir} an output of 'jetpointnet preprocess'?)")
    return dict(read_json(path))  # type: ignore[call-overload]


def _suffixes(stage: str) -> tuple[str, ...]:
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r} (one of {list(STAGES)})")
    return STAGES[stage]


def _listed(pattern_dir: Path, pattern: str, suffixes: tuple[str, ...]) -> list[Path]:
    """Complete files ``pattern_dir/pattern<suffix>`` of any of ``suffixes``, sorted; where a
    chunk has files of two suffixes (a folder redone after an upgrade), the newer kind."""
    found: dict[Path, Path] = {}
    for suffix in reversed(suffixes):
        for f in pattern_dir.glob(f"{pattern}{suffix}"):
            if not is_partial(f):
                found[f.with_suffix("")] = f
    return [found[k] for k in sorted(found)]


def split_files(
    data_dir: str | os.PathLike[str], split: str, *, stage: str = "arrays"
) -> list[Path]:
    """The chunk files of ``split`` (``DIR/STAGE/SPLIT/*``), sorted by name, complete only.

    None found: a UserError naming the folder and the closest split names.
    """
    suffixes = _suffixes(stage)
    root = Path(data_dir) / stage
    folder = root / split
    files = _listed(folder, "*", suffixes) if folder.is_dir() else []
    if not files:
        have = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        raise UserError(
            f"{folder}: no {suffixes[0]} files for split '{split}'" + did_you_mean(split, have)
        )
    return files


def stage_files(data_dir: str | os.PathLike[str], *, stage: str = "samples") -> list[Path]:
    """The chunk files of every split of ``stage``, sorted by path (split, then name)."""
    suffixes = _suffixes(stage)
    folder = Path(data_dir) / stage
    files = _listed(folder, "*/*", suffixes)
    if not files:
        what = "stage-1 samples" if stage == "samples" else "stage-2 arrays"
        raise UserError(f"{data_dir}: no {what} ({stage}/*/*{suffixes[0]})")
    return files


def _unreadable(path: Path, exc: BaseException) -> UserError:
    return UserError(f"{path}: not a readable npz file ({type(exc).__name__}); re-run preprocess")


def load_arrays(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """All arrays of a stage-2 chunk file as stored (either layout), loaded into memory."""
    from jetpointnet.io.sample_files import read_npz

    try:
        return read_npz(path)
    except _UNREADABLE as exc:
        raise _unreadable(Path(path), exc) from None


def peek_n_points(path: str | os.PathLike[str]) -> np.ndarray:
    """Only the ``n_points`` array of a chunk file (cheap: one npz member), int64."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            if "n_points" not in f.files:
                raise UserError(
                    f"{path}: missing array 'n_points'" + did_you_mean("n_points", f.files)
                )
            return np.asarray(f["n_points"], dtype=np.int64)
    except _UNREADABLE as exc:
        raise _unreadable(path, exc) from None


def feature_count(path: str | os.PathLike[str]) -> int:
    """Number of input features (columns of ``X``) of a chunk file."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            return int(f["X"].shape[-1])
    except _UNREADABLE as exc:
        raise _unreadable(path, exc) from None


@dataclass
class Chunk:
    """One stage-2 chunk as ragged arrays: sample ``i`` owns rows ``offsets[i]:offsets[i+1]``.

    ``x``: (P, F) float32 scaled features ((P, 0) when not read); ``points``: per-point
    arrays, (P,) or (P, K); ``per_sample``: (n,) each, :data:`STAGE1_KEYS` among them.
    """

    x: np.ndarray
    points: dict[str, np.ndarray]
    offsets: np.ndarray  # (n + 1,) int64
    per_sample: dict[str, np.ndarray]
    path: Path = field(default_factory=Path)

    @property
    def n(self) -> int:
        return len(self.offsets) - 1

    @property
    def keys(self) -> dict[str, np.ndarray]:
        """The stage-1 keys of the chunk's samples (those the file has)."""
        return {k: self.per_sample[k] for k in STAGE1_KEYS if k in self.per_sample}


def read_chunk(
    path: str | os.PathLike[str],
    *,
    points: Sequence[str],
    optional: Sequence[str] = (),
    extras: Sequence[str] = (),
    per_sample: Sequence[str] = (),
    with_x: bool = True,
    features: Sequence[int] | None = None,
) -> Chunk:
    """Read a chunk file of either layout into a ragged :class:`Chunk`.

    ``points``: per-point arrays that must be there (with ``X`` when ``with_x`` and
    ``n_points``); ``optional``: per-point arrays kept when present; ``extras``: per-point
    arrays written only with ``arrays.extra`` (missing: a UserError naming the setting);
    ``per_sample``: per-sample arrays kept when present. ``features``: columns of ``X``
    to keep, in this order. Only the named members are read.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            return _read(path, f, points, optional, extras, per_sample, with_x, features)
    except _UNREADABLE as exc:
        raise _unreadable(path, exc) from None


def _read(
    path: Path,
    f: np.lib.npyio.NpzFile,
    points: Sequence[str],
    optional: Sequence[str],
    extras: Sequence[str],
    per_sample: Sequence[str],
    with_x: bool,
    features: Sequence[int] | None,
) -> Chunk:
    have = f.files
    for name in (*(["X"] if with_x else []), *points, "n_points"):
        if name not in have:
            raise UserError(f"{path}: missing array '{name}'" + did_you_mean(name, have))
    for name in extras:
        if name not in have:
            raise UserError(
                f"{path}: no array '{name}' (preprocess with arrays.extra including '{name}')"
            )
    x = f["X"] if with_x else None
    keep = [*points, *(k for k in optional if k in have), *extras]
    pts = {k: f[k] for k in keep}
    if "offsets" in have:  # ragged
        offsets = f["offsets"].astype(np.int64)
        if x is not None and (x.ndim != 2 or offsets[-1] != len(x)):
            raise UserError(f"{path}: ragged X of shape {x.shape} does not match 'offsets'")
    elif "mask" in have:  # padded: keep real points, row-major
        mask = f["mask"].astype(bool)
        if x is not None and (x.ndim != 3 or mask.shape != x.shape[:2]):
            raise UserError(f"{path}: padded X of shape {x.shape} does not match 'mask'")
        offsets = np.zeros(len(mask) + 1, dtype=np.int64)
        np.cumsum(mask.sum(axis=1), out=offsets[1:])
        flat = mask.reshape(-1)
        if x is not None:
            x = x.reshape(-1, x.shape[-1])[flat]
        pts = {k: v.reshape(-1, *v.shape[2:])[flat] for k, v in pts.items()}
    else:
        raise UserError(f"{path}: neither 'offsets' (ragged) nor 'mask' (padded) found")
    if x is None:
        x = np.zeros((int(offsets[-1]), 0), dtype=np.float32)
    else:
        if features is not None:
            if max(features) >= x.shape[1]:
                raise UserError(f"{path}: X has {x.shape[1]} features, fewer than metadata lists")
            x = x[:, list(features)]
        x = np.ascontiguousarray(x, dtype=np.float32)
    samples = {k: f[k] for k in per_sample if k in have}
    return Chunk(x, pts, offsets, samples, path)


def concat_chunks(parts: Sequence[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Ragged dicts (each with ``offsets``) as one: arrays found in every part are
    concatenated in order, ``offsets`` shifted to the concatenated points (last key)."""
    out: dict[str, np.ndarray] = {}
    for key in parts[0]:
        if key != "offsets" and all(key in p for p in parts):
            out[key] = np.concatenate([p[key] for p in parts])
    sizes = np.array([p["offsets"][-1] for p in parts])
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    tails = [p["offsets"][1:] + s for p, s in zip(parts, starts, strict=True)]
    out["offsets"] = np.concatenate([[0], *tails]).astype(np.int64)
    return out


def stage1_path(chunk_path: str | os.PathLike[str]) -> Path:
    """The stage-1 file behind a stage-2 chunk: ``DIR/samples/SPLIT/NAME.arrow`` (or the
    ``NAME.parquet`` of an older folder, when only that exists)."""
    p = Path(chunk_path)
    base = p.parent.parent.parent / "samples" / p.parent.name / p.stem
    new, *old = (base.with_name(base.name + s) for s in STAGES["samples"])
    return next((f for f in old if f.is_file() and not new.is_file()), new)


def read_stage1_keys(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """The :data:`STAGE1_KEYS` columns of a stage-1 file, one value per row (int64)."""
    from jetpointnet.io.sample_files import read_sample_columns

    try:
        cols = read_sample_columns(path, STAGE1_KEYS)
    except (OSError, ValueError, KeyError, TypeError) as exc:  # pyarrow's errors derive
        raise UserError(f"{path}: not a readable stage-1 file ({exc})") from None
    return {k: np.asarray(v, dtype=np.int64) for k, v in cols.items()}


def _packed(keys: dict[str, np.ndarray]) -> np.ndarray:
    """One int64 per sample: file_index (20 bits), entry (28 bits), track_index (16 bits)."""
    return (
        (np.asarray(keys["file_index"], dtype=np.int64) << 44)
        + (np.asarray(keys["entry"], dtype=np.int64) << 16)
        + np.asarray(keys["track_index"], dtype=np.int64)
    )


def stage1_rows(keys: dict[str, np.ndarray], stage1_keys: dict[str, np.ndarray]) -> np.ndarray:
    """For every sample of ``keys`` (stage 2), the row of ``stage1_keys`` with the same
    :data:`STAGE1_KEYS` (rows: concatenated stage-1 files, in order), or -1."""
    want, rows = _packed(keys), _packed(stage1_keys)
    if len(rows) == 0:
        return np.full(len(want), -1, dtype=np.int64)
    order = np.argsort(rows, kind="mergesort")
    pos = np.minimum(np.searchsorted(rows[order], want), len(order) - 1)
    return np.where(rows[order][pos] == want, order[pos], -1).astype(np.int64)
