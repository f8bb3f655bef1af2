"""Stage-1 (Arrow IPC), stage-2 (npz) and parquet files: atomic and byte-reproducible.

``np.savez`` stamps the current time into every zip member, so two identical runs give
different bytes; :func:`write_npz` writes the same ``.npy`` members with a fixed
timestamp instead, so a resumed run reproduces the files of an uninterrupted one.
Parquet files from ``ak.to_parquet`` and Arrow IPC files from ``ak.to_feather`` carry
no timestamp.

Stage-1 samples are Arrow IPC files (``.arrow``, Feather v2, LZ4 frames): on 600 JZ3
events they write in 0.7 s and read back in 0.6 s, against 3.3 s and 2.1 s for the same
arrays as LZ4 parquet, at the same size (~200 MB), because IPC stores awkward's
offsets and buffers as they are where parquet re-encodes every nested leaf with
repetition and definition levels (BENCHMARKS.md, preprocess). Folders written before
(``.parquet`` stage-1 files) still read: :func:`read_samples` and
:func:`read_sample_columns` go by the file's suffix.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import pyarrow as pa
import pyarrow.ipc
import pyarrow.parquet as pq

from jetpointnet.errors import UserError
from jetpointnet.io.atomic import atomic_output
from jetpointnet.io.jsonio import strict_dumps

__all__ = [
    "read_json",
    "read_json_object",
    "read_npz",
    "read_parquet",
    "read_parquet_columns",
    "read_sample_columns",
    "read_samples",
    "write_json",
    "write_npz",
    "write_parquet",
    "write_samples",
]

_EPOCH = (1980, 1, 1, 0, 0, 0)


def write_parquet(
    array: ak.Array, path: str | os.PathLike[str], *, overwrite: bool = False
) -> Path:
    """``ak.to_parquet`` under a temporary name, renamed when complete.

    LZ4: against zstd level 1 on 600 JZ3 events of stage-1 samples (BENCHMARKS.md,
    preprocess), ~0.3 s less CPU to write and ~0.4 s less to read back in stage 2
    (together ~4 % of both stages), for files 37 % larger (213 instead of 156 MB).
    """
    path = Path(path)
    with atomic_output(path, overwrite=overwrite) as tmp:
        ak.to_parquet(
            array,
            tmp,
            compression="lz4",
            parquet_dictionary_encoding=False,  # reads ~2x faster, same size here
            row_group_size=64 * 1024,
        )
    return path


def read_parquet(path: str | os.PathLike[str], *, columns: Sequence[str] | None = None) -> ak.Array:
    """A stage-1 file as an awkward array (optionally only some fields)."""
    return ak.from_parquet(path, columns=list(columns) if columns is not None else None)


def read_parquet_columns(
    path: str | os.PathLike[str], names: Sequence[str]
) -> dict[str, np.ndarray]:
    """Top-level scalar columns of a parquet file as numpy arrays (fast, no awkward).

    Through ``pq.ParquetFile``: ``pq.read_table`` would import ``pyarrow.dataset`` (and
    pandas) on its first call, ~0.4 s per process.
    """
    with pq.ParquetFile(path) as pf:
        table = pf.read(columns=list(names))
    return {n: table.column(n).to_numpy() for n in names}


def write_samples(
    array: ak.Array, path: str | os.PathLike[str], *, overwrite: bool = False
) -> Path:
    """Stage-1 samples as an Arrow IPC file (LZ4), under a temporary name, then renamed.

    The file ``ak.to_feather(array, path, compression="lz4")`` writes (Feather v2: the
    Arrow IPC file format, record batches of at most 64 Ki rows), through ``pyarrow.ipc``:
    ``pyarrow.feather.write_feather`` imports pandas to check for a DataFrame, ~0.5 s of
    every stage-1 process.
    """
    path = Path(path)
    table = ak.to_arrow_table(array, string_to32=True, bytestring_to32=True)
    options = pa.ipc.IpcWriteOptions(compression="lz4")
    with (
        atomic_output(path, overwrite=overwrite) as tmp,
        pa.OSFile(str(tmp), "wb") as sink,
        pa.ipc.new_file(sink, table.schema, options=options) as out,
    ):
        out.write_table(table, max_chunksize=_FEATHER_CHUNK_ROWS)
    return path


#: rows per record batch of ``pyarrow.feather.write_feather`` (its default chunksize)
_FEATHER_CHUNK_ROWS = 64 * 1024


def read_samples(path: str | os.PathLike[str], *, columns: Sequence[str] | None = None) -> ak.Array:
    """A stage-1 file (``.arrow``, or ``.parquet`` from older runs) as an awkward array.

    ``columns``: only these fields, top-level (``"n_cells"``) or one level down
    (``"cells.energy"``), as in ``ak.from_parquet``.
    """
    if Path(path).suffix == ".parquet":
        return read_parquet(path, columns=columns)
    array = ak.from_feather(path)
    return array if columns is None else _project(array, columns)


def _project(array: ak.Array, columns: Sequence[str]) -> ak.Array:
    """The fields ``columns`` (``"a"`` or ``"a.b"``) of a record array, in first-seen order."""
    wanted: dict[str, list[str] | None] = {}
    for name in columns:
        top, _, sub = name.partition(".")
        if not sub:
            wanted[top] = None
        elif wanted.get(top, []) is not None:
            wanted.setdefault(top, []).append(sub)  # type: ignore[union-attr]
    return ak.zip(
        {top: array[top] if subs is None else array[top][subs] for top, subs in wanted.items()},
        depth_limit=1,
    )


def read_sample_columns(
    path: str | os.PathLike[str], names: Sequence[str]
) -> dict[str, np.ndarray]:
    """Top-level scalar columns of a stage-1 file as numpy arrays (no awkward)."""
    if Path(path).suffix == ".parquet":
        return read_parquet_columns(path, names)
    from pyarrow import feather

    table = feather.read_table(path, columns=list(names), memory_map=False)
    return {n: _numpy(table.column(n)) for n in names}


_FLOAT_NAMES = {"halffloat": "float16", "float": "float32", "double": "float64"}


def _numpy(column: pa.ChunkedArray) -> np.ndarray:
    """A flat numeric column (no nulls) as numpy, from its data buffer: pyarrow's
    ``to_numpy`` imports pandas (~0.8 s of a stage's start-up) on awkward's columns."""
    array = column.combine_chunks()
    if isinstance(array, pa.ExtensionArray):
        array = array.storage
    name = str(array.type)
    if array.null_count or not (
        pa.types.is_integer(array.type) or pa.types.is_floating(array.type)
    ):
        return array.to_numpy(zero_copy_only=False)
    dtype = np.dtype(_FLOAT_NAMES.get(name, name))
    data = array.buffers()[1]
    return np.frombuffer(data, dtype=dtype, count=len(array), offset=array.offset * dtype.itemsize)


def write_npz(
    path: str | os.PathLike[str],
    arrays: Mapping[str, np.ndarray],
    *,
    compress: bool = False,
    overwrite: bool = False,
) -> Path:
    """Write ``arrays`` as an ``.npz`` readable by ``np.load``, with fixed zip timestamps."""
    path = Path(path)
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with atomic_output(path, overwrite=overwrite) as tmp, zipfile.ZipFile(tmp, "w", method) as zf:
        for name, value in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_EPOCH)
            info.compress_type = method
            info.external_attr = 0o644 << 16
            with zf.open(info, "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, np.asanyarray(value), allow_pickle=False)
    return path


def read_npz(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """All arrays of an ``.npz`` file, loaded into memory."""
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


def write_json(path: str | os.PathLike[str], obj: object, *, overwrite: bool = True) -> Path:
    """Write ``obj`` as indented, key-sorted JSON (atomically)."""
    path = Path(path)
    with atomic_output(path, overwrite=overwrite) as tmp:
        tmp.write_text(strict_dumps(obj, indent=2, sort_keys=True) + "\n")
    return path


def read_json(path: str | os.PathLike[str]) -> object:
    """Parse a JSON file; a damaged one is the user's to fix (:class:`UserError`)."""
    try:
        return json.loads(Path(path).read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: not valid JSON ({exc}); remove or replace it") from None


def read_json_object(path: str | os.PathLike[str]) -> dict[str, Any]:
    """:func:`read_json` of a file that must hold a JSON object (a record, a marker, a
    manifest, a metadata file); anything else is a :class:`UserError`."""
    raw = read_json(path)
    if not isinstance(raw, dict):
        raise UserError(f"{path}: not a JSON object; remove or replace it")
    return raw
