"""The ``preprocess`` library call: inputs -> stage-1 samples -> stage-2 arrays.

See :mod:`jetpointnet.data.pipeline` for the file layout, resume rules and
``metadata.json``; :mod:`jetpointnet.data.samples` and :mod:`jetpointnet.data.arrays`
for the contents.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from jetpointnet import __version__
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
    Chunk,
    Executor,
    PreprocessResult,
    config_record,
    length_from_counts,
    output_name,
    plan_chunks,
    run_parallel,
)
from jetpointnet.data.radius import make_radius
from jetpointnet.data.resume import check_run_folder, chunk_sources, drop_changed
from jetpointnet.data.samples import (
    DROP_REASONS,
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
from jetpointnet.io.mltree_reader import (
    file_sha256,
    inspect_mltree,
    read_events,
    read_geometry,
)
from jetpointnet.io.paths import refuse_overlap
from jetpointnet.io.sample_files import (
    read_json,
    read_parquet,
    read_parquet_columns,
    write_json,
    write_npz,
    write_parquet,
)

__all__ = ["expand_inputs", "preprocess", "validate_config"]

Stage = Literal["all", "samples", "arrays"]


def expand_inputs(patterns: Sequence[str]) -> list[Path]:
    """Files matching the glob patterns, sorted, each resolved once."""
    out: list[Path] = []
    for pat in patterns:
        hits = sorted(glob.glob(os.path.expanduser(pat)))
        if not hits:
            raise UserError(f"--input {pat!r}: no file matches")
        out += [Path(h).resolve() for h in hits]
    return list(dict.fromkeys(out))


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

_TABLES: dict[tuple[str, str], CellTable] = {}


def _table(path: str, tree: str) -> CellTable:
    key = (path, tree)
    if key not in _TABLES:
        _TABLES.clear()  # one geometry per worker at a time keeps memory bounded
        _TABLES[key] = CellTable.from_geometry(read_geometry(path, tree=tree))
    return _TABLES[key]


def samples_chunk(
    chunk: Chunk, config: PreprocessConfig, out: str, sources: dict | None = None
) -> dict[str, Any]:
    """Stage 1 of one chunk: read, build samples, split by event, write; returns counts.

    ``sources``: the fingerprints of the chunk's input and geometry files, recorded in its
    marker so that a resumed run reuses the chunk only while they are unchanged.
    """
    outp = Path(out)
    table = _table(chunk.geometry, config.geometry_tree)
    events = read_events(
        chunk.path,
        EVENT_BRANCHES_REQUIRED,
        optional=EVENT_BRANCHES_OPTIONAL,
        entry_start=chunk.start,
        entry_stop=chunk.stop,
        event_tree=config.event_tree,
    )
    samples, drops = build_samples(
        events,
        table,
        selection=config.selection,
        radius=make_radius(config.radius),
        entry_start=chunk.start,
        file_index=chunk.file_index,
        source=chunk.path,
    )
    event_numbers = np.asarray(events["eventNumber"], dtype=np.int64)
    s = config.split
    ev_split = assign_splits(
        event_numbers,
        seed=s.seed,
        file_key=Path(chunk.path).name,
        fractions=(s.train, s.val, s.test),
    )
    sample_split = ev_split[np.asarray(samples.entry, dtype=np.int64) - chunk.start]
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
        part = samples[sample_split == k]
        record["samples"][split] = len(part)
        record["events"][split] = int((ev_split == k).sum())
        if len(part):
            path = output_name(outp, "samples", split, chunk.name, ".parquet")
            write_parquet(part, path, overwrite=True)
            record["files"][split] = path.name
    if chunk.start == 0:
        record["sha256"] = file_sha256(chunk.path)
    write_json(outp / "samples" / "_chunks" / f"{chunk.name}.json", record)
    return record


# ------------------------------------------------------------------- stage 2 (worker)


_LINKS: dict[tuple[str, str], NeighbourTable] = {}


def _links(path: str, tree: str) -> NeighbourTable:
    key = (path, tree)
    if key not in _LINKS:
        _LINKS.clear()
        _LINKS[key] = NeighbourTable.from_geometry(read_geometry(path, tree=tree, links=True))
    return _LINKS[key]


def arrays_chunk(
    src: str, dst: str, config: PreprocessConfig, length: int, geometry: str | None = None
) -> dict[str, Any]:
    """Stage 2 of one stage-1 file; returns truncation statistics and counts.

    ``geometry``: the file holding the CellGeo tree, read (links only) when
    ``arrays.extra`` asks for ``neighbours``.
    """
    samples = read_parquet(src, columns=STAGE2_COLUMNS)
    table = None
    if "neighbours" in config.arrays.extra and geometry is not None:
        table = _links(geometry, config.geometry_tree)
    arrays, stats = build_arrays(samples, config=config.arrays, length=length, neighbours=table)
    write_npz(dst, arrays, compress=config.arrays.compress, overwrite=True)
    stats["samples"] = len(arrays["n_points"])
    stats["points"] = int(arrays["n_points"].sum())
    stats["dst"] = dst
    return stats


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
    paths = expand_inputs([str(p) for p in inputs])
    outp = Path(out).resolve()
    geo = Path(geometry).resolve() if geometry is not None else None
    refuse_overlap([*paths, geo], out)
    with output_lock(outp, "preprocess"):
        return _preprocess(
            paths, outp, geo, config, stage, workers, executor, scheduler, progress, overwrite
        )


def _preprocess(
    paths: list[Path],
    outp: Path,
    geo: Path | None,
    config: PreprocessConfig,
    stage: Stage,
    workers: int,
    executor: Executor,
    scheduler: str | None,
    progress: bool,
    overwrite: bool,
) -> PreprocessResult:
    infos = [inspect_mltree(p, event_tree=config.event_tree) for p in paths]
    for info in infos:
        missing = [b for b in EVENT_BRANCHES_REQUIRED if b not in info.branches]
        if missing:
            raise UserError(
                f"{info.path}: tree '{config.event_tree}' has no branch '{missing[0]}'"
                + did_you_mean(missing[0], info.branches)
            )
        if geo is None and not info.has_geometry:
            raise UserError(
                f"{info.path}: no tree '{config.geometry_tree}' (pass --geometry GEO.root)"
            )
    links = "neighbours" in config.arrays.extra
    for g in [geo] if geo is not None else (paths if links else []):
        read_geometry(g, tree=config.geometry_tree, links=links)  # fail early, one line
    check_run_folder(outp, config_record(config, paths, geo))
    remove_stale_partials(outp, recursive=True, locked=True)
    geos = [geo or p for p in paths]
    chunks = plan_chunks(
        paths, [i.num_entries for i in infos], geos, events_per_chunk=config.events_per_chunk
    )
    result = PreprocessResult(out=outp)
    opts = {"workers": workers, "executor": executor, "scheduler": scheduler, "progress": progress}
    marker_dir = outp / "samples" / "_chunks"
    prints = {str(p): fingerprint(p) for p in dict.fromkeys([*paths, *geos])}
    sources = {c.name: chunk_sources(c, prints) for c in chunks}
    drop_changed(outp, chunks, sources, overwrite=overwrite)
    if stage in ("all", "samples"):
        todo = [c for c in chunks if not (marker_dir / f"{c.name}.json").exists()]
        result.chunks_skipped += len(chunks) - len(todo)
        result.chunks_run += len(todo)
        tasks = [(c, config, str(outp), sources[c.name]) for c in todo]
        for _ in run_parallel(samples_chunk, tasks, desc="samples", **opts):
            pass
    records = []
    for c in chunks:
        marker = marker_dir / f"{c.name}.json"
        if not marker.exists():
            raise UserError(f"{outp}: stage 1 not finished for {c.name} (run --stage samples)")
        records.append(read_json(marker))
    meta: dict[str, Any] = {}
    if stage in ("all", "arrays"):
        meta = _stage2(outp, config, records, opts, result, [str(g) for g in geos])
        meta["sources"] = [
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
            for k, i in enumerate(infos)
        ]
        meta["has_truth"] = any(s["has_truth"] for s in meta["sources"])
        meta["config"] = to_dict(config)
        write_json(outp / METADATA_FILE, meta)
    result.metadata = meta
    return result


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
        cols = read_parquet_columns(path, ["n_points", "n_cells"])
        lengths.append(cols["n_points"][cols["n_cells"] >= acfg.min_cells])
    n_points = np.concatenate(lengths) if lengths else np.zeros(0, np.int64)
    quantile = acfg.length_quantile if acfg.truncate else 1.0
    length = length_from_counts(n_points, quantile=quantile, fixed=acfg.max_length)

    tasks, done = [], []
    for r in records:
        for split, fname in sorted(r["files"].items()):
            src = out / "samples" / split / fname
            dst = output_name(out, "arrays", split, Path(fname).stem, ".npz")
            task = (str(src), str(dst), config, length, geos[r["file_index"]])
            (done if dst.exists() else tasks).append(task)
    result.chunks_run += len(tasks)
    result.chunks_skipped += len(done)
    for _ in run_parallel(arrays_chunk, tasks, desc="arrays", **opts):
        pass
    return _metadata(out, config, records, length)


def _metadata(
    out: Path, config: PreprocessConfig, records: list[dict], length: int
) -> dict[str, Any]:
    """metadata.json from the chunk markers and the stage-1 lengths (resume-independent)."""
    acfg = config.arrays
    drops = {reason: 0 for reason in DROP_REASONS}
    counts = {
        s: {"samples": 0, "points": 0, "events": 0, "files": 0, "bytes": 0, "stage1_samples": 0}
        for s in SPLITS
    }
    trunc = {"samples_truncated": 0, "points_dropped": 0, "too_few_cells": 0}
    for r in records:
        for k, v in r["drops"].items():
            drops[k] = drops.get(k, 0) + v
        for s in SPLITS:
            counts[s]["events"] += r["events"][s]
            counts[s]["stage1_samples"] += r["samples"][s]
        for split, fname in r["files"].items():
            cols = read_parquet_columns(out / "samples" / split / fname, ["n_points", "n_cells"])
            ok = cols["n_cells"] >= acfg.min_cells
            n = cols["n_points"][ok].astype(np.int64)
            trunc["too_few_cells"] += int((~ok).sum())
            trunc["samples_truncated"] += int((n > length).sum())
            trunc["points_dropped"] += int(np.maximum(n - length, 0).sum())
            c = counts[split]
            c["samples"] += len(n)
            c["points"] += int(np.minimum(n, length).sum())
            c["files"] += 1
            c["bytes"] += output_name(out, "arrays", split, Path(fname).stem, ".npz").stat().st_size
    return {
        "package_version": __version__,
        "layout": acfg.layout,
        "features": list(acfg.features),
        "extra": list(acfg.extra),
        "scaling": {k: to_dict(v) for k, v in acfg.scaling.items() if k in acfg.features},
        "length": length,
        "length_quantile": (
            acfg.length_quantile if acfg.max_length is None and acfg.truncate else None
        ),
        "counts": counts,
        "drops": drops,
        "truncation": trunc,
        "radius": to_dict(config.radius),
    }
