"""``predict``: a trained run on new MLTree files -> per-cell attributions in one file.

Input files are processed in chunks of ``events_per_chunk`` events (the run's
preprocessing value unless set): read, stage 1 + 2 in memory with the run's own data
configuration (:mod:`jetpointnet.predict.chunks`), inference in batches of samples of
similar length, and the chunk's rows appended to the output
(:class:`jetpointnet.io.prediction_files.PredictionWriter`). Memory is bounded by one
chunk whatever the size of the input; the output appears under its final name only
when complete.

One row per (event, focused track, cell kept in its sample). Columns (units GeV,
radians):

=======================  ========  =========================================================
``event_number``         int64     ``eventNumber``
``entry``                int64     entry in the input file's ``EventTree``
``file_index``           int32     index of the input file (sorted order of the inputs)
``track_index``          int32     focused track, index in the event's track vectors
``track_p``, ``track_pt``  float32   focused track momentum and transverse momentum
``track_eta``,           float32   focused track direction at the perigee
``track_phi``
``cell_id``              uint64    cell identifier (``cell_geo_ID``)
``cell_energy``          float32   cell energy
``truth_focal_energy``   float32   the focused particle's true energy in the cell; only
                                   when some input has truth, NaN on rows of the inputs
                                   without (:func:`jetpointnet.data.samples.has_truth`)
``pred_focal_energy``    float32   regression: predicted focal energy
``pred_focal_prob``      float32   binary / multiclass: probability that the cell is focal
``score_<class>``        float32   multiclass: probability of each ``CellClass``
observer branches        as read   per-event branches named in ``observers``, repeated
=======================  ========  =========================================================

Models that read stage-2 extra arrays (``cnn``, ``gnn``) get them built per chunk from
the run's data configuration (:func:`jetpointnet.predict.chunks.prepare_chunk`; the
``gnn``'s ``neighbours`` read the CellGeo link branches, which each geometry file must
then have) and passed to either backend; the columns do not change.

Inputs without truth (real data) are predicted like any other: the model never sees
truth. For them the run's ``selection.require_truth`` is ignored (there are no truth
links to require), so every usable track becomes a sample.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import awkward as ak
import numpy as np
import torch
from tqdm.auto import tqdm

from jetpointnet.config import check_choices
from jetpointnet.data.extras import NeighbourTable
from jetpointnet.data.geometry import CellTable
from jetpointnet.data.samples import EVENT_BRANCHES_OPTIONAL, EVENT_BRANCHES_REQUIRED, has_truth
from jetpointnet.data.schema import CellClass, PointType
from jetpointnet.errors import UserError
from jetpointnet.io.atomic import remove_stale_partials
from jetpointnet.io.mltree_inputs import Chunk, MLTreeInputs, check_files, expand_inputs
from jetpointnet.io.mltree_reader import read_events
from jetpointnet.io.paths import folder_files, refuse_overlap
from jetpointnet.io.prediction_files import PredictionWriter, output_format
from jetpointnet.predict.backends import Backend, OnnxBackend, TorchBackend
from jetpointnet.predict.chunks import ChunkArrays, data_config_from_metadata, prepare_chunk
from jetpointnet.predict.export import extra_inputs, temporary_export
from jetpointnet.training.dataset import feature_indices
from jetpointnet.training.inference import infer, load_run, padded_batches
from jetpointnet.training.tasks import Task, make_task

__all__ = ["ChunkPredictor", "PredictConfig", "PredictResult", "infer_points", "predict_files"]

_PER_SAMPLE_COLUMNS = {
    "event_number": np.int64,
    "entry": np.int64,
    "file_index": np.int32,
    "track_index": np.int32,
    "track_p": np.float32,
    "track_pt": np.float32,
    "track_eta": np.float32,
    "track_phi": np.float32,
}


@dataclass
class PredictConfig:
    """Options of :func:`predict_files`.

    ``backend``: ``torch`` (the checkpoint) or ``onnx`` (``onnx_file``, or an export made
    on the fly). ``batch_size``: samples per inference batch. ``events_per_chunk``: events
    per work chunk (None: the run's preprocessing value). ``observers``: per-event
    ``EventTree`` branches copied to every row of their event. ``root_format``: ``ttree``
    or ``rntuple`` for ``.root`` outputs. ``threads``: CPU threads (None: library default).
    """

    checkpoint: str = "best"
    backend: Literal["torch", "onnx"] = "torch"
    onnx_file: Path | None = None
    batch_size: int = 256
    events_per_chunk: int | None = None
    observers: list[str] = field(default_factory=list)
    device: Literal["auto", "cpu", "cuda"] = "cpu"
    root_format: Literal["ttree", "rntuple"] = "ttree"
    tree_name: str = "predictions"
    threads: int | None = None
    overwrite: bool = False

    def __post_init__(self) -> None:
        check_choices(self)  # backend, device, root_format: a typo fails before any work


@dataclass
class PredictResult:
    """What :func:`predict_files` wrote: the file, its rows, samples and events seen."""

    out: Path
    rows: int
    samples: int
    events: int
    backend: str


def _pred_columns(task: Task) -> dict[str, type]:
    if task.name == "regression":
        return {"pred_focal_energy": np.float32}
    cols: dict[str, type] = {"pred_focal_prob": np.float32}
    if task.name == "multiclass":
        cols.update({f"score_{c.name.lower()}": np.float32 for c in CellClass})
    return cols


def infer_points(
    backend: Backend,
    task: Task,
    x: np.ndarray,
    energy: np.ndarray,
    offsets: np.ndarray,
    *,
    batch_size: int,
    extras: Mapping[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Per-point predictions ``(P,)`` or ``(P, 4)`` of ragged samples (``offsets``).

    The batched loop of :func:`jetpointnet.training.inference.infer` (samples
    sorted by length, each batch padded to its longest), with ``backend`` as the model;
    the output is in the input's point order. Regression: GeV; otherwise probabilities.
    ``extras``: ragged stage-2 arrays (``(P,)`` or ``(P, K)``, keys of ``EXTRA_FILL``)
    padded like ``x`` and passed to the backend.
    """
    batches = padded_batches(x, energy, offsets, batch_size=batch_size, extras=extras)
    return infer(backend, task, batches, n_points=len(x))


def _rows(
    chunk: ChunkArrays,
    pred: np.ndarray,
    task: Task,
    observers: dict[str, np.ndarray],
    *,
    truth: bool,
) -> dict[str, np.ndarray]:
    """Output rows of a chunk; ``truth``: write ``truth_focal_energy`` (NaN if unlabelled)."""
    a = chunk.arrays
    sample = np.repeat(np.arange(chunk.n_samples), a["n_points"].astype(np.int64))
    cell = a["point_type"] == PointType.CELL
    s = sample[cell]
    cols: dict[str, np.ndarray] = {k: a[k][s] for k in _PER_SAMPLE_COLUMNS}
    cols["cell_id"] = chunk.cell_id[cell]
    cols["cell_energy"] = a["energy"][cell]
    if truth:
        cols["truth_focal_energy"] = np.where(a["label_mask"][cell], a["y_energy"][cell], np.nan)
    p = pred[cell]
    if task.name == "regression":
        cols["pred_focal_energy"] = p
    elif task.name == "binary":
        cols["pred_focal_prob"] = p
    else:
        cols["pred_focal_prob"] = p[:, int(CellClass.FOCAL)]
        for c in CellClass:
            cols[f"score_{c.name.lower()}"] = p[:, int(c)]
    ev = chunk.sample_event[s]
    for name, values in observers.items():
        cols[name] = values[ev]
    return cols


def _observer_values(events: dict[str, ak.Array], names: Sequence[str], path: str) -> dict:
    out = {}
    for name in names:
        arr = events[name]
        if arr.ndim != 1:
            raise UserError(f"{path}: observer branch '{name}' is not one number per event")
        out[name] = np.asarray(ak.to_numpy(arr))
    return out


class ChunkPredictor:
    """A run made ready to predict chunks of MLTree events: backend, task, data config.

    After :meth:`bind` to the inputs, ``rows(events, tables, chunk)`` turns one chunk's
    events into the output rows (module docstring) and its number of samples; ``dtypes``
    are the output columns.
    """

    def __init__(self, run_dir: str | os.PathLike[str], cfg: PredictConfig) -> None:
        model, tcfg, metadata = load_run(
            Path(run_dir), checkpoint=cfg.checkpoint, device=cfg.device
        )
        self.extras = extra_inputs(model, where=str(run_dir))
        self.task = make_task(tcfg.task)
        where = f"{run_dir}/metadata.json"
        self.data_cfg, self.length = data_config_from_metadata(metadata, where=where)
        self.features = feature_indices(metadata, tcfg.data.features, where=str(run_dir))
        self._run = (run_dir, model, tcfg.train.amp)
        self.config = cfg
        self.observers = list(cfg.observers)
        self.batch_size = cfg.batch_size
        sel = dataclasses.replace(self.data_cfg.selection, require_truth=False)
        self.no_truth_cfg = dataclasses.replace(self.data_cfg, selection=sel)
        self.backend: Backend  # made by bind(), after the inputs are checked
        self.with_truth: list[bool] = []
        self.dtypes: dict[str, np.dtype] = {}
        self.props: dict[str, str] = {}

    def bind(self, inputs: MLTreeInputs) -> None:
        """Make the backend; set the per-input truth flags and output columns of ``inputs``."""
        run_dir, model, amp = self._run
        self.backend = _backend(run_dir, self.config, model, self.extras, amp=amp)
        self.props = {"run": str(Path(run_dir).resolve()), "backend": self.backend.name}
        self.with_truth = [has_truth(i.branches) for i in inputs.infos]
        self.dtypes = self._dtypes(inputs.paths[0], inputs.event_tree)

    @property
    def pred_columns(self) -> list[str]:
        """The prediction columns of the output (``pred_focal_energy`` or ``_prob`` first)."""
        return list(_pred_columns(self.task))

    @property
    def links(self) -> bool:
        """True if the model reads the CellGeo neighbour links."""
        return "neighbours" in self.extras

    def tables(self, geo: dict[str, np.ndarray]) -> tuple[CellTable, NeighbourTable | None]:
        """The geometry a chunk needs, from the CellGeo arrays."""
        links = NeighbourTable.from_geometry(geo) if self.links else None
        return CellTable.from_geometry(geo), links

    def _dtypes(self, first_file: Path, event_tree: str) -> dict[str, np.dtype]:
        dtypes: dict[str, np.dtype] = {k: np.dtype(v) for k, v in _PER_SAMPLE_COLUMNS.items()}
        dtypes.update(cell_id=np.dtype(np.uint64), cell_energy=np.dtype(np.float32))
        if any(self.with_truth):
            dtypes["truth_focal_energy"] = np.dtype(np.float32)
        dtypes.update({k: np.dtype(v) for k, v in _pred_columns(self.task).items()})
        if self.observers:
            first = read_events(first_file, self.observers, entry_start=0, entry_stop=1,
                                event_tree=event_tree)  # fmt: skip
            for name in self.observers:
                if name in dtypes:
                    raise UserError(f"observer '{name}' clashes with an output column")
                dtypes[name] = np.dtype(str(ak.type(first[name]).content))
        return dtypes

    def rows(
        self,
        events: dict[str, ak.Array],
        tables: tuple[CellTable, NeighbourTable | None],
        chunk: Chunk,
    ) -> tuple[dict[str, np.ndarray], int]:
        """The output rows of one chunk of events and its number of samples."""
        table, links_table = tables
        arrays = prepare_chunk(
            events,
            table,
            config=self.data_cfg if self.with_truth[chunk.file_index] else self.no_truth_cfg,
            length=self.length,
            entry_start=chunk.start,
            file_index=chunk.file_index,
            source=chunk.path,
            extras=self.extras,
            neighbours=links_table,
        )
        x = arrays.arrays["X"]
        if self.features is not None:
            x = np.ascontiguousarray(x[:, self.features])
        pred = infer_points(self.backend, self.task, x, arrays.arrays["energy"],
                            arrays.arrays["offsets"], batch_size=self.batch_size,
                            extras=arrays.extras(self.extras))  # fmt: skip
        observers = _observer_values(events, self.observers, chunk.path)
        rows = _rows(arrays, pred, self.task, observers, truth=any(self.with_truth))
        return rows, arrays.n_samples


def _backend(run_dir, cfg: PredictConfig, model, extras: Sequence[str], *, amp: bool) -> Backend:
    """The inference backend of ``cfg.backend`` (an ONNX file must take ``extras``)."""
    if cfg.backend == "onnx":
        onnx_file = cfg.onnx_file or temporary_export(run_dir, checkpoint=cfg.checkpoint)
        backend: Backend = OnnxBackend(onnx_file, threads=cfg.threads)
        if set(backend.extras) != set(extras):
            raise UserError(
                f"{onnx_file}: takes the extra inputs {list(backend.extras)}, but the run's "
                f"model reads {list(extras)} (export this run with `jetpointnet export`)"
            )
        return backend
    return TorchBackend(model, amp=amp)


def _check_out(out: Path, cfg: PredictConfig) -> None:
    """Refuse a bad option or output path before any work."""
    if cfg.batch_size < 1:
        raise UserError(f"batch_size must be >= 1, got {cfg.batch_size}")
    output_format(out)
    if out.is_dir():
        raise UserError(f"{out}: is a folder; --out must be a FILE.parquet or FILE.root")
    if out.exists() and not cfg.overwrite:
        raise FileExistsError(f"{out}: exists (pass --overwrite to replace it)")


def predict_files(
    run_dir: str | os.PathLike[str],
    inputs: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    config: PredictConfig | None = None,
    geometry: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> PredictResult:
    """Predict with the run ``run_dir`` on MLTree files (globs allowed) into ``out``.

    ``out`` ends in ``.parquet`` or ``.root``. ``geometry``: a file with the ``CellGeo``
    tree when the inputs lack it. Every input problem is checked before any work (one
    line); an existing ``out`` is refused unless ``config.overwrite``.
    """
    cfg = config or PredictConfig()
    out = Path(out)
    _check_out(out, cfg)
    paths = expand_inputs([str(p) for p in inputs])
    refuse_overlap([*paths, *folder_files(run_dir), geometry, cfg.onnx_file], out)
    remove_stale_partials(out.parent, stem=out.stem)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    predictor = ChunkPredictor(run_dir, cfg)
    data_cfg = predictor.data_cfg
    source = check_files(
        paths, branches=[*EVENT_BRANCHES_REQUIRED, *cfg.observers],
        geometry=geometry, event_tree=data_cfg.event_tree,
        geometry_tree=data_cfg.geometry_tree, links=predictor.links,
    )  # fmt: skip
    predictor.bind(source)
    chunks = source.chunks(cfg.events_per_chunk or data_cfg.events_per_chunk)
    writer = PredictionWriter(out, predictor.dtypes, overwrite=cfg.overwrite,
                              tree_name=cfg.tree_name, root_format=cfg.root_format,
                              metadata=predictor.props)  # fmt: skip
    n_samples = 0
    with writer, source.reader(build_geometry=predictor.tables, links=predictor.links) as reader:
        todo = tqdm(chunks, desc="predict", unit="chunk", disable=not progress)
        for ec in reader.read(todo, [*EVENT_BRANCHES_REQUIRED, *cfg.observers],
                              optional=EVENT_BRANCHES_OPTIONAL):  # fmt: skip
            rows, n = predictor.rows(ec.events, ec.geometry, ec.chunk)
            writer.write(rows)
            n_samples += n
    return PredictResult(out=out, rows=writer.rows, samples=n_samples,
                         events=sum(source.entries), backend=predictor.backend.name)  # fmt: skip
