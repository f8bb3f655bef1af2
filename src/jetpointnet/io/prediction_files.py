"""Streamed, atomic writers for flat per-cell prediction tables (``jetpointnet predict``).

A table is a dict of equal-length 1-D numpy arrays (one row per cell of a sample). A
writer is opened once with the column names and dtypes, receives the rows chunk by
chunk (:meth:`PredictionWriter.write`) and only on :meth:`PredictionWriter.close`
renames its temporary file to the final name: an interrupted run leaves no file under
the final name. Formats, chosen by the suffix of the output path:

- ``.parquet``: one row group per chunk (pyarrow ``ParquetWriter``; read back with
  ``ak.from_parquet`` or pandas);
- ``.root``: a TTree (``root_format="ttree"``, default) or an RNTuple
  (``root_format="rntuple"``) named ``tree_name``, extended chunk by chunk with uproot.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import numpy as np
from typing_extensions import Self  # typing.Self is Python >= 3.11

from jetpointnet.errors import UserError

__all__ = ["FORMATS", "PredictionWriter", "output_format", "read_predictions"]

#: Output suffix -> format name.
FORMATS = {".parquet": "parquet", ".root": "root"}

RootFormat = Literal["ttree", "rntuple"]


def output_format(path: str | os.PathLike[str]) -> str:
    """``parquet`` or ``root`` from the suffix of ``path`` (anything else: UserError)."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise UserError(f"{path}: unknown output format '{suffix}' (use .parquet or .root)")
    return FORMATS[suffix]


class PredictionWriter:
    """Write a flat table to ``path`` chunk by chunk; the final name appears on ``close``.

    ``dtypes``: column name -> numpy dtype (the columns every chunk must hold).
    ``overwrite``: replace an existing ``path`` (otherwise refused before any work).
    Use as a context manager: an exception inside removes the temporary file.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        dtypes: Mapping[str, np.dtype],
        *,
        overwrite: bool = False,
        tree_name: str = "predictions",
        root_format: RootFormat = "ttree",
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        self.path = Path(path)
        self.format = output_format(self.path)
        if self.path.exists() and not overwrite:
            raise FileExistsError(f"{self.path}: exists (pass --overwrite to replace it)")
        if root_format not in ("ttree", "rntuple"):
            raise UserError(f"root_format must be 'ttree' or 'rntuple', got {root_format!r}")
        self.dtypes = {k: np.dtype(v) for k, v in dtypes.items()}
        self.rows = 0
        self._tmp = self.path.with_name(f"{self.path.stem}.partial-{os.getpid()}{self.path.suffix}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._closed = False
        if self.format == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            fields = [pa.field(k, pa.from_numpy_dtype(v)) for k, v in self.dtypes.items()]
            schema = pa.schema(fields, metadata={k: str(v) for k, v in (metadata or {}).items()})
            self._schema = schema
            self._writer: Any = pq.ParquetWriter(self._tmp, schema, compression="zstd")
        else:
            import uproot

            self._file = uproot.recreate(self._tmp)
            if root_format == "ttree":
                self._writer = self._file.mktree(tree_name, dict(self.dtypes))
            else:
                self._writer = self._file.mkrntuple(tree_name, dict(self.dtypes))
            self._root_format = root_format

    def write(self, columns: Mapping[str, np.ndarray]) -> None:
        """Append the rows of ``columns`` (the writer's columns, equal lengths)."""
        if set(columns) != set(self.dtypes):
            raise ValueError(f"columns {sorted(columns)} != {sorted(self.dtypes)}")
        cols = {k: np.ascontiguousarray(columns[k], dtype=v) for k, v in self.dtypes.items()}
        n = {len(c) for c in cols.values()}
        if len(n) > 1:
            raise ValueError(f"columns of unequal lengths {sorted(n)}")
        rows = n.pop() if n else 0
        if rows == 0:
            return
        if self.format == "parquet":
            import pyarrow as pa

            self._writer.write_table(pa.Table.from_pydict(cols, schema=self._schema))
        elif self._root_format == "ttree":
            self._writer.extend(cols)
        else:
            import awkward as ak

            self._writer.extend(ak.Array(cols))
        self.rows += rows

    def close(self) -> Path:
        """Finish the file and rename it to its final name; returns that path."""
        if self._closed:
            return self.path
        try:
            if self.format == "parquet":
                self._writer.close()
            else:
                self._file.close()
            os.replace(self._tmp, self.path)
        except BaseException:
            self.abort()  # a failed close (no space, read-only) leaves no partial behind
            raise
        self._closed = True
        return self.path

    def abort(self) -> None:
        """Drop the temporary file (the final name is left untouched)."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            (self._writer if self.format == "parquet" else self._file).close()
        with contextlib.suppress(FileNotFoundError):
            self._tmp.unlink()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def read_predictions(path: str | os.PathLike[str], *, tree_name: str = "predictions") -> dict:
    """A prediction file (either format) back as a dict of numpy arrays."""
    fmt = output_format(path)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        return {name: table.column(name).to_numpy() for name in table.column_names}
    import awkward as ak
    import uproot

    with uproot.open(path) as f:
        arrays = f[tree_name].arrays()
        return {name: np.asarray(ak.to_numpy(arrays[name])) for name in arrays.fields}
