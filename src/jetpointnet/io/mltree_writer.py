"""Write events and cell geometry as an MLTree ROOT file (TTree with ROOT, or RNTuple).

The simulator hands over one chunk of events as columns, one per branch of
:data:`~jetpointnet.io.mltree_layout.EVENT_BRANCHES` (numpy arrays for one value per event,
awkward arrays ``var * T``, ``var * var * T``, ``var * var * var * T`` for the vector
branches), plus the calorimeter geometry; :func:`write_mltree` writes them as the trees
``EventTree`` (one entry per event) and ``CellGeo`` (one entry, per-cell vectors).

- ``fmt="ttree"``: genuine ROOT TTrees with ``vector<vector<unsigned long>>``,
  ``vector<vector<vector<int>>>``... branches, as real MLTree files have, written by ROOT
  itself (the C++ filler in :mod:`jetpointnet.io._ttree_filler`). Needs PyROOT.
- ``fmt="rntuple"``: the same trees as RNTuples, written by uproot, for installs without ROOT.

Either is read back alike through uproot's common ``arrays`` interface
(:func:`read_tree_arrays`). Values keep their units (GeV, mm, radians).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import awkward as ak
import numpy as np

from jetpointnet.errors import UserError, did_you_mean
from jetpointnet.io._ttree_filler import CPP_TYPES
from jetpointnet.io.atomic import atomic_output
from jetpointnet.io.mltree_layout import (
    CELL_GEO_BRANCHES,
    CELL_GEO_TREE,
    EVENT_BRANCHES,
    EVENT_TREE,
)

__all__ = [
    "COMPRESSION_LEVELS",
    "DEFAULT_COMPRESSION",
    "FORMATS",
    "parse_compression",
    "read_tree_arrays",
    "write_mltree",
]

FORMATS: tuple[str, ...] = ("ttree", "rntuple")

#: compression algorithm -> (ROOT algorithm number, default level). LZ4 defaults to level 1:
#: ROOT's LZ4 levels >= 4 measured ~3x slower to write for ~5% smaller files. Readers:
#: zlib needs nothing beyond Python (every uproot, every ROOT); uproot 5.3 and later read LZ4
#: and ZSTD through their ``cramjam`` dependency (LZ4 also with ``xxhash``), older uproot
#: needs ``lz4`` + ``xxhash`` (LZ4) or ``zstandard`` (ZSTD) installed on top.
COMPRESSION_LEVELS: dict[str, tuple[int, int]] = {
    "lz4": (4, 1),
    "zlib": (1, 1),
    "zstd": (5, 5),
    "lzma": (2, 7),
    "none": (0, 0),
}

#: The default: ZSTD level 1 writes 1.7x faster than zlib level 1 at the same size and
#: reads faster; every uproot that jetpointnet installs (>= 5.3) reads it, and so does ROOT
#: (>= 6.20). Older uproot needs ``pip install zstandard`` (docs/simulation.md has the
#: measurements).
DEFAULT_COMPRESSION = "zstd:1"

_TITLES = {EVENT_TREE: "MLTree events", CELL_GEO_TREE: "MLTree cell geometry"}


@dataclass(frozen=True)
class _Column:
    """One branch as flat leaf values and per-level int64 offsets (awkward's convention).

    ``depth`` 0: ``data`` holds one value per entry and ``offsets`` is empty; depth d > 0:
    ``offsets[0]`` (length entries + 1) indexes ``offsets[1]``... the last indexes ``data``.
    """

    name: str
    depth: int
    data: np.ndarray
    offsets: tuple[np.ndarray, ...]

    @property
    def entries(self) -> int:
        return len(self.offsets[0]) - 1 if self.depth else len(self.data)

    def to_awkward(self) -> ak.Array:
        layout: ak.contents.Content = ak.contents.NumpyArray(self.data)
        for off in reversed(self.offsets):
            layout = ak.contents.ListOffsetArray(ak.index.Index64(off), layout)
        return ak.Array(layout)


def _flatten(name: str, value: Any) -> tuple[np.ndarray | None, tuple[np.ndarray, ...]]:
    """Leaf values and offsets of a numpy or awkward column (regular dimensions become var).

    The leaf is None when the array holds no numbers at all and awkward could not tell
    their type (``ak.Array([[], []])``, an empty ``ak.Array([])``).
    """
    if isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype != object:
        return value, ()
    try:
        array = ak.from_regular(ak.to_packed(ak.Array(value)), axis=None)
    except (TypeError, ValueError) as err:
        raise ValueError(f"branch {name!r}: cannot be read as an array ({err})") from None
    layout = array.layout
    offsets: list[np.ndarray] = []
    while isinstance(layout, ak.contents.ListOffsetArray) and layout.parameter("__array__") is None:
        offsets.append(np.asarray(layout.offsets.data, dtype=np.int64))
        layout = layout.content
    if isinstance(layout, ak.contents.EmptyArray):
        return None, tuple(offsets)
    if not isinstance(layout, ak.contents.NumpyArray) or layout.data.ndim != 1:
        raise ValueError(
            f"branch {name!r}: cannot write type {array.type} (nested lists of numbers only: "
            "no None, records or strings)"
        )
    return np.asarray(layout.data), tuple(offsets)


def _cast(name: str, data: np.ndarray, target: np.dtype) -> np.ndarray:
    """``data`` as ``target``; ValueError for a float into an integer or an out-of-range int."""
    source = data.dtype
    if source != target:
        if target.kind in "iu" and source.kind not in "iub":
            raise ValueError(f"branch {name!r}: {source} values for an integer ({target}) branch")
        if target.kind == "b" and source.kind != "b":
            raise ValueError(f"branch {name!r}: {source} values for a boolean branch")
        if target.kind in "iu" and source.kind in "iu" and len(data):
            info = np.iinfo(target)
            low, high = int(data.min()), int(data.max())
            if low < info.min or high > info.max:
                raise ValueError(
                    f"branch {name!r}: values {low}..{high} do not fit its type {target}"
                )
    return np.ascontiguousarray(data, dtype=target)


def _column(name: str, value: Any, expected: tuple[type, int] | None) -> _Column:
    """One branch, cast to the ``expected`` (dtype, depth) when the layout has it."""
    data, offsets = _flatten(name, value)
    if data is None:  # no numbers at all: the type is the layout's (or float64), depth too
        depth = max(len(offsets), expected[1] if expected else 0)
        offsets += (np.zeros(1, dtype=np.int64),) * (depth - len(offsets))
        data = np.empty(0, dtype=expected[0] if expected else np.float64)
    if expected is None:
        target = data.dtype.newbyteorder("=")
        if target not in CPP_TYPES:
            supported = ", ".join(str(t) for t in CPP_TYPES)
            raise ValueError(f"branch {name!r}: type {target} not supported ({supported})")
    else:
        target = np.dtype(expected[0])
        if len(offsets) != expected[1]:
            raise ValueError(
                f"branch {name!r}: nesting depth {len(offsets)}, the layout says {expected[1]}"
            )
    if len(offsets) > 3:
        raise ValueError(f"branch {name!r}: nesting depth {len(offsets)} (at most 3)")
    return _Column(name, len(offsets), _cast(name, data, target), offsets)


def _event_columns(events: Mapping[str, Any]) -> tuple[int, list[_Column]]:
    if not events:
        raise ValueError("write_mltree: no event branches given")
    columns = [_column(name, value, EVENT_BRANCHES.get(name)) for name, value in events.items()]
    counts = {col.name: col.entries for col in columns}
    if len(set(counts.values())) != 1:
        raise ValueError(f"write_mltree: branches differ in their number of events: {counts}")
    return columns[0].entries, columns


def _geometry_columns(geometry: Mapping[str, Any]) -> list[_Column]:
    columns = []
    for name, value in geometry.items():
        values = np.asarray(value)
        if values.ndim != 1:
            raise ValueError(f"geometry branch {name!r}: expected a 1-d array, got {values.shape}")
        expected = (CELL_GEO_BRANCHES[name], 0) if name in CELL_GEO_BRANCHES else None
        col = _column(name, values, expected)
        whole = np.array([0, len(values)], dtype=np.int64)
        columns.append(_Column(name, 1, col.data, (whole,)))
    counts = {col.name: len(col.data) for col in columns}
    if len(set(counts.values())) > 1:
        raise ValueError(
            f"write_mltree: geometry branches differ in their number of cells: {counts}"
        )
    return columns


def parse_compression(spec: str) -> tuple[str, int]:
    """``"lz4"`` or ``"zstd:7"`` -> (algorithm, level); UserError for anything else."""
    algorithm, _, level_text = spec.strip().lower().partition(":")
    if algorithm not in COMPRESSION_LEVELS:
        raise UserError(
            f"compression {spec!r}: unknown algorithm{did_you_mean(algorithm, COMPRESSION_LEVELS)}"
            f"; choose from {', '.join(COMPRESSION_LEVELS)}, optionally ':level' (1-9)"
        )
    level = COMPRESSION_LEVELS[algorithm][1]
    if level_text:
        if not level_text.isdigit() or not 1 <= int(level_text) <= 9 or algorithm == "none":
            raise UserError(f"compression {spec!r}: the level must be 1-9 (e.g. 'zstd:5')")
        level = int(level_text)
    return algorithm, level


def write_mltree(
    path: str | os.PathLike[str],
    events: Mapping[str, ak.Array | np.ndarray],
    geometry: Mapping[str, np.ndarray],
    *,
    fmt: Literal["ttree", "rntuple"] = "ttree",
    overwrite: bool = False,
    compression: str = DEFAULT_COMPRESSION,
) -> Path:
    """Write one MLTree file: ``EventTree`` from ``events``, ``CellGeo`` from ``geometry``.

    Args:
        path: output file (``.root``); written under a temporary name and renamed when
            complete, so it never exists half-written.
        events: EventTree branches, one entry per event: a numpy array (n,) for a depth-0
            branch, an awkward array ``var * T`` / ``var * var * T`` / ``var * var * var * T``
            for depths 1-3. Names of :data:`EVENT_BRANCHES` are cast to that layout's dtype
            and must have its depth; other names keep their inferred type and depth (bool,
            int16/32/64, uint16/32/64, float32/64). Any subset of branches may be given;
            units as in the layout (GeV, mm, radians). n = 0 events is allowed: the file
            then holds an ``EventTree`` with every branch and no entries.
        geometry: CellGeo branches, 1-d arrays of one value per cell, written as one entry
            of ``vector<T>`` branches. An empty mapping writes no ``CellGeo`` tree.
        fmt: ``"ttree"`` (ROOT, needs PyROOT) or ``"rntuple"`` (uproot).
        overwrite: replace an existing ``path``; without it, ``FileExistsError``.
        compression: ``"zstd:1"`` (the default: uproot before 5.3 needs ``zstandard`` to
            read it), ``"zlib"`` (level 1: every uproot reads it), ``"lz4"`` (1: the fastest
            to write, files 35 % larger), ``"zstd"`` (5), ``"lzma"`` (7) or ``"none"``;
            ``"name:level"`` picks a level 1-9.

    Returns:
        The path written.

    The same inputs always give the same tree contents; the bytes differ from run to run
    because ROOT files record their creation time and a random UUID.

    Raises:
        ValueError: inconsistent inputs (a bug in the caller): different numbers of
            events, a wrong nesting depth, a float for an integer branch, None values.
        UserError: unknown ``fmt`` or ``compression``; ``fmt="ttree"`` without ROOT.
        FileExistsError: ``path`` exists and ``overwrite`` is false.
    """
    if fmt not in FORMATS:
        raise UserError(
            f"format {fmt!r}: unknown{did_you_mean(fmt, FORMATS)}; choose from {', '.join(FORMATS)}"
        )
    algorithm, level = parse_compression(compression)
    entries, event_columns = _event_columns(events)
    trees = [(EVENT_TREE, _TITLES[EVENT_TREE], entries, event_columns)]
    if geometry:
        trees.append((CELL_GEO_TREE, _TITLES[CELL_GEO_TREE], 1, _geometry_columns(geometry)))
    path = Path(path)
    if fmt == "ttree":
        from jetpointnet.io import _ttree_filler

        _ttree_filler.declare_filler()  # ROOT missing -> UserError before any output exists
        code = COMPRESSION_LEVELS[algorithm][0] * 100 + level
        with atomic_output(path, overwrite=overwrite) as tmp:
            _ttree_filler.write_ttrees(tmp, trees, compression=code)
    else:
        with atomic_output(path, overwrite=overwrite) as tmp:
            _write_rntuples(tmp, trees, algorithm=algorithm, level=level)
    return path


def _write_rntuples(
    path: Path,
    trees: Sequence[tuple[str, str, int, Sequence[_Column]]],
    *,
    algorithm: str,
    level: int,
) -> None:
    import uproot

    codec = {"lz4": uproot.LZ4, "zlib": uproot.ZLIB, "zstd": uproot.ZSTD, "lzma": uproot.LZMA}
    compression = codec[algorithm](level) if algorithm != "none" else None
    with uproot.recreate(path, compression=compression) as file:
        for name, _title, _entries, columns in trees:
            fields = {col.name: col.to_awkward() for col in columns}
            file[name] = ak.zip(fields, depth_limit=1)


def read_tree_arrays(
    path: str | os.PathLike[str], tree: str, branches: Sequence[str] | None = None
) -> dict[str, ak.Array]:
    """Branches of ``tree`` in ``path`` (TTree or RNTuple alike), by name, via uproot.

    A small helper for tests and validation; preprocessing has its own reader. Unknown
    tree or branch names, and a codec this uproot cannot decompress, raise
    :class:`UserError` (naming the closest names, or the package to install).
    """
    import uproot

    from jetpointnet.io.mltree_reader import missing_codec_error

    try:
        with uproot.open(path) as file:
            names = [key.split(";")[0] for key in file.keys(recursive=False)]
            if tree not in names:
                raise UserError(f"{path}: no tree {tree!r}{did_you_mean(tree, names)}")
            obj = file[tree]
            available = list(obj.keys())
            for branch in branches or ():
                if branch not in available:
                    raise UserError(
                        f"{path}: tree {tree!r} has no branch {branch!r}"
                        f"{did_you_mean(branch, available)}"
                    )
            arrays = obj.arrays(list(branches) if branches is not None else None, library="ak")
    except ImportError as exc:
        raise (missing_codec_error(path, exc) or exc) from None
    return {name: arrays[name] for name in (branches or arrays.fields)}
