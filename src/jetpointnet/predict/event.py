"""``predict`` on an event-level run: events -> ``particles.parquet`` (and per-cell incidence).

Two sources of events: MLTree ROOT files (:func:`predict_event_files`: each chunk of
events is turned into samples in memory with the run's own preprocessing settings,
``metadata.json`` "config": region rule and size limits, exactly as
``preprocess --kind event`` does) or the split of a preprocessed event folder
(:func:`predict_event_folder`). Inputs without truth are predicted alike (the model never
sees truth; their samples simply carry no targets).

Outputs: ``particles.parquet`` (:mod:`jetpointnet.io.particles`; rows as
:func:`~jetpointnet.predict.event_particles.particles_from_outputs` says) and, with
``incidence``, ``<stem>.incidence.parquet``: one row per (cell, slot) with a fraction
>= 0.001: ``file_index``, ``entry``, ``event_number``, ``region_index``, ``cell_id``,
``cell_energy`` (GeV), ``slot`` (int32: the sample's track slots 0..Nt-1 in their
``track_index`` order, neutral slots from Nt, -1 = noise), ``track_index`` (-1 unless a
track slot) and ``fraction`` (float32). Both appear under their final names only when
complete.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from tqdm.auto import tqdm

from jetpointnet.config import from_dict
from jetpointnet.data.event_inputs import EVENT_KIND_OPTIONAL, EVENT_KIND_REQUIRED, event_view
from jetpointnet.data.event_particles import concat_tables
from jetpointnet.data.event_samples import (
    TRACK_FEATURES,
    RegionConfig,
    SampleArrays,
    event_samples,
)
from jetpointnet.data.event_targets import event_targets
from jetpointnet.data.geometry import CellTable
from jetpointnet.errors import UserError
from jetpointnet.io.mltree_inputs import EventChunk, check_files, expand_inputs
from jetpointnet.io.mltree_layout import CELL_GEO_TREE, EVENT_TREE
from jetpointnet.io.particles import write_particles
from jetpointnet.io.paths import folder_files, refuse_overlap
from jetpointnet.io.prep_folder import read_metadata, split_files
from jetpointnet.io.sample_files import write_parquet
from jetpointnet.predict.event_particles import particles_from_outputs
from jetpointnet.predict.event_run import is_event_run, load_event_run
from jetpointnet.training.event_kind import MODEL_INPUTS, check_event_metadata
from jetpointnet.training.event_stream import collate, read_event_chunk

__all__ = [
    "EventPredictConfig",
    "EventPredictResult",
    "is_event_run",
    "load_event_run",
    "predict_event_files",
    "predict_event_folder",
]

Infer = Callable[[Mapping[str, torch.Tensor]], dict[str, np.ndarray]]


@dataclass
class EventPredictConfig:
    """Options of :func:`predict_event_files` / :func:`predict_event_folder`.

    ``min_existence``: neutral slots below this existence probability are not written.
    ``incidence``: also write the per-cell incidence file. ``events_per_chunk``: events
    read at a time from ROOT files (None: the run's preprocessing value).
    """

    checkpoint: str = "best"
    backend: Literal["torch", "onnx"] = "torch"
    onnx_file: Path | None = None
    batch_size: int = 16
    min_existence: float = 0.5
    incidence: bool = False
    events_per_chunk: int | None = None
    device: Literal["auto", "cpu", "cuda"] = "cpu"
    threads: int | None = None
    overwrite: bool = False


@dataclass
class EventPredictResult:
    """What was written: the particles file, its rows, the samples and events seen."""

    out: Path
    particles: int
    samples: int
    events: int
    incidence: Path | None = None


def _torch_infer(model: torch.nn.Module) -> Infer:
    dev = next(model.parameters()).device

    @torch.no_grad()
    def infer(batch: Mapping[str, torch.Tensor]) -> dict[str, np.ndarray]:
        out = model(*(batch[k].to(dev) for k in MODEL_INPUTS))
        return {k: v.float().cpu().numpy() for k, v in out.items()}

    return infer


def _backend(run_dir: Path, cfg: EventPredictConfig) -> tuple[Infer, dict]:
    model, _, metadata = load_event_run(run_dir, checkpoint=cfg.checkpoint, device=cfg.device)
    if cfg.backend == "torch":
        return _torch_infer(model), metadata
    if cfg.backend != "onnx":
        raise UserError(f"unknown backend {cfg.backend!r} (torch or onnx)")
    from jetpointnet.predict.event_export import event_session, export_event_run, run_event_session

    onnx_file = cfg.onnx_file
    if onnx_file is None:
        import tempfile

        onnx_file = Path(tempfile.mkdtemp(prefix="jetpointnet-onnx-")) / "model.onnx"
        export_event_run(run_dir, onnx_file, checkpoint=cfg.checkpoint)
    session = event_session(onnx_file, threads=cfg.threads)
    return (lambda batch: run_event_session(session, batch)), metadata


def _incidence_rows(out: dict[str, np.ndarray], batch: Mapping[str, np.ndarray]) -> dict:
    logits = out["incidence"].astype(np.float64)  # (B, Nc, S + 1)
    q = np.exp(logits - logits.max(-1, keepdims=True))
    q /= q.sum(-1, keepdims=True)
    cm = np.asarray(batch["cell_mask"], bool)
    if "cell_core" in batch:  # a halo cell's shares are written by the sample it is core in
        cm = cm & np.asarray(batch["cell_core"], bool)
    b, c, s = np.nonzero((q >= 1e-3) & cm[:, :, None])
    nt = batch["track_mask"].shape[1]
    slot = np.where(s == q.shape[2] - 1, -1, s)
    tidx = np.asarray(batch["track_index"])
    track = np.where((slot >= 0) & (slot < nt), tidx[b, np.clip(slot, 0, nt - 1)], -1)
    cols = {k: np.asarray(batch[k])[b] for k in ("file_index", "entry", "event_number",
                                                   "region_index")}  # fmt: skip
    cols.update(cell_id=np.asarray(batch["cell_id"])[b, c],
                cell_energy=np.asarray(batch["cell_energy"], np.float32)[b, c],
                slot=slot.astype(np.int32), track_index=track.astype(np.int32),
                fraction=q[b, c, s].astype(np.float32))  # fmt: skip
    return cols


def _predict_arrays(infer: Infer, arrays: dict[str, np.ndarray], cfg: EventPredictConfig,
                    tables: list, cells: list | None) -> int:  # fmt: skip
    """Predict every sample of one chunk's arrays (batched by cell count); append its rows;
    return the sample count."""
    n = len(arrays["entry"])
    order = np.argsort(arrays["cell_mask"].sum(1), kind="stable")  # similar sizes: less padding
    for lo in range(0, n, cfg.batch_size):
        rows = order[lo : lo + cfg.batch_size]
        batch = collate(arrays, rows, rows)
        out = infer(batch)
        np_batch = {k: v.numpy() for k, v in batch.items()}
        tables.append(particles_from_outputs(out, np_batch, min_existence=cfg.min_existence))
        if cells is not None:
            cells.append(_incidence_rows(out, np_batch))
    return n


def _check_out(out: Path, cfg: EventPredictConfig) -> Path | None:
    if out.suffix != ".parquet":
        raise UserError(f"{out}: particles are written as FILE.parquet")
    if out.is_dir():
        raise UserError(f"{out}: is a folder; --out must be a FILE.parquet")
    if cfg.batch_size < 1:
        raise UserError(f"batch_size must be >= 1, got {cfg.batch_size}")
    inc = out.with_suffix(".incidence.parquet") if cfg.incidence else None
    for path in (out, inc):
        if path is not None and path.exists() and not cfg.overwrite:
            raise FileExistsError(f"{path}: exists (pass --overwrite to replace it)")
    return inc


def _write(out: Path, inc: Path | None, tables: list, cells: list | None,
           cfg: EventPredictConfig, samples: int, events: int) -> EventPredictResult:  # fmt: skip
    table = concat_tables(tables)
    keys = ("region_index", "entry", "file_index")  # rows in sample order (batches are by size)
    order = np.lexsort([table[k] for k in keys])
    table = {k: v[order] for k, v in table.items()}
    if inc is not None and cells is not None:
        import awkward as ak

        merged = {k: np.concatenate([c[k] for c in cells]) for k in cells[0]} if cells else {}
        write_parquet(ak.Array(merged), inc, overwrite=cfg.overwrite)
    write_particles(table, out, overwrite=cfg.overwrite)
    return EventPredictResult(out=out, particles=len(table["entry"]), samples=samples,
                              events=events, incidence=inc)  # fmt: skip


def predict_event_folder(
    run_dir: str | os.PathLike[str], data_dir: str | os.PathLike[str],
    out: str | os.PathLike[str], *, split: str = "test",
    config: EventPredictConfig | None = None, progress: bool = True,
) -> EventPredictResult:  # fmt: skip
    """The run's particles on the samples of ``data_dir``'s ``split`` (a kind-"event" folder)."""
    cfg = config or EventPredictConfig()
    out = Path(out)
    inc = _check_out(out, cfg)
    check_event_metadata(read_metadata(data_dir), where=str(data_dir))
    files = split_files(data_dir, split)
    refuse_overlap([*files, *folder_files(run_dir)], out)
    infer, _ = _backend(Path(run_dir), cfg)
    tables: list = []
    cells: list | None = [] if inc is not None else None
    samples, events = 0, set[tuple[int, int]]()
    for path in tqdm(files, desc=f"predict {split}", disable=not progress):
        arrays = read_event_chunk(path, targets=False)
        samples += _predict_arrays(infer, arrays, cfg, tables, cells)
        events.update(zip(arrays["file_index"].tolist(), arrays["entry"].tolist(), strict=True))
    return _write(out, inc, tables, cells, cfg, samples, len(events))


def _chunk_arrays(ec: EventChunk[CellTable], metadata: dict) -> Iterator[dict[str, np.ndarray]]:
    """The samples of one chunk of events, as the run's preprocessing would make them."""
    pre = metadata.get("config") or {}
    region = from_dict(RegionConfig, metadata.get("region") or pre.get("region") or {},
                       where="run metadata.json", prefix="region.")  # fmt: skip
    chunk, events, table = ec.chunk, ec.events, ec.geometry
    numbers = np.asarray(events["eventNumber"], np.int64)
    arrays = SampleArrays(int(metadata["n_cells"]), int(metadata["n_tracks"]),
                          int(metadata["n_neutral"]))  # fmt: skip
    for i in range(len(numbers)):
        view = event_view(events, i, table, source=chunk.path)
        links: dict[str, int | float] = {"file_index": chunk.file_index, "entry": chunk.start + i,
                 "event_number": int(numbers[i])}  # fmt: skip
        event_samples(view, event_targets(view.target_input), table, arrays, regions=region,
                      links=links)  # fmt: skip
    if arrays.rows:
        yield _run_features(arrays.stack(), metadata)


def _run_features(arrays: dict[str, np.ndarray], metadata: dict) -> dict[str, np.ndarray]:
    """The track features the run was trained on: a run from before the calorimeter-impact
    features (a prefix of today's list) gets its own columns."""
    want = list(metadata.get("track_features") or TRACK_FEATURES)
    if want == list(TRACK_FEATURES):
        return arrays
    if want != list(TRACK_FEATURES[: len(want)]):
        raise UserError(f"run track features {want} are not this version's {list(TRACK_FEATURES)}"
                        " (re-train the run)")  # fmt: skip
    return {**arrays, "track_x": arrays["track_x"][..., : len(want)]}


def predict_event_files(
    run_dir: str | os.PathLike[str], inputs: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str], *, config: EventPredictConfig | None = None,
    geometry: str | os.PathLike[str] | None = None, progress: bool = True,
) -> EventPredictResult:  # fmt: skip
    """The run's particles on the events of MLTree files (globs allowed) into ``out``."""
    cfg = config or EventPredictConfig()
    out = Path(out)
    inc = _check_out(out, cfg)
    paths = expand_inputs([str(p) for p in inputs])
    refuse_overlap([*paths, *folder_files(run_dir), geometry, cfg.onnx_file], out)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    infer, metadata = _backend(Path(run_dir), cfg)
    pre = metadata.get("config") or {}
    source = check_files(paths, branches=EVENT_KIND_REQUIRED, geometry=geometry,
                         event_tree=pre.get("event_tree", EVENT_TREE),
                         geometry_tree=pre.get("geometry_tree", CELL_GEO_TREE))  # fmt: skip
    per_chunk = cfg.events_per_chunk or int(pre.get("events_per_chunk", 20))
    chunks = source.chunks(per_chunk)
    tables: list = []
    cells: list | None = [] if inc is not None else None
    samples = 0
    with source.reader(build_geometry=CellTable.from_geometry) as reader:
        todo = tqdm(chunks, desc="predict events", unit="chunk", disable=not progress)
        for ec in reader.read(todo, EVENT_KIND_REQUIRED, optional=EVENT_KIND_OPTIONAL):
            for arrays in _chunk_arrays(ec, metadata):
                samples += _predict_arrays(infer, arrays, cfg, tables, cells)
    return _write(out, inc, tables, cells, cfg, samples, sum(source.entries))
