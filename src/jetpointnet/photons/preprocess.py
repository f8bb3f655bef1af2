"""``jetpointnet preprocess --kind photon``: MLTree files of each class -> photon objects.

The folder rules of ``--kind jet`` (:mod:`jetpointnet.tagging.preprocess`), through the
same helpers (:mod:`jetpointnet.data.class_folder`):

* stage 1, per (file, event range) chunk: the kept objects of its events (:mod:`.build`),
  split by event, in ``DIR/samples/{split}/<name>.npz``, then the marker
  ``DIR/samples/_chunks/<name>.json`` (counts, cut flow, truncation, input fingerprints);
  a re-run skips chunks with a marker, refuses changed inputs (or redoes them with
  ``overwrite``) and refuses another configuration (``run.json``);
* stage 2: per split, every object with weight 1 (no kinematic reweighting: both classes
  come from the same generator settings), shuffled with the seed, in
  ``DIR/arrays/{split}/photons_<k:05d>.npz`` of ``photons_per_file`` objects;
* ``DIR/metadata.json`` last (``"kind": "photon"``, ``contracts/photon.md`` B).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from jetpointnet import __version__
from jetpointnet.config import to_dict
from jetpointnet.data.class_folder import (
    class_sources,
    in_locked_folder,
    load_split,
    plan_class_chunks,
    read_record,
    reset_stale_arrays,
    write_chunk_splits,
    write_shuffled_split,
)
from jetpointnet.data.geometry import CellTable
from jetpointnet.data.pipeline import PreprocessResult, group_tasks, run_parallel
from jetpointnet.data.schema import METADATA_FILE
from jetpointnet.data.splits import SPLITS
from jetpointnet.errors import UserError
from jetpointnet.io.mltree_inputs import Chunk, ChunkReader, check_files
from jetpointnet.io.sample_files import write_json
from jetpointnet.photons.build import CUTFLOW, OBSERVERS, build_chunk_photons
from jetpointnet.photons.candidates import CLUSTER_BRANCHES
from jetpointnet.photons.cells import CELL_FEATURES
from jetpointnet.photons.config import PhotonPrepConfig, validate_photon_config
from jetpointnet.photons.graph import NODE_FEATURES
from jetpointnet.photons.layers import IMAGE_LAYERS
from jetpointnet.photons.truth import TRUTH_BRANCHES, TRUTH_BRANCHES_OPTIONAL

__all__ = ["PHOTON_BRANCHES", "photon_chunks", "preprocess_photons"]

#: EventTree branches read (the parent branches when there: :mod:`.truth`).
PHOTON_BRANCHES = ("eventNumber", *CLUSTER_BRANCHES, *TRUTH_BRANCHES)
CLOUD_ARRAYS = ("image", "node_x", "node_mask", "edges", "edge_mask")


def preprocess_photons(
    out: str | os.PathLike[str], *, config: PhotonPrepConfig, geometry=None, workers: int = 1,
    progress: bool = True, overwrite: bool = False,
) -> PreprocessResult:  # fmt: skip
    """Run both stages on ``config.inputs`` into ``out`` (resumes; see the module doc)."""
    validate_photon_config(config)
    run = lambda cfg, paths, classes, outp, geo: _run(cfg, paths, classes, outp, geo, workers,
                                                      progress, overwrite)  # fmt: skip
    return in_locked_folder(out, config, geometry, run)


def _run(cfg, paths, classes, outp, geo, workers, progress, overwrite) -> PreprocessResult:
    source = check_files(paths, branches=list(PHOTON_BRANCHES), geometry=geo,
                         event_tree=cfg.event_tree, geometry_tree=cfg.geometry_tree)  # fmt: skip
    plan = plan_class_chunks(outp, cfg, paths, geo, source, overwrite=overwrite)
    todo = plan.todo
    result = PreprocessResult(out=outp, chunks_run=len(todo),
                              chunks_skipped=len(plan.chunks) - len(todo))  # fmt: skip
    groups = group_tasks(todo, lambda c: (c.path, c.geometry), workers=workers)
    tasks = [(g, cfg, str(outp), [plan.sources[c.name] for c in g], classes) for g in groups]
    opts = {"workers": workers, "executor": "local", "scheduler": None, "progress": progress}
    for _ in run_parallel(photon_chunks, tasks, total=len(todo), desc="photons", **opts):
        pass
    records = [read_record(plan.markers / f"{c.name}.json") for c in plan.chunks]
    meta = _stage2(outp, cfg, records)
    meta.update(class_sources(source.infos, classes, records), config=to_dict(cfg))
    write_json(outp / METADATA_FILE, meta)
    result.metadata = meta
    return result


def photon_chunks(chunks: Sequence[Chunk], cfg: PhotonPrepConfig, out: str,
                  sources: Sequence[dict], classes: list[str]) -> list[dict[str, Any]]:  # fmt: skip
    """Stage 1 of consecutive chunks (one worker task), one open file and geometry."""
    reader = ChunkReader(event_tree=cfg.event_tree, geometry_tree=cfg.geometry_tree,
                         build_geometry=CellTable.from_geometry)  # fmt: skip
    out_recs = []
    with reader:
        for chunk, src in zip(chunks, sources, strict=True):
            table = reader.geometry(chunk.geometry)
            events = reader.events(chunk, PHOTON_BRANCHES, optional=TRUTH_BRANCHES_OPTIONAL)
            name = classes[chunk.file_index]
            got = build_chunk_photons(events, table, chunk, config=cfg,
                                      class_index=cfg.classes.index(name))  # fmt: skip
            rec = {"class": name, "cutflow": got.cutflow, "truncation": got.truncation,
                   "sources": src}  # fmt: skip
            out_recs.append(write_chunk_splits(
                Path(out), chunk, got.arrays, event_numbers=events["eventNumber"],
                split=cfg.split, compress=cfg.compress, record=rec, noun="photons"))  # fmt: skip
    return out_recs


def _stage2(out: Path, cfg: PhotonPrepConfig, records: list[dict]) -> dict:
    """Weights, shuffling and the arrays files; returns the metadata (no sources yet)."""
    state_path, state = reset_stale_arrays(out, records)
    counts: dict[str, Any] = {}
    for k, split in enumerate(SPLITS):
        data = load_split(out, records, split)
        if split == "train" and not data:
            raise UserError(f"{out}: no photon object was kept in the training split")
        if data:
            data["weight"] = np.ones(len(data["y_cloud"]), np.float32)
        counts[split] = write_shuffled_split(
            out, split, k, data, classes=cfg.classes, per_file=cfg.photons_per_file,
            prefix="photons", seed=cfg.seed, compress=cfg.compress, noun="photons")  # fmt: skip
        counts[split]["events"] = sum(r["events"][split] for r in records)
    write_json(state_path, state)
    cutflow = {c: dict.fromkeys(CUTFLOW, 0) for c in cfg.classes}
    trunc = {"cells": 0, "nodes": 0, "edges": 0}
    for r in records:
        for name, v in r["cutflow"].items():
            cutflow[r["class"]][name] += v
        for name, v in r["truncation"].items():
            trunc[name] += v
    g = cfg.graph
    return {
        "package_version": __version__, "kind": "photon", "layout": "padded",
        "classes": list(cfg.classes), "features": list(CELL_FEATURES), "length": cfg.length,
        "observers": list(OBSERVERS), "cloud_arrays": list(CLOUD_ARRAYS),
        "image_layers": list(IMAGE_LAYERS), "image_pixel": list(cfg.image.pixel),
        "node_features": list(NODE_FEATURES), "max_nodes": g.max_nodes, "max_edges": g.max_edges,
        "edge_same_layer_dr": g.same_layer_dr, "edge_next_layer_dr": g.next_layer_dr,
        "object": cfg.object, "lxy_threshold_mm": cfg.lxy_threshold_mm, "match_dr": cfg.match_dr,
        "counts": counts, "cutflow": cutflow, "truncation": trunc,
    }  # fmt: skip
