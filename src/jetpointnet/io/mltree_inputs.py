"""The front door for MLTree inputs: expand and check them, then read them chunk by chunk.

Every stage that reads MLTree ROOT files (``preprocess``, ``predict``, ``jets``) comes in
here:

1. :func:`check_inputs` expands the glob patterns and checks, before any work, every
   file (missing, a folder, empty, not ROOT, no event tree or a missing branch) and its
   geometry (no ``CellGeo`` tree and no ``--geometry`` file, missing geometry branches):
   one :class:`~jetpointnet.errors.UserError` line each, naming the file. The tree names
   are the caller's configuration (``event_tree``, ``geometry_tree``), never hard-coded.
   The result, :class:`MLTreeInputs`, plans the work (:meth:`MLTreeInputs.chunks`:
   ``(file, entry range)`` :class:`Chunk` s).
2. A :class:`ChunkReader` (a context manager) reads those chunks: the chunk's events and
   its geometry, built by the caller's ``build_geometry`` (e.g. a ``CellTable``) from the
   ``CellGeo`` arrays. It keeps the last event file open and the last geometry built,
   since consecutive chunks usually come from the same files; both are closed and dropped
   when the ``with`` block ends, also when a chunk fails.

Units are those of the files: GeV, mm, radians.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import awkward as ak
import numpy as np
from typing_extensions import Self  # typing.Self is Python >= 3.11

from jetpointnet.errors import UserError, did_you_mean
from jetpointnet.io.mltree_layout import CELL_GEO_TREE, EVENT_TREE
from jetpointnet.io.mltree_reader import (
    EventFile,
    MLTreeInfo,
    check_geometry,
    inspect_mltree,
    read_geometry,
)

__all__ = [
    "Chunk",
    "ChunkReader",
    "EventChunk",
    "MLTreeInputs",
    "check_files",
    "check_inputs",
    "expand_inputs",
    "plan_chunks",
]

G = TypeVar("G")


def expand_inputs(patterns: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Files matching the glob patterns, sorted, each resolved once (none: a UserError)."""
    out: list[Path] = []
    for pat in patterns:
        hits = sorted(glob.glob(os.path.expanduser(str(pat))))
        if not hits:
            raise UserError(f"--input {str(pat)!r}: no file matches")
        out += [Path(h).resolve() for h in hits]
    return list(dict.fromkeys(out))


@dataclass(frozen=True)
class Chunk:
    """One work unit: entries ``[start, stop)`` of one input file and its geometry file."""

    file_index: int
    path: str
    geometry: str
    start: int
    stop: int
    name: str  # output name: <stem>_<index:05d>


def plan_chunks(
    inputs: Sequence[Path],
    entries: Sequence[int],
    geometries: Sequence[Path],
    *,
    events_per_chunk: int,
) -> list[Chunk]:
    """Chunks of every input; output names are unique even when file stems repeat."""
    if events_per_chunk < 1:
        raise UserError(f"events_per_chunk must be >= 1, got {events_per_chunk}")
    stems: dict[str, int] = {}
    chunks = []
    for i, (path, n, geo) in enumerate(zip(inputs, entries, geometries, strict=True)):
        stem = path.stem
        if stem in stems:
            stem = f"{stem}-{i}"
        stems[stem] = i
        for k, start in enumerate(range(0, n, events_per_chunk)):
            stop = min(start + events_per_chunk, n)
            chunks.append(Chunk(i, str(path), str(geo), start, stop, f"{stem}_{k:05d}"))
    return chunks


@dataclass(frozen=True)
class MLTreeInputs:
    """Checked MLTree inputs: the files (sorted), what their directories say, the trees.

    ``geometry``: the ``--geometry`` file, or None when every input holds its own
    ``geometry_tree``.
    """

    paths: tuple[Path, ...]
    infos: tuple[MLTreeInfo, ...]
    geometry: Path | None
    event_tree: str
    geometry_tree: str

    @property
    def geometries(self) -> list[Path]:
        """Per input, the file whose ``geometry_tree`` places its cells."""
        return [self.geometry or p for p in self.paths]

    @property
    def entries(self) -> list[int]:
        """Per input, the number of events."""
        return [i.num_entries for i in self.infos]

    def chunks(self, events_per_chunk: int) -> list[Chunk]:
        """The inputs cut into chunks of ``events_per_chunk`` events."""
        return plan_chunks(
            self.paths, self.entries, self.geometries, events_per_chunk=events_per_chunk
        )

    def reader(
        self, *, build_geometry: Callable[[dict[str, np.ndarray]], G], links: bool = False
    ) -> ChunkReader[G]:
        """A :class:`ChunkReader` of these inputs' trees."""
        return ChunkReader(
            event_tree=self.event_tree,
            geometry_tree=self.geometry_tree,
            build_geometry=build_geometry,
            links=links,
        )


def check_inputs(
    patterns: Sequence[str | os.PathLike[str]],
    *,
    branches: Iterable[str] = (),
    geometry: str | os.PathLike[str] | None = None,
    event_tree: str = EVENT_TREE,
    geometry_tree: str = CELL_GEO_TREE,
    links: bool = False,
) -> MLTreeInputs:
    """Expand ``patterns`` and check every file before any work (one line per problem).

    ``branches``: the event-tree branches every input must have. ``geometry``: a file
    holding ``geometry_tree`` for inputs that lack it. ``links``: the geometry must
    also have the CellGeo neighbour links. Reads directories and branch lists only.
    """
    return check_files(expand_inputs(patterns), branches=branches, geometry=geometry,
                       event_tree=event_tree, geometry_tree=geometry_tree, links=links)  # fmt: skip


def check_files(
    paths: Sequence[Path],
    *,
    branches: Iterable[str] = (),
    geometry: str | os.PathLike[str] | None = None,
    event_tree: str = EVENT_TREE,
    geometry_tree: str = CELL_GEO_TREE,
    links: bool = False,
) -> MLTreeInputs:
    """:func:`check_inputs` of already expanded files (:func:`expand_inputs`)."""
    wanted = list(branches)
    geo = Path(geometry).resolve() if geometry is not None else None
    infos = []
    for p in paths:
        info = inspect_mltree(p, event_tree=event_tree, geometry_tree=geometry_tree)
        for name in wanted:
            if name not in info.branches:
                raise UserError(
                    f"{info.path}: tree '{event_tree}' has no branch '{name}'"
                    + did_you_mean(name, info.branches)
                )
        if geo is None and not info.has_geometry:
            raise UserError(f"{info.path}: no tree '{geometry_tree}' (pass --geometry GEO.root)")
        infos.append(info)
    for g in dict.fromkeys([geo] if geo is not None else paths):
        check_geometry(g, tree=geometry_tree, links=links)
    return MLTreeInputs(
        paths=tuple(paths),
        infos=tuple(infos),
        geometry=geo,
        event_tree=event_tree,
        geometry_tree=geometry_tree,
    )


@dataclass(frozen=True)
class EventChunk(Generic[G]):
    """A chunk, its events (branch name -> awkward array) and its built geometry."""

    chunk: Chunk
    events: dict[str, ak.Array]
    geometry: G


class ChunkReader(Generic[G]):
    """Reads chunks' events and geometry; owns at most one open file and one geometry.

    Use it as a context manager (``with inputs.reader(...) as r``): the file is closed
    and the geometry dropped at the end of the block, whatever happens inside.
    ``build_geometry`` turns the ``CellGeo`` arrays (:func:`read_geometry`) into what
    the caller works with; ``links``: read the neighbour links too.
    """

    def __init__(
        self,
        *,
        event_tree: str = EVENT_TREE,
        geometry_tree: str = CELL_GEO_TREE,
        build_geometry: Callable[[dict[str, np.ndarray]], G],
        links: bool = False,
    ) -> None:
        self.event_tree = event_tree
        self.geometry_tree = geometry_tree
        self.links = links
        self._build = build_geometry
        self._file: EventFile | None = None
        self._geometry: tuple[str, G] | None = None
        self.opened = 0  # event files opened (each file once while chunks stay in it)

    def events(
        self, chunk: Chunk, branches: Sequence[str], *, optional: Sequence[str] = ()
    ) -> dict[str, ak.Array]:
        """The chunk's entries of ``branches`` (required) and ``optional``."""
        if self._file is None or str(self._file.path) != str(chunk.path):
            self._close_file()
            self._file = EventFile(chunk.path, event_tree=self.event_tree)
            self.opened += 1
        return self._file.read(
            branches, entry_start=chunk.start, entry_stop=chunk.stop, optional=optional
        )

    def geometry(self, path: str | os.PathLike[str]) -> G:
        """The built geometry of ``path`` (kept until another file's is asked for)."""
        key = str(path)
        if self._geometry is None or self._geometry[0] != key:
            self._geometry = None  # one geometry at a time keeps memory bounded
            arrays = read_geometry(key, tree=self.geometry_tree, links=self.links)
            self._geometry = (key, self._build(arrays))
        return self._geometry[1]

    def read(
        self, chunks: Iterable[Chunk], branches: Sequence[str], *, optional: Sequence[str] = ()
    ) -> Iterator[EventChunk[G]]:
        """Each chunk with its events and geometry, in order."""
        for c in chunks:
            geo = self.geometry(c.geometry)
            yield EventChunk(c, self.events(c, branches, optional=optional), geo)

    @property
    def is_open(self) -> bool:
        """True while an event file is open or a geometry is held."""
        return self._file is not None or self._geometry is not None

    def _close_file(self) -> None:
        if self._file is not None:
            f, self._file = self._file, None
            f.close()

    def close(self) -> None:
        """Close the open file and drop the geometry."""
        self._geometry = None
        self._close_file()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
