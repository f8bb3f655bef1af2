"""``particles.parquet``: event-level particle-flow particles, predicted or target.

One row per particle (docs/contracts/event.md):
``file_index`` int32, ``entry`` int64, ``event_number`` int64, ``region_index`` int32,
``class`` (string, one of :data:`PARTICLE_CLASSES`), ``E``, ``pt``, ``eta``, ``phi``, ``m``
(float32; GeV, radians; neutrals massless, charged with the track momentum and the class
mass), ``track_index`` int32 (the track's index in its ROOT event, -1 for neutrals) and
``existence`` float32 (probability; 1 for targets). A table is a dict of numpy columns.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from jetpointnet.errors import UserError, did_you_mean
from jetpointnet.io.atomic import atomic_output

__all__ = [
    "PARTICLE_CLASSES",
    "PARTICLE_COLUMNS",
    "empty_particles",
    "read_particles",
    "write_particles",
]

PARTICLE_CLASSES = ("charged_hadron", "electron", "muon", "neutral_hadron", "photon")
PARTICLE_COLUMNS: dict[str, type] = {
    "file_index": np.int32,
    "entry": np.int64,
    "event_number": np.int64,
    "region_index": np.int32,
    "class": np.str_,
    "E": np.float32,
    "pt": np.float32,
    "eta": np.float32,
    "phi": np.float32,
    "m": np.float32,
    "track_index": np.int32,
    "existence": np.float32,
}


def empty_particles() -> dict[str, np.ndarray]:
    """A table with no rows."""
    return {
        k: np.zeros(0, dtype=(object if t is np.str_ else t)) for k, t in PARTICLE_COLUMNS.items()
    }


def _check(table: dict[str, np.ndarray], where: str) -> dict[str, np.ndarray]:
    for name in PARTICLE_COLUMNS:
        if name not in table:
            raise UserError(f"{where}: no column {name!r}" + did_you_mean(name, list(table)))
    n = {len(table[k]) for k in PARTICLE_COLUMNS}
    if len(n) > 1:
        raise UserError(f"{where}: columns of different lengths {sorted(n)}")
    out = {}
    for name, dtype in PARTICLE_COLUMNS.items():
        col = np.asarray(table[name])
        if dtype is np.str_:
            col = col.astype(str).astype(object)
            bad = sorted(set(col.tolist()) - set(PARTICLE_CLASSES))
            if bad:
                raise UserError(f"{where}: unknown class {bad[0]!r}"
                                + did_you_mean(bad[0], PARTICLE_CLASSES))  # fmt: skip
        else:
            col = col.astype(dtype)
        out[name] = col
    return out


def write_particles(
    table: dict[str, np.ndarray], path: str | os.PathLike[str], *, overwrite: bool = False
) -> Path:
    """Write ``table`` (checked and cast to :data:`PARTICLE_COLUMNS`) atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    cols = _check(table, str(path))
    arrays = {k: pa.array(v.tolist() if k == "class" else v, type=pa.string() if k == "class"
                          else None) for k, v in cols.items()}  # fmt: skip
    with atomic_output(path, overwrite=overwrite) as tmp:
        pq.write_table(pa.table(arrays), tmp, compression="zstd")
    return path


def read_particles(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """A particles table; a missing file, another format or a missing column: UserError."""
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: particles file not found")
    try:
        tab = pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's
        raise UserError(f"{path}: not a parquet particles table ({type(exc).__name__})") from None
    return _check({k: tab.column(k).to_numpy(zero_copy_only=False) for k in tab.column_names},
                  str(path))  # fmt: skip
