"""The ``preprocess`` library call: inputs -> stage-1 samples -> stage-2 arrays.

See :mod:`jetpointnet.data.pipeline` for the file layout, resume rules and
``metadata.json``; :mod:`jetpointnet.data.samples` and :mod:`jetpointnet.data.arrays`
for the contents.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from jetpointnet.config import to_dict
from jetpointnet.data.arrays import STAGE2_COLUMNS, build_arrays
from jetpointnet.data.config import (
    ALL_FEATURES,
    EXTRA_ARRAYS,
    PreprocessConfig,
    refuse_truth_features,
)
from jetpointnet.data.extras import NeighbourTable
from jetpointnet.data.geometry import CellTable
from jetpointnet.data.pipeline import (
    Executor,
    PreprocessResult,
    config_record,
    group_tasks,
    in_local_pool,
    length_from_counts,
    metadata_record,
    output_name,
    run_parallel,
)
from jetpointnet.data.radius import make_radius
from jetpointnet.data.resume import check_run_folder, chunk_sources, drop_changed
from jetpointnet.data.samples import (
    EVENT_BRANCHES_OPTIONAL,
    EVENT_BRANCHES_REQUIRED,
    build_samples,
    has_truth,
)
from jetpointnet.data.schema import METADATA_FILE
from jetpointnet.data.splits import SPLITS, assign_splits, split_fractions
from jetpointnet.errors import UserError, did_you_mean
from jetpointnet.io.atomic import remove_stale_partials
from jetpointnet.io.fingerprint import fingerprint
from jetpointnet.io.lock import output_lock
from jetpointnet.io.mltree_inputs import Chunk, ChunkReader, MLTreeInputs, check_inputs
from jetpointnet.io.mltree_reader import file_sha256
from jetpointnet.io.paths import refuse_overlap
from jetpointnet.io.prep_folder import STAGES
from jetpointnet.io.sample_files import (
    read_json_object,
    read_sample_columns,
    read_samples,
    write_json,
    write_npz,
    write_samples,
)

__all__ = ["preprocess", "validate_config"]

Stage = Literal["all", "samples", "arrays"]


def validate_config(config: PreprocessConfig) -> None:
    """Reject values that cannot work, naming the key."""
    refuse_truth_features(config.arrays.features, where="arrays.features")
    refuse_truth_features(config.arrays.extra, where="arrays.extra")
    for name in config.arrays.features:
        if name not in ALL_FEATURES:
            raise UserError(
                f"arrays.features: unknown feature {name!r}" + did_you_mean(name, ALL_FEATURES)
            )
    for name in config.arrays.scaling:
        if name not in ALL_FEATURES:
            raise UserError(
                f"arrays.scaling: unknown feature {name!r}" + did_you_mean(name, ALL_FEATURES)
            )
    for name in config.arrays.extra:
        if name not in EXTRA_ARRAYS:
            raise UserError(
                f"arrays.extra: unknown array {name!r}" + did_you_mean(name, EXTRA_ARRAYS)
            )
    s = config.split
    try:
        split_fractions(s.train, s.val, s.test)
    except ValueError as exc:
        raise UserError(f"split: {exc}") from None
    if not config.arrays.truncate and config.arrays.max_length is not None:
        raise UserError("arrays.truncate is false (no point cap): arrays.max_length must be null")
    if config.selection.min_cells < 0 or config.arrays.min_cells < 0:
        raise UserError("selection.min_cells and arrays.min_cells must be >= 0")
    if not 0 < config.arrays.length_quantile <= 1:
        raise UserError("arrays.length_quantile must be in (0, 1]")
    if config.radius.mode == "fixed" and not 0 < config.radius.fixed < 1.5:
        raise UserError(f"radius.fixed must be in (0, 1.5), got {config.radius.fixed}")
    if config.radius.mode == "adaptive" and config.radius.params is None:
        raise UserError("radius.mode 'adaptive' needs radius.params (a --measure-radius JSON)")


# ------------------------------------------------------------------- stage 1 (worker)


def samples_chunks(
    chunks: Sequence[Chunk], config: PreprocessConfig, out: str, sources: Sequence[dict | None]
) -> list[dict[str, Any]]:
    """Stage 1 of consecutive chunks (one worker task), one open file and geometry for all.

    ``sources``: per chunk, the fingerprints of its input and geometry files, recorded in
    its marker so that a resumed run reuses the chunk only while they are unchanged.
    """
    reader, kept = _stage1_reader(config)
    try:
        return [
            samples_chunk(c, config, out, src, reader=reader)
            for c, src in zip(chunks, sources, strict=True)
        ]
    except BaseException:
        kept = False
        _KEPT_READERS.clear()
        raise
    finally:
        if not kept:
            reader.close()


_KEPT_READERS: dict[tuple[str, str], ChunkReader[CellTable]] = {}


def _stage1_reader(config: PreprocessConfig) -> tuple[ChunkReader[CellTable], bool]:
    """A stage-1 reader and whether it is kept after the task: in a local pool worker
    (:func:`~jetpointnet.data.pipeline.in_local_pool`) one reader per process keeps its
    file and geometry from task to task; elsewhere each task has its own."""
    key = (config.event_tree, config.geometry_tree)
    if in_local_pool() and key in _KEPT_READERS:
        return _KEPT_READERS[key], True
    reader = ChunkReader(event_tree=config.event_tree, geometry_tree=config.geometry_tree,
                         build_geometry=CellTable.from_geometry)  # fmt: skip
    if in_local_pool():
        _KEPT_READERS[key] = reader
        return reader, True
    return reader, False


def samples_chunk(
    chunk: Chunk,
    config: PreprocessConfig,
    out: str,
    sources: dict | None = None,
    *,
    reader: ChunkReader[CellTable],
) -> dict[str, Any]:
    """Stage 1 of one chunk: read, build samples, split by event, write; returns counts."""
    outp = Path(out)
    table = reader.geometry(chunk.geometry)
    events = reader.events(chunk, EVENT_BRANCHES_REQUIRED, optional=EVENT_BRANCHES_OPTIONAL)
    event_numbers = np.asarray(events["eventNumber"], dtype=np.int64)
    s = config.split
    ev_split = assign_splits(
        event_numbers,
        seed=s.seed,
        file_key=Path(chunk.path).name,
        fractions=(s.train, s.val, s.test),
    )
    # grouped by split, each split a contiguous slice (a masked selection costs ~50 ms per
    # chunk of copying when it is written)
    samples, drops = build_samples(
        events,
        table,
        selection=config.selection,
        radius=make_radius(config.radius),
        entry_start=chunk.start,
        file_index=chunk.file_index,
        source=chunk.path,
        group=ev_split,
    )
    sample_split = ev_split[np.asarray(samples.entry, dtype=np.int64) - chunk.start]
    bounds = np.searchsorted(sample_split, np.arange(len(SPLITS) + 1), side="left")
    record: dict[str, Any] = {
        "name": chunk.name,
        "file_index": chunk.file_index,
        "drops": drops,
        "files": {},
        "samples": {},
        "events": {},
        "sources": sources,
    }
    for k, split in enumerate(SPLITS):
        part = samples[bounds[k] : bounds[k + 1]]
        record["samples"][split] = len(part)
        record["events"][split] = int((ev_split == k).sum())
        if len(part):
            path = output_name(outp, "samples", split, chunk.name, STAGES["samples"][0])
            write_samples(part, path, overwrite=True)
            record["files"][split] = path.name
    if chunk.start == 0:
        record["sha256"] = file_sha256(chunk.path)
    write_json(outp / "samples" / "_chunks" / f"{chunk.name}.json", record)
    return record


# ------------------------------------------------------------------- stage 2 (worker)


def arrays_chunks(
    items: Sequence[tuple[str, str]], config: PreprocessConfig, length: int, geometry: str | None
) -> list[dict[str, Any]]:
    """Stage 2 of stage-1 files ``(src, dst)`` that share ``geometry`` (one worker task).

    ``geometry``: the file holding the CellGeo tree, read once (links only) when
    ``arrays.extra`` asks for ``neighbours``.
    """
    reader = ChunkReader(geometry_tree=config.geometry_tree, links=True,
                         build_geometry=NeighbourTable.from_geometry)  # fmt: skip
    with reader:
        table = None
        if "neighbours" in config.arrays.extra and geometry is not None:
            table = reader.geometry(geometry)
        return [arrays_chunk(src, dst, config, length, table) for src, dst in items]


def arrays_chunk(
    src: str, dst: str, config: PreprocessConfig, length: int, table: NeighbourTable | None
) -> dict[str, Any]:
    """Stage 2 of one stage-1 file; returns truncation statistics and counts.

    ``table``: the CellGeo links, when ``arrays.extra`` asks for ``neighbours``.
    """
    samples = read_samples(src, columns=STAGE2_COLUMNS)
    arrays, stats = build_arrays(samples, config=config.arrays, length=length, neighbours=table)
    write_npz(dst, arrays, compress=config.arrays.compress, overwrite=True)
    n_points = arrays["n_points"]
    return {**stats, "samples": len(n_points), "points": int(n_points.sum()), "dst": dst}


# ------------------------------------------------------------------- orchestration


def preprocess(
    inputs: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    config: PreprocessConfig,
    geometry: str | os.PathLike[str] | None = None,
    workers: int = 1,
    executor: Executor = "local",
    scheduler: str | None = None,
    stage: Stage = "all",
    progress: bool = True,
    overwrite: bool = False,
) -> PreprocessResult:
    """Run stage 1 and/or stage 2 on MLTree files (glob patterns allowed) into ``out``.

    Re-running with the same arguments resumes: a finished chunk is skipped when its input
    and geometry files are unchanged (size, mtime and content fingerprint recorded with
    the chunk); a changed input is refused (one line), or its chunks are redone with
    ``overwrite``. A folder made with another configuration or other inputs is refused.
    The folder is locked for the job (:mod:`jetpointnet.io.lock`).
    """
    validate_config(config)
    inputs_ = check_inputs(
        [str(p) for p in inputs],
        branches=EVENT_BRANCHES_REQUIRED,
        geometry=geometry,
        event_tree=config.event_tree,
        geometry_tree=config.geometry_tree,
        links="neighbours" in config.arrays.extra,
    )
    outp = Path(out).resolve()
    refuse_overlap([*inputs_.paths, inputs_.geometry], out)
    with output_lock(outp, "preprocess"):
        return _preprocess(
            inputs_, outp, config, stage, workers, executor, scheduler, progress, overwrite
        )


def _preprocess(
    inputs: MLTreeInputs,
    outp: Path,
    config: PreprocessConfig,
    stage: Stage,
    workers: int,
    executor: Executor,
    scheduler: str | None,
    progress: bool,
    overwrite: bool,
) -> PreprocessResult:
    paths, geos = list(inputs.paths), inputs.geometries
    check_run_folder(outp, config_record(config, paths, inputs.geometry))
    remove_stale_partials(outp, recursive=True, locked=True)
    chunks = inputs.chunks(config.events_per_chunk)
    result = PreprocessResult(out=outp)
    opts = {"workers": workers, "executor": executor, "scheduler": scheduler, "progress": progress}
    prints = {str(p): fingerprint(p) for p in dict.fromkeys([*paths, *geos])}
    sources = {c.name: chunk_sources(c, prints) for c in chunks}
    drop_changed(outp, chunks, sources, overwrite=overwrite)
    if stage in ("all", "samples"):
        _stage1(outp, config, chunks, sources, opts, result)
    records = []
    for c in chunks:
        marker = outp / "samples" / "_chunks" / f"{c.name}.json"
        if not marker.exists():
            raise UserError(f"{outp}: stage 1 not finished for {c.name} (run --stage samples)")
        records.append(read_json_object(marker))
    meta: dict[str, Any] = {}
    if stage in ("all", "arrays"):
        meta = _stage2(outp, config, records, opts, result, [str(g) for g in geos])
        meta["sources"] = _sources(inputs, records)
        meta["has_truth"] = any(s["has_truth"] for s in meta["sources"])
        meta["config"] = to_dict(config)
        write_json(outp / METADATA_FILE, meta)
    result.metadata = meta
    return result


def _stage1(
    out: Path,
    config: PreprocessConfig,
    chunks: list[Chunk],
    sources: dict[str, dict],
    opts: dict,
    result: PreprocessResult,
) -> None:
    """Run :func:`samples_chunk` on every chunk without a marker."""
    marker_dir = out / "samples" / "_chunks"
    todo = [c for c in chunks if not (marker_dir / f"{c.name}.json").exists()]
    result.chunks_skipped += len(chunks) - len(todo)
    result.chunks_run += len(todo)
    groups = group_tasks(todo, lambda c: (c.path, c.geometry), workers=opts["workers"])
    tasks = [(g, config, str(out), [sources[c.name] for c in g]) for g in groups]
    for _ in run_parallel(samples_chunks, tasks, total=len(todo), desc="samples", **opts):
        pass


def _sources(inputs: MLTreeInputs, records: list[dict]) -> list[dict[str, Any]]:
    """metadata.json's ``sources``: per input its path, size, entries, SHA-256 and truth."""
    return [
        {
            "path": str(i.path),
            "size": i.size,
            "entries": i.num_entries,
            "sha256": next(
                (r.get("sha256") for r in records if r["file_index"] == k and "sha256" in r),
                None,
            ),
            "has_truth": has_truth(i.branches),
        }
        for k, i in enumerate(inputs.infos)
    ]


def _stage2(
    out: Path,
    config: PreprocessConfig,
    records: list[dict],
    opts: dict,
    result: PreprocessResult,
    geos: list[str],
) -> dict[str, Any]:
    acfg = config.arrays
    train = [
        out / "samples" / "train" / r["files"]["train"] for r in records if "train" in r["files"]
    ]
    if not train or not acfg.truncate:  # no cap: L from every split (nothing is cut)
        train = [out / "samples" / s / r["files"][s] for r in records for s in r["files"]]
    lengths = []
    for path in train:
        cols = read_sample_columns(path, ["n_points", "n_cells"])
        lengths.append(cols["n_points"][cols["n_cells"] >= acfg.min_cells])
    n_points = np.concatenate(lengths) if lengths else np.zeros(0, np.int64)
    quantile = acfg.length_quantile if acfg.truncate else 1.0
    length = length_from_counts(n_points, quantile=quantile, fixed=acfg.max_length)

    todo: list[tuple[str, str, str]] = []
    done: list[tuple[str, str, str]] = []
    for r in records:
        for split, fname in sorted(r["files"].items()):
            src = out / "samples" / split / fname
            dst = output_name(out, "arrays", split, Path(fname).stem, ".npz")
            item = (str(src), str(dst), geos[r["file_index"]])
            (done if dst.exists() else todo).append(item)
    result.chunks_run += len(todo)
    result.chunks_skipped += len(done)
    groups = group_tasks(todo, lambda item: item[2], workers=opts["workers"])
    tasks = [([(a, b) for a, b, _ in g], config, length, g[0][2]) for g in groups]
    for _ in run_parallel(arrays_chunks, tasks, total=len(todo), desc="arrays", **opts):
        pass
    return metadata_record(out, config, records, length)
