"""``jetpointnet preprocess --kind event``: MLTree files -> event-level samples (npz).

One stage: each (file, event range) chunk
(:meth:`~jetpointnet.io.mltree_inputs.MLTreeInputs.chunks`) becomes
``DIR/arrays/{split}/<name>.npz`` for each split that received samples (events split by
:func:`~jetpointnet.data.splits.assign_splits`, as the per-track samples), then
its marker ``DIR/samples/_chunks/<name>.json``; a chunk with a marker is skipped on a
re-run, a changed input is refused (or redone with ``overwrite``), another configuration
is refused (``run.json``), the folder is locked, every file is written atomically and
``metadata.json`` comes last. Arrays: :mod:`jetpointnet.data.event_samples`; targets:
:mod:`jetpointnet.data.event_targets`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from jetpointnet import __version__
from jetpointnet.config import to_dict
from jetpointnet.data.config import SplitConfig
from jetpointnet.data.event_inputs import (
    EVENT_KIND_OPTIONAL,
    EVENT_KIND_REQUIRED,
    event_truth_available,
    event_view,
)
from jetpointnet.data.event_samples import (
    CELL_FEATURES,
    TRACK_FEATURES,
    RegionConfig,
    SampleArrays,
    event_samples,
)
from jetpointnet.data.event_targets import CLASSES, RULES, event_targets
from jetpointnet.data.geometry import CellTable
from jetpointnet.data.pipeline import (
    PreprocessResult,
    config_record,
    group_tasks,
    output_name,
    run_parallel,
)
from jetpointnet.data.resume import check_run_folder, chunk_sources, drop_changed
from jetpointnet.data.schema import METADATA_FILE
from jetpointnet.data.splits import SPLITS, assign_splits, split_fractions
from jetpointnet.errors import UserError, did_you_mean
from jetpointnet.io.atomic import remove_stale_partials
from jetpointnet.io.fingerprint import fingerprint
from jetpointnet.io.lock import output_lock
from jetpointnet.io.mltree_inputs import Chunk, ChunkReader, check_inputs
from jetpointnet.io.paths import refuse_overlap
from jetpointnet.io.sample_files import read_json_object, write_json, write_npz

__all__ = ["EventPreprocessConfig", "preprocess_events"]


@dataclass
class EventPreprocessConfig:
    """Options of ``preprocess --kind event`` (configs/data/event.yaml)."""

    events_per_chunk: int = 20
    event_tree: str = "EventTree"
    geometry_tree: str = "CellGeo"
    max_cells: int = 2048  # Lc
    max_tracks: int = 64  # Lt
    max_neutral: int = 64  # Kt
    compress: bool = True
    region: RegionConfig = field(default_factory=RegionConfig)
    split: SplitConfig = field(default_factory=SplitConfig)


def _validate(cfg: EventPreprocessConfig) -> None:
    for key in ("events_per_chunk", "max_cells", "max_tracks", "max_neutral"):
        if getattr(cfg, key) < 1:
            raise UserError(f"{key} must be >= 1, got {getattr(cfg, key)}")
    if cfg.region.mode not in ("event", "region"):
        raise UserError(f"region.mode: unknown {cfg.region.mode!r}"
                        + did_you_mean(cfg.region.mode, ("event", "region"))
                        + "; choose event or region")  # fmt: skip
    if not (cfg.region.deta > 0 and 0 < cfg.region.dphi <= 2 * np.pi):
        raise UserError("region.deta and region.dphi must be positive (dphi <= 2 pi)")
    if not 0 <= cfg.region.halo <= 1.0:
        raise UserError(f"region.halo must be between 0 and 1 (radians), got {cfg.region.halo}")
    try:
        split_fractions(cfg.split.train, cfg.split.val, cfg.split.test)
    except ValueError as exc:
        raise UserError(f"split: {exc}") from None


def _chunks(chunks: Sequence[Chunk], cfg: EventPreprocessConfig, out: str,
            sources: Sequence[dict]) -> list[dict[str, Any]]:  # fmt: skip
    """:func:`_chunk` of consecutive chunks (one worker task), one open file and geometry."""
    reader = ChunkReader(event_tree=cfg.event_tree, geometry_tree=cfg.geometry_tree,
                         build_geometry=CellTable.from_geometry)  # fmt: skip
    with reader:
        return [_chunk(c, cfg, out, src, reader=reader)
                for c, src in zip(chunks, sources, strict=True)]  # fmt: skip


def _chunk(chunk: Chunk, cfg: EventPreprocessConfig, out: str, sources: dict, *,
           reader: ChunkReader[CellTable]) -> dict[str, Any]:  # fmt: skip
    """Samples of one chunk, one npz per split, then its marker; returns the marker."""
    outp = Path(out)
    table = reader.geometry(chunk.geometry)
    events = reader.events(chunk, EVENT_KIND_REQUIRED, optional=EVENT_KIND_OPTIONAL)
    numbers = np.asarray(events["eventNumber"], np.int64)
    s = cfg.split
    ev_split = assign_splits(numbers, seed=s.seed, file_key=Path(chunk.path).name,
                             fractions=(s.train, s.val, s.test))  # fmt: skip
    per_split = [SampleArrays(cfg.max_cells, cfg.max_tracks, cfg.max_neutral) for _ in SPLITS]
    for i in range(len(numbers)):
        view = event_view(events, i, table, source=chunk.path)
        tg = event_targets(view.target_input)
        links: dict[str, int | float] = {"file_index": chunk.file_index, "entry": chunk.start + i,
                 "event_number": int(numbers[i])}  # fmt: skip
        event_samples(view, tg, table, per_split[ev_split[i]], regions=cfg.region, links=links)
    record: dict[str, Any] = {"name": chunk.name, "file_index": chunk.file_index, "files": {},
                              "samples": {}, "events": {}, "sources": sources,
                              "truth": event_truth_available(events),
                              "truncation": {}}  # fmt: skip
    for k, split in enumerate(SPLITS):
        arrays = per_split[k]
        n = len(arrays.rows.get("entry", []))
        record["samples"][split] = n
        record["events"][split] = int((ev_split == k).sum())
        for key, v in arrays.truncation.items():
            record["truncation"][key] = record["truncation"].get(key, 0) + v
        if n:
            path = output_name(outp, "arrays", split, chunk.name, ".npz")
            write_npz(path, arrays.stack(), compress=cfg.compress, overwrite=True)
            record["files"][split] = path.name
    write_json(outp / "samples" / "_chunks" / f"{chunk.name}.json", record)
    return record


def preprocess_events(
    inputs: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    config: EventPreprocessConfig,
    geometry: str | os.PathLike[str] | None = None,
    workers: int = 1,
    progress: bool = True,
    overwrite: bool = False,
) -> PreprocessResult:
    """Event-level samples of ``inputs`` (globs) into ``out``; resumable (module docstring)."""
    _validate(config)
    source = check_inputs([str(p) for p in inputs], branches=EVENT_KIND_REQUIRED,
                          geometry=geometry, event_tree=config.event_tree,
                          geometry_tree=config.geometry_tree)  # fmt: skip
    paths, geo, geos = list(source.paths), source.geometry, source.geometries
    outp = Path(out).resolve()
    refuse_overlap([*paths, geo], out)
    with output_lock(outp, "preprocess"):
        record = config_record(config, paths, geo)  # type: ignore[arg-type]
        record["kind"] = "event"
        check_run_folder(outp, record)
        remove_stale_partials(outp, recursive=True, locked=True)
        chunks = source.chunks(config.events_per_chunk)
        prints = {str(p): fingerprint(p) for p in dict.fromkeys([*paths, *geos])}
        sources = {c.name: chunk_sources(c, prints) for c in chunks}
        drop_changed(outp, chunks, sources, overwrite=overwrite)
        markers = outp / "samples" / "_chunks"
        todo = [c for c in chunks if not (markers / f"{c.name}.json").exists()]
        groups = group_tasks(todo, lambda c: (c.path, c.geometry), workers=workers)
        tasks = [(g, config, str(outp), [sources[c.name] for c in g]) for g in groups]
        for _ in run_parallel(_chunks, tasks, total=len(todo), workers=workers, executor="local",
                              scheduler=None, progress=progress, desc="events"):  # fmt: skip
            pass
        records = [read_json_object(markers / f"{c.name}.json") for c in chunks]
        meta = _metadata(config, records, source.infos)
        write_json(outp / METADATA_FILE, meta)
        return PreprocessResult(out=outp, metadata=meta, chunks_run=len(todo),
                                chunks_skipped=len(chunks) - len(todo))  # fmt: skip


def _metadata(cfg: EventPreprocessConfig, records: list[dict], infos) -> dict[str, Any]:
    counts = {s: {"samples": 0, "events": 0, "files": 0} for s in SPLITS}
    trunc: dict[str, int] = {}
    for r in records:
        for s in SPLITS:
            counts[s]["samples"] += r["samples"][s]
            counts[s]["events"] += r["events"][s]
            counts[s]["files"] += int(s in r["files"])
        for k, v in r["truncation"].items():
            trunc[k] = trunc.get(k, 0) + v
    truth = {k: all(r["truth"][k] for r in records) if records else False
             for k in ("truth", "visible", "parents")}  # fmt: skip
    return {
        "package_version": __version__,
        "kind": "event",
        "layout": "padded",
        "cell_features": list(CELL_FEATURES),
        "track_features": list(TRACK_FEATURES),
        "classes": list(CLASSES),
        "n_cells": cfg.max_cells,
        "n_tracks": cfg.max_tracks,
        "n_neutral": cfg.max_neutral,
        "region": to_dict(cfg.region),
        "rules": {**RULES, "region": "one sample per event" if cfg.region.mode == "event" else
                  f"eta-phi tiles {cfg.region.deta} x {cfg.region.dphi}: cells by centre, "
                  "tracks by perigee direction, neutrals where their largest deposit is"},
        "truth": truth,
        "has_truth": truth["truth"],
        "counts": counts,
        "truncation": trunc,
        "sources": [{"path": str(i.path), "size": i.size, "entries": i.num_entries}
                    for i in infos],
        "config": to_dict(cfg),
    }  # fmt: skip
