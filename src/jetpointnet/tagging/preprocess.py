"""``jetpointnet preprocess --kind jet``: MLTree files of each class -> jet point clouds.

Same folder rules as the per-track preprocess (:mod:`jetpointnet.data.pipeline`):

* stage 1, per (file, event range) chunk: the selected jets of its events
  (:mod:`.build`), split by event (:func:`jetpointnet.data.splits.assign_splits`), in
  ``DIR/samples/{split}/<name>.npz``, then the marker ``DIR/samples/_chunks/<name>.json``
  (its counts and cut flow, the fingerprints of its input files); a chunk with a marker
  is done and a re-run skips it, while a changed input is refused (or redone with
  ``overwrite``), and another configuration or other inputs are refused (``run.json``).
* stage 2: per split, every stage-1 jet, with its weight (background pT reweighted to the
  signal's, histograms of the training split: :mod:`.weights`), shuffled with the seed
  so that classes mix in every file, in ``DIR/arrays/{split}/jets_<k:05d>.npz`` of
  ``jets_per_file`` jets (the contract ``contracts/jet.md``); ``arrays/_state.json``
  records which stage-1 markers they come from (other markers: stage 2 is redone).
* ``DIR/metadata.json`` last (``"kind": "jet"``). Every file is written under a temporary
  name and renamed; its bytes depend only on the inputs and the configuration.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jetpointnet import __version__
from jetpointnet.config import to_dict
from jetpointnet.data.class_folder import (
    class_sources,
    in_locked_folder,
    load_split,
    parse_class_inputs,
    plan_class_chunks,
    read_record,
    reset_stale_arrays,
    write_chunk_splits,
    write_shuffled_split,
)
from jetpointnet.data.geometry import CellTable
from jetpointnet.data.pipeline import PreprocessResult, group_tasks, run_parallel
from jetpointnet.data.samples import EVENT_BRANCHES_OPTIONAL, EVENT_BRANCHES_REQUIRED
from jetpointnet.data.schema import METADATA_FILE
from jetpointnet.data.splits import SPLITS
from jetpointnet.errors import UserError
from jetpointnet.io.mltree_inputs import (
    Chunk,
    ChunkReader,
    MLTreeInputs,
    check_files,
)
from jetpointnet.io.sample_files import write_json
from jetpointnet.jets.events import JET_BRANCHES_OPTIONAL, JET_BRANCHES_REQUIRED
from jetpointnet.jets.predictions import LivePredictions, RunPredictions, cached_predictions
from jetpointnet.tagging.build import CUTFLOW, build_chunk_jets
from jetpointnet.tagging.config import JetPrepConfig, validate_jet_config
from jetpointnet.tagging.features import JET_FEATURES
from jetpointnet.tagging.weights import bin_ratio, pt_weights

__all__ = ["parse_class_inputs", "preprocess_jets"]


def preprocess_jets(
    out: str | os.PathLike[str], *, config: JetPrepConfig, geometry=None, workers: int = 1,
    progress: bool = True, overwrite: bool = False,
) -> PreprocessResult:  # fmt: skip
    """Run both stages on ``config.inputs`` into ``out`` (resumes; see the module doc)."""
    validate_jet_config(config)
    run = lambda cfg, paths, classes, outp, geo: _run(cfg, paths, classes, outp, geo, workers,
                                                      progress, overwrite)  # fmt: skip
    return in_locked_folder(out, config, geometry, run)


def _check(cfg: JetPrepConfig, paths: list[Path], geo: Path | None, *, links: bool) -> MLTreeInputs:
    """The inputs checked for the jet branches (and, for ``ml:RUN``, the run's)."""
    branches = [*JET_BRANCHES_REQUIRED, "truthPartStatus", "truthPartPt"]
    if cfg.algorithm.startswith("ml:"):
        branches += [b for b in EVENT_BRANCHES_REQUIRED if b not in branches]
    return check_files(paths, branches=branches, geometry=geo, event_tree=cfg.event_tree,
                       geometry_tree=cfg.geometry_tree, links=links)  # fmt: skip


def _run(cfg, paths, classes, outp, geo, workers, progress, overwrite) -> PreprocessResult:
    run = _run_predictions(cfg, paths, outp)
    source = _check(cfg, paths, geo, links=isinstance(run, LivePredictions) and run.links)
    plan = plan_class_chunks(outp, cfg, paths, geo, source, overwrite=overwrite)
    todo = plan.todo
    result = PreprocessResult(out=outp, chunks_run=len(todo),
                              chunks_skipped=len(plan.chunks) - len(todo))  # fmt: skip
    preds = _predictions(cfg, run, source, outp, progress)
    # the object builders name an ML run by its folder: "ml:NAME" (the config keeps the path)
    work = dataclasses.replace(cfg, algorithm=next(iter(preds), cfg.algorithm))
    groups = group_tasks(todo, lambda c: (c.path, c.geometry), workers=workers)
    tasks = [
        (g, work, str(outp), [plan.sources[c.name] for c in g], classes, preds) for g in groups
    ]
    opts = {"workers": workers, "executor": "local", "scheduler": None, "progress": progress}
    for _ in run_parallel(jets_chunks, tasks, total=len(todo), desc="jets", **opts):
        pass
    records = [read_record(plan.markers / f"{c.name}.json") for c in plan.chunks]
    meta = _stage2(outp, cfg, records, progress)
    meta.update(class_sources(source.infos, classes, records), algorithm=cfg.algorithm,
                config=to_dict(cfg))  # fmt: skip
    write_json(outp / METADATA_FILE, meta)
    result.metadata = meta
    return result


def _run_predictions(
    cfg: JetPrepConfig, paths: list[Path], outp: Path
) -> RunPredictions | LivePredictions | None:
    """For ``ml:RUN``: an earlier call's predictions with the same run and inputs, or a
    live predictor (as ``jets`` makes them: :mod:`jetpointnet.jets.predictions`)."""
    if not cfg.algorithm.startswith("ml:"):
        return None
    run = Path(cfg.algorithm[3:])
    if not run.is_dir():
        raise UserError(f"algorithm: {cfg.algorithm!r}: {run} is not a run folder")
    cached = cached_predictions(run, paths, outp / "predictions", name=run.name)
    if cached is not None:
        return cached
    return LivePredictions(run, paths, outp / "predictions", name=run.name)


def _predictions(cfg: JetPrepConfig, run: RunPredictions | LivePredictions | None,
                 source: MLTreeInputs, outp: Path, progress: bool) -> dict:  # fmt: skip
    """For ``ml:RUN``: the run's per-cell predictions on every input (cached in DIR).

    A live predictor predicts on the inputs in the run's own prediction chunks, into
    ``DIR/predictions/<run>.parquet`` and its record, read back for the workers.
    """
    if run is None:
        return {}
    if isinstance(run, LivePredictions):
        from tqdm.auto import tqdm

        run.predictor.bind(source)
        with run, source.reader(build_geometry=run.predictor.tables, links=run.links) as reader:
            todo = tqdm(source.chunks(run.per_chunk), desc="predict", unit="chunk",
                        disable=not progress)  # fmt: skip
            for ec in reader.read(todo, EVENT_BRANCHES_REQUIRED, optional=EVENT_BRANCHES_OPTIONAL):
                run.chunk(ec.events, ec.geometry, ec.chunk)
        loaded = cached_predictions(run.run_dir, run.paths, run.cache_dir, name=run.name)
        if loaded is None:  # pragma: no cover (the with block wrote the file and its record)
            raise UserError(f"{run.cache_dir}: the predictions of {run.run_dir} were not written")
        run = loaded
    return {f"ml:{Path(cfg.algorithm[3:]).resolve().name}": run}


def jets_chunks(chunks: Sequence[Chunk], cfg: JetPrepConfig, out: str, sources: Sequence[dict],
                classes: list[str], preds: dict) -> list[dict[str, Any]]:  # fmt: skip
    """:func:`jets_chunk` of consecutive chunks (one worker task), one open file and geometry."""
    reader = ChunkReader(event_tree=cfg.event_tree, geometry_tree=cfg.geometry_tree,
                         build_geometry=CellTable.from_geometry)  # fmt: skip
    with reader:
        return [jets_chunk(c, cfg, out, src, classes, preds, reader=reader)
                for c, src in zip(chunks, sources, strict=True)]  # fmt: skip


def jets_chunk(chunk: Chunk, cfg: JetPrepConfig, out: str, sources: dict, classes: list[str],
               preds: dict, *, reader: ChunkReader[CellTable]) -> dict[str, Any]:  # fmt: skip
    """Stage 1 of one chunk: jets, split by event, written per split; then its marker."""
    from jetpointnet.evaluation.pflow.adapter import resolve_templates
    from jetpointnet.jets.chunk_objects import ObjectContext
    from jetpointnet.jets.config import JetsConfig

    table = reader.geometry(chunk.geometry)
    events = reader.events(chunk, JET_BRANCHES_REQUIRED, optional=JET_BRANCHES_OPTIONAL)
    tpl = resolve_templates(cfg.templates) if cfg.algorithm == "classical" else None
    ctx = ObjectContext(cfg=JetsConfig(), templates=tpl, preds=preds,
                        with_truth=[True] * (chunk.file_index + 1))  # fmt: skip
    name = classes[chunk.file_index]
    jets = build_chunk_jets(events, table, chunk, config=cfg, ctx=ctx,
                            class_index=cfg.classes.index(name),
                            background=name in cfg.background)  # fmt: skip
    rec = {"class": name, "cutflow": jets.cutflow, "sources": sources}
    return write_chunk_splits(Path(out), chunk, jets.arrays, event_numbers=events["eventNumber"],
                              split=cfg.split, compress=cfg.compress, record=rec, noun="jets")  # fmt: skip


def _stage2(out: Path, cfg: JetPrepConfig, records: list[dict], progress: bool) -> dict:
    """Weights, shuffling and the arrays files; returns the metadata's counts."""
    state_path, state = reset_stale_arrays(out, records)
    bkg = cfg.classes.index(cfg.background[0])
    train = load_split(out, records, "train")
    if not train:
        raise UserError(f"{out}: no jet passed the selection in the training split")
    is_b = train["y_cloud"] == bkg
    ratio = bin_ratio(train["jet_pt"][~is_b], train["jet_pt"][is_b], cfg.pt_bins)
    counts: dict[str, Any] = {}
    for k, split in enumerate(SPLITS):
        data = train if split == "train" else load_split(out, records, split)
        counts[split] = _write_split(out, cfg, split, k, data, ratio, bkg)
        counts[split]["events"] = sum(r["events"][split] for r in records)
    write_json(state_path, state)
    cutflow: dict[str, dict[str, int]] = {c: dict.fromkeys(CUTFLOW, 0) for c in cfg.classes}
    for r in records:
        for name, v in r["cutflow"].items():
            cutflow[r["class"]][name] += v
    return {
        "package_version": __version__, "kind": "jet", "layout": "padded",
        "features": list(JET_FEATURES), "classes": list(cfg.classes), "length": cfg.length,
        "counts": counts, "cutflow": cutflow, "pt_bins": list(cfg.pt_bins),
        "pt_weight_ratio": [float(x) for x in ratio],
    }  # fmt: skip


def _write_split(out, cfg, split: str, k: int, data: dict, ratio, bkg: int) -> dict:
    """Shuffled files of one split, with the pT weights; its counts."""
    if data:
        data.pop("boson_pdg")
        data["weight"] = pt_weights(data["jet_pt"], data["y_cloud"] == bkg, ratio, cfg.pt_bins)
    return write_shuffled_split(out, split, k, data, classes=cfg.classes,
                                per_file=cfg.jets_per_file, prefix="jets", seed=cfg.seed,
                                compress=cfg.compress, noun="jets")  # fmt: skip
