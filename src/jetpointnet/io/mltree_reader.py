"""Read MLTree ROOT files (real ATLAS ones and ours) with uproot.

``CellGeo`` is read once per file (:func:`read_geometry`), ``EventTree`` in ranges of
entries (:func:`read_events`), as TTree or RNTuple alike (uproot's common ``arrays``
interface). Every problem a user can cause (a missing, empty, corrupt or truncated file,
a missing tree or branch) is raised as one :class:`~jetpointnet.errors.UserError` line
that names the file and, for a missing name, the closest existing names.

A file compressed with a codec that this install cannot decompress (LZ4 or ZSTD read by an
uproot older than 5.3 without ``lz4`` + ``xxhash`` or ``zstandard``; LZ4 by 5.3 without
``xxhash``) is one line naming the file and the package to install
(:func:`missing_codec_error`).

Units are those of the file: GeV, mm, radians. Nothing here interprets the values
(sentinels, quirks): that is ``jetpointnet.data``'s job.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import uproot
from typing_extensions import Self  # typing.Self is Python >= 3.11

from jetpointnet.errors import UserError, did_you_mean
from jetpointnet.io.mltree_layout import CELL_GEO_TREE, EVENT_TREE
from jetpointnet.io.uproot_forth import register_known_forth
from jetpointnet.io.uproot_join import read_branches

__all__ = [
    "GEOMETRY_LINKS",
    "GEOMETRY_OPTIONAL",
    "GEOMETRY_REQUIRED",
    "EventFile",
    "MLTreeInfo",
    "check_geometry",
    "file_sha256",
    "has_tree",
    "inspect_mltree",
    "missing_codec_error",
    "read_events",
    "read_geometry",
]

# the nested-vector branches' readers, known in advance: no per-file discovery (~1.3 s on
# a small JZ2 file, see jetpointnet.io.uproot_forth)
register_known_forth()

#: CellGeo branches without which cells cannot be placed.
GEOMETRY_REQUIRED = (
    "cell_geo_ID",
    "cell_geo_sampling",
    "cell_geo_eta",
    "cell_geo_phi",
    "cell_geo_rPerp",
)
#: CellGeo branches read when present (NaN-filled otherwise).
GEOMETRY_OPTIONAL = ("cell_geo_deta", "cell_geo_dphi", "cell_geo_volume", "cell_geo_sigma")
#: CellGeo neighbour links (int32 row index into the CellGeo vectors, -1 none), read
#: only on request (``read_geometry(..., links=True)``, for graph models).
GEOMETRY_LINKS = tuple(
    f"cell_geo_{d}In{a}" for a in ("Eta", "Phi", "Samp") for d in ("prev", "next")
)


#: module uproot failed to import -> (the codec that needs it, how to get it). uproot < 5.3
#: decompresses LZ4 with ``lz4`` + ``xxhash`` and ZSTD with ``zstandard``; 5.3 both with its
#: ``cramjam`` dependency, LZ4 also with ``xxhash``; later versions depend on both.
_CODEC_PACKAGES: dict[str, tuple[str, str]] = {
    "lz4": ("LZ4", "pip install lz4 xxhash (or upgrade uproot)"),
    "xxhash": ("LZ4", "pip install lz4 xxhash (or upgrade uproot)"),
    "zstandard": ("ZSTD", "pip install zstandard (or upgrade uproot)"),
    "cramjam": ("LZ4 or ZSTD", "pip install cramjam xxhash"),
}


def _missing_module(exc: BaseException) -> str | None:
    """The module that an ImportError names (itself, its cause or uproot's message)."""
    if not isinstance(exc, ImportError):
        return None
    for err in (exc, exc.__cause__, exc.__context__):
        if isinstance(err, ImportError) and err.name:
            return err.name.split(".")[0]
    match = re.search(r"'([\w.-]+)' package", str(exc))  # uproot: "install the 'lz4' package"
    return match.group(1).split(".")[0] if match else ""


def missing_codec_error(path: str | os.PathLike[str], exc: BaseException) -> UserError | None:
    """One :class:`UserError` line if ``exc`` is uproot missing a package to read ``path``.

    Names the file, the codec and what to install; None for any other exception.
    """
    module = _missing_module(exc)
    if module is None:
        return None
    version = uproot.__version__
    if not module:
        return UserError(f"{path}: uproot ({version}) lacks a package to read it: {_short(exc)}")
    codec, hint = _CODEC_PACKAGES.get(module, ("", f"pip install {module}"))
    what = f"compressed with {codec}; " if codec else ""
    return UserError(
        f"{path}: {what}this uproot ({version}) needs the {module!r} package to read it: {hint}"
    )


@dataclass(frozen=True)
class MLTreeInfo:
    """What :func:`inspect_mltree` learns from a file's directory, without reading data."""

    path: Path
    num_entries: int
    branches: tuple[str, ...]
    has_geometry: bool
    size: int  # bytes


def _open(path: str | os.PathLike[str]) -> Any:
    p = Path(path)
    if not p.exists():
        raise UserError(f"{p}: file not found")
    if p.is_dir():
        raise UserError(f"{p}: is a folder, not a ROOT file")
    if p.stat().st_size == 0:
        raise UserError(f"{p}: empty file (0 bytes)")
    try:
        return uproot.open(p)
    except MemoryError:
        raise
    except PermissionError:
        raise UserError(f"{p}: permission denied") from None
    except Exception as exc:  # noqa: BLE001 (uproot raises many types on damaged files)
        if missing := missing_codec_error(p, exc):
            raise missing from None
        raise UserError(
            f"{p}: not a readable ROOT file (corrupt or truncated?): {_short(exc)}"
        ) from None


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first[:120]}" if first else type(exc).__name__


def _tree(file: Any, path: Path, name: str) -> Any:
    try:
        keys = [k.split(";")[0] for k in file.keys(recursive=False)]
    except Exception as exc:
        if isinstance(exc, MemoryError):
            raise
        if missing := missing_codec_error(path, exc):
            raise missing from None
        raise UserError(
            f"{path}: unreadable directory (corrupt or truncated?): {_short(exc)}"
        ) from None
    if name not in keys:
        raise UserError(f"{path}: no tree '{name}'" + did_you_mean(name, keys))
    try:
        return file[name]
    except Exception as exc:
        if isinstance(exc, MemoryError):
            raise
        if missing := missing_codec_error(path, exc):
            raise missing from None
        raise UserError(
            f"{path}: tree '{name}' unreadable (corrupt or truncated?): {_short(exc)}"
        ) from None


def _branch_names(tree: Any) -> list[str]:
    return [str(k) for k in tree.keys()]  # noqa: SIM118 (iterating gives objects)


def has_tree(path: str | os.PathLike[str], name: str) -> bool:
    """True if ``path`` holds an object called ``name`` (a readable file is assumed)."""
    with _open(path) as f:
        return name in {k.split(";")[0] for k in f.keys(recursive=False)}


def inspect_mltree(
    path: str | os.PathLike[str],
    *,
    event_tree: str = EVENT_TREE,
    geometry_tree: str = CELL_GEO_TREE,
) -> MLTreeInfo:
    """Open ``path``, check that ``event_tree`` exists, return its size and branch names.

    ``has_geometry``: the file also holds ``geometry_tree``.
    """
    p = Path(path)
    with _open(p) as f:
        tree = _tree(f, p, event_tree)
        keys = {k.split(";")[0] for k in f.keys(recursive=False)}
        return MLTreeInfo(
            path=p,
            num_entries=int(tree.num_entries),
            branches=tuple(_branch_names(tree)),
            has_geometry=geometry_tree in keys,
            size=p.stat().st_size,
        )


def check_geometry(
    path: str | os.PathLike[str], *, tree: str = CELL_GEO_TREE, links: bool = False
) -> None:
    """Check that ``path`` holds ``tree`` with the geometry branches, reading no data.

    ``links``: the :data:`GEOMETRY_LINKS` branches are required too.
    """
    p = Path(path)
    with _open(p) as f:
        names = _branch_names(_tree(f, p, tree))
    _check_branches(p, tree, names, (*GEOMETRY_REQUIRED, *(GEOMETRY_LINKS if links else ())))


def _check_branches(
    path: Path, tree_name: str, available: Iterable[str], wanted: Iterable[str]
) -> None:
    avail = list(available)
    have = set(avail)
    for name in wanted:
        if name not in have:
            raise UserError(
                f"{path}: tree '{tree_name}' has no branch '{name}'" + did_you_mean(name, avail)
            )


def _arrays(tree: Any, path: Path, tree_name: str, names: Sequence[str], **kwargs: Any) -> Any:
    try:
        return read_branches(tree, list(names), **kwargs)
    except Exception as exc:
        if isinstance(exc, (MemoryError, KeyboardInterrupt)):
            raise
        if missing := missing_codec_error(path, exc):
            raise missing from None
        where = ""
        if "entry_start" in kwargs:
            where = f" entries {kwargs['entry_start']}-{kwargs['entry_stop']}"
        raise UserError(
            f"{path}: tree '{tree_name}'{where} unreadable (corrupt or truncated file?): {_short(exc)}"
        ) from None


def read_geometry(
    path: str | os.PathLike[str], *, tree: str = CELL_GEO_TREE, links: bool = False
) -> dict[str, np.ndarray]:
    """All cells of the ``CellGeo`` tree as flat numpy arrays keyed by branch name.

    The tree normally has one entry holding per-cell vectors; several entries are
    concatenated. Branches of :data:`GEOMETRY_OPTIONAL` that the file lacks are NaN.
    ``links``: also read :data:`GEOMETRY_LINKS` (then required: a UserError names the
    first one missing).
    """
    p = Path(path)
    with _open(p) as f:
        t = _tree(f, p, tree)
        names = _branch_names(t)
        required = (*GEOMETRY_REQUIRED, *GEOMETRY_LINKS) if links else GEOMETRY_REQUIRED
        _check_branches(p, tree, names, required)
        present = [*required, *(b for b in GEOMETRY_OPTIONAL if b in names)]
        arrays = _arrays(t, p, tree, present)
    out: dict[str, np.ndarray] = {}
    for name in present:
        col = arrays[name]
        if col.ndim > 1:
            col = ak.flatten(col, axis=None)
        out[name] = np.asarray(ak.to_numpy(col))
    n = len(out["cell_geo_ID"])
    if n == 0:
        raise UserError(f"{p}: tree '{tree}' holds no cells")
    for name in GEOMETRY_OPTIONAL:
        if name not in out:
            out[name] = np.full(n, np.nan, dtype=np.float32)
    return out


class EventFile:
    """One MLTree file's event tree, open until :meth:`close` (or the end of a ``with``).

    Opening a TTree (deserialising its branch list) costs ~0.1 s: a reader of many
    chunks of one file keeps one :class:`EventFile` for all of them.
    """

    def __init__(self, path: str | os.PathLike[str], *, event_tree: str = EVENT_TREE) -> None:
        self.path = Path(path)
        self.event_tree = event_tree
        self._file = _open(self.path)
        try:
            self._tree = _tree(self._file, self.path, event_tree)
            self.branches = _branch_names(self._tree)
        except BaseException:
            self._file.close()
            raise

    def read(
        self,
        branches: Sequence[str],
        *,
        entry_start: int,
        entry_stop: int,
        optional: Sequence[str] = (),
    ) -> dict[str, ak.Array]:
        """Branches for entries ``[entry_start, entry_stop)`` (see :func:`read_events`)."""
        _check_branches(self.path, self.event_tree, self.branches, branches)
        have = set(self.branches)
        wanted = list(dict.fromkeys([*branches, *(b for b in optional if b in have)]))
        arrays = _arrays(self._tree, self.path, self.event_tree, wanted,
                         entry_start=entry_start, entry_stop=entry_stop)  # fmt: skip
        return {name: arrays[name] for name in wanted}

    @property
    def closed(self) -> bool:
        return bool(self._file.closed)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_events(
    path: str | os.PathLike[str],
    branches: Sequence[str],
    *,
    entry_start: int,
    entry_stop: int,
    optional: Sequence[str] = (),
    event_tree: str = EVENT_TREE,
) -> dict[str, ak.Array]:
    """Branches of ``event_tree`` for entries ``[entry_start, entry_stop)`` as awkward arrays.

    A missing branch of ``branches`` is an error naming the closest existing ones; a
    missing branch of ``optional`` is simply absent from the result. Opens and closes
    the file; use an :class:`EventFile` to read many ranges of one file.
    """
    with EventFile(path, event_tree=event_tree) as f:
        return f.read(branches, entry_start=entry_start, entry_stop=entry_stop, optional=optional)


def file_sha256(path: str | os.PathLike[str], *, block: int = 1 << 22) -> str:
    """Hex SHA-256 of a file's bytes (recorded in metadata.json for provenance)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            h.update(chunk)
    return h.hexdigest()
