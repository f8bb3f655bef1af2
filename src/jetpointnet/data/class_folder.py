"""Folders of per-object samples labelled by input class (``preprocess --kind jet|photon``).

The pieces that the class-labelled preprocesses share (:mod:`jetpointnet.tagging.preprocess`,
:mod:`jetpointnet.photons.preprocess`):

* the inputs: ``CLASS=GLOB`` items, each class's files, each file's class and sha256;
* stage 1: one chunk's objects split by event (:func:`~jetpointnet.data.splits.assign_splits`
  of (seed, file name, eventNumber)), one ``DIR/samples/{split}/<chunk>.npz`` per split,
  then the chunk's marker ``DIR/samples/_chunks/<chunk>.json`` (its record);
* stage 2: per split, every stage-1 object shuffled with the seed into
  ``DIR/arrays/{split}/<prefix>_<k:05d>.npz`` of ``per_file`` objects (classes mixed in
  every file); ``arrays/_state.json`` names the stage-1 records they come from.

Every file is written under a temporary name and renamed (:mod:`jetpointnet.io.sample_files`).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from jetpointnet.config import to_dict
from jetpointnet.data.pipeline import output_name
from jetpointnet.data.resume import check_run_folder, chunk_sources, drop_changed
from jetpointnet.data.splits import SPLITS, assign_splits
from jetpointnet.errors import UserError, did_you_mean
from jetpointnet.io.atomic import remove_stale_partials
from jetpointnet.io.fingerprint import fingerprint
from jetpointnet.io.lock import output_lock
from jetpointnet.io.mltree_inputs import Chunk, MLTreeInputs, expand_inputs
from jetpointnet.io.mltree_reader import file_sha256
from jetpointnet.io.paths import refuse_overlap
from jetpointnet.io.sample_files import read_json, read_npz, write_json, write_npz

__all__ = [
    "ChunkPlan",
    "class_files",
    "class_sources",
    "in_locked_folder",
    "load_split",
    "parse_class_inputs",
    "plan_class_chunks",
    "read_record",
    "reset_stale_arrays",
    "write_chunk_splits",
    "write_shuffled_split",
]

_STATE = "_state.json"


def parse_class_inputs(items: Sequence[str], classes: Sequence[str], *,
                       example: str = "wz='w/*.root'") -> dict[str, list[str]]:  # fmt: skip
    """``CLASS=GLOB`` command-line inputs as class -> globs (one line on a bad item)."""
    out: dict[str, list[str]] = {}
    for item in items:
        name, sep, pattern = item.partition("=")
        if not sep or not pattern:
            raise UserError(
                f"--input {item!r}: an input of this kind is CLASS=GLOB, e.g. {example}"
            )
        if name not in classes:
            raise UserError(
                f"--input {item!r}: unknown class {name!r}; classes: {', '.join(classes)}"
                + did_you_mean(name, classes)
            )
        out.setdefault(name, []).append(pattern)
    return out


def class_files(inputs: Mapping[str, Sequence[str]], classes: Sequence[str]
                ) -> tuple[list[Path], list[str]]:  # fmt: skip
    """Files of every class (class order, then sorted), and each file's class."""
    paths: list[Path] = []
    cls: list[str] = []
    for name in classes:
        for p in expand_inputs(inputs.get(name, [])) if inputs.get(name) else []:
            if p in paths:
                raise UserError(f"{p}: given for two classes ({cls[paths.index(p)]}, {name})")
            paths.append(p)
            cls.append(name)
    return paths, cls


def in_locked_folder(out: str | os.PathLike[str], config: Any, geometry: Any,
                     run: Callable[..., Any]) -> Any:  # fmt: skip
    """``run(config, paths, classes, out, geometry)`` on the class inputs of ``config``,
    with ``out`` resolved, refused when it overlaps an input, and locked."""
    paths, classes = class_files(config.inputs, config.classes)
    outp = Path(out).resolve()
    geo = Path(geometry).resolve() if geometry is not None else None
    refuse_overlap([*paths, geo], out)
    with output_lock(outp, "preprocess"):
        return run(config, paths, classes, outp, geo)


@dataclass
class ChunkPlan:
    """The chunks of a run, their input fingerprints (by chunk name), those still to do."""

    chunks: list[Chunk]
    sources: dict[str, dict]
    todo: list[Chunk]
    markers: Path


def plan_class_chunks(out: Path, config: Any, paths: list[Path], geometry: Path | None,
                      source: MLTreeInputs, *, overwrite: bool) -> ChunkPlan:  # fmt: skip
    """Refuse another configuration (``run.json``), clear partial files, refuse (or with
    ``overwrite`` forget) finished chunks of changed inputs; the chunks without a marker."""
    record = {"config": to_dict(config), "inputs": [str(p) for p in paths],
              "geometry": str(geometry) if geometry else None}  # fmt: skip
    check_run_folder(out, record)
    remove_stale_partials(out, recursive=True, locked=True)
    chunks = source.chunks(config.events_per_chunk)
    prints = {str(p): fingerprint(p) for p in dict.fromkeys([*paths, *source.geometries])}
    sources = {c.name: chunk_sources(c, prints) for c in chunks}
    drop_changed(out, chunks, sources, overwrite=overwrite)
    markers = out / "samples" / "_chunks"
    todo = [c for c in chunks if not (markers / f"{c.name}.json").exists()]
    return ChunkPlan(chunks=chunks, sources=sources, todo=todo, markers=markers)


def read_record(path: Path) -> dict[str, Any]:
    """A JSON object this module wrote (a chunk marker or the arrays state)."""
    raw = read_json(path)
    if not isinstance(raw, dict):
        raise UserError(f"{path}: not a JSON object; remove or replace it")
    return raw


def write_chunk_splits(
    out: Path, chunk: Chunk, arrays: Mapping[str, np.ndarray], *, event_numbers: np.ndarray,
    split: Any, compress: bool, record: dict[str, Any], noun: str,
) -> dict[str, Any]:  # fmt: skip
    """Stage 1 of one chunk: ``arrays`` (one row per object, ``entry`` = file entry) split
    by event and written per split, then the marker (``record`` plus files and counts of
    ``noun`` objects and of events per split)."""
    ev_split = assign_splits(np.asarray(event_numbers, np.int64), seed=split.seed,
                             file_key=Path(chunk.path).name,
                             fractions=(split.train, split.val, split.test))  # fmt: skip
    obj_split = ev_split[np.asarray(arrays["entry"], np.int64) - chunk.start]
    rec = {**record, "name": chunk.name, "file_index": chunk.file_index, "files": {},
           noun: {}, "events": {}}  # fmt: skip
    for k, name in enumerate(SPLITS):
        sel = obj_split == k
        rec[noun][name] = int(sel.sum())
        rec["events"][name] = int((ev_split == k).sum())
        if sel.any():
            path = output_name(out, "samples", name, chunk.name, ".npz")
            write_npz(path, {a: v[sel] for a, v in arrays.items()}, compress=compress,
                      overwrite=True)  # fmt: skip
            rec["files"][name] = path.name
    if chunk.start == 0:
        rec["sha256"] = file_sha256(chunk.path)
    write_json(out / "samples" / "_chunks" / f"{chunk.name}.json", rec)
    return rec


def load_split(out: Path, records: list[dict], split: str) -> dict[str, np.ndarray]:
    """Every stage-1 array of ``split``, concatenated in record order ({} when none)."""
    parts = [read_npz(out / "samples" / split / r["files"][split])
             for r in records if split in r["files"]]  # fmt: skip
    if not parts:
        return {}
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def reset_stale_arrays(out: Path, records: list[dict]) -> tuple[Path, dict[str, str]]:
    """Remove the stage-2 files made from other stage-1 records; returns the state file
    and the content to write there once stage 2 is done."""
    state = hashlib.sha256(json.dumps(records, sort_keys=True).encode()).hexdigest()
    path = out / "arrays" / _STATE
    if path.exists() and read_record(path).get("stage1") != state:
        for f in (out / "arrays").glob("*/*.npz"):
            f.unlink()  # made from other stage-1 files
        path.unlink()
    return path, {"stage1": state}


def write_shuffled_split(
    out: Path, split: str, k: int, data: dict[str, np.ndarray], *, classes: Sequence[str],
    per_file: int, prefix: str, seed: int, compress: bool, noun: str,
) -> dict[str, Any]:  # fmt: skip
    """Shuffled stage-2 files of one split (index ``k``); its counts (``noun`` objects, per
    class, files, bytes). A file already there is kept (same bytes: resume)."""
    n = len(data.get("y_cloud", []))
    c: dict[str, Any] = {noun: n, "per_class": dict.fromkeys(classes, 0), "files": 0, "bytes": 0}
    if n == 0:
        return c
    order = np.random.default_rng([seed, k]).permutation(n)
    for i, name in enumerate(classes):
        c["per_class"][name] = int((data["y_cloud"] == i).sum())
    for f, start in enumerate(range(0, n, per_file)):
        rows = order[start : start + per_file]
        path = output_name(out, "arrays", split, f"{prefix}_{f:05d}", ".npz")
        if not path.exists():
            write_npz(path, {a: v[rows] for a, v in data.items()}, compress=compress,
                      overwrite=True)  # fmt: skip
        c["files"] += 1
        c["bytes"] += path.stat().st_size
    return c


def class_sources(infos, classes: list[str], records: list[dict]) -> dict[str, Any]:
    """The metadata's ``inputs`` and ``sources`` (path, size, entries, class, sha256)."""
    src = [{"path": str(i.path), "size": i.size, "entries": i.num_entries, "class": classes[k],
            "sha256": next((r.get("sha256") for r in records
                            if r["file_index"] == k and "sha256" in r), None)}
           for k, i in enumerate(infos)]  # fmt: skip
    return {"inputs": [s["path"] for s in src], "sources": src, "has_truth": True}
