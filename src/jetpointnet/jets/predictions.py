"""A trained run's per-cell predictions on the jet inputs, made once and cached.

``jetpointnet jets`` predicts with each ML run on the very event chunks it builds jets
from (:class:`LivePredictions`, each input file read once for both), in the run's own
prediction chunks (:class:`jetpointnet.predict.run.ChunkPredictor`), and writes the rows
to ``OUT/predictions/<name>.parquet`` as ``jetpointnet predict`` would, next to a JSON
record of the run folder, checkpoint and inputs (path, size, modification time). A later
call with the same run and inputs reuses the file (:func:`cached_predictions`), so an
interrupted ``jets`` resumes after its most expensive step; anything else makes it
predict again.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
from typing_extensions import Self  # typing.Self is Python >= 3.11

from jetpointnet.data.config import SelectionConfig
from jetpointnet.data.samples import EVENT_BRANCHES_OPTIONAL, EVENT_BRANCHES_REQUIRED
from jetpointnet.io.mltree_inputs import Chunk
from jetpointnet.io.sample_files import read_json, read_parquet_columns, write_json

__all__ = ["LivePredictions", "RunPredictions", "cached_predictions"]

_KEY = ("file_index", "entry", "track_index", "cell_id")


@dataclass
class RunPredictions:
    """Prediction rows sorted by (file, entry) and the run's track selection."""

    name: str
    rows: dict[str, np.ndarray]
    selection: SelectionConfig
    task: str
    path: Path

    def chunk(self, file_index: int, start: int, stop: int) -> dict[str, np.ndarray]:
        """The rows of entries ``[start, stop)`` of input ``file_index``."""
        key = self.rows["_key"]
        lo, hi = np.searchsorted(
            key, [(file_index << 40) + start, (file_index << 40) + stop], side="left"
        )
        return {k: v[lo:hi] for k, v in self.rows.items()}


def _record(run_dir: Path, checkpoint: str, paths: Sequence[Path]) -> dict:
    files = [{"path": str(p), "size": p.stat().st_size, "mtime_ns": p.stat().st_mtime_ns}
             for p in paths]  # fmt: skip
    return {"run": str(run_dir.resolve()), "checkpoint": checkpoint, "inputs": files}


def _sorted(rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Rows sorted (stably) by (file, entry), with that ``_key``."""
    key = (rows["file_index"].astype(np.int64) << 40) + rows["entry"].astype(np.int64)
    order = np.argsort(key, kind="stable")
    rows = {k: v[order] for k, v in rows.items()}
    rows["_key"] = key[order]
    return rows


def _columns(pred_name: str, truth: bool) -> list[str]:
    return [*_KEY, pred_name, *(["truth_focal_energy"] if truth else [])]


def cached_predictions(
    run_dir: str | os.PathLike[str],
    paths: Sequence[Path],
    cache_dir: Path,
    *,
    name: str,
    checkpoint: str = "best",
    truth: bool = False,
) -> RunPredictions | None:
    """The rows of an earlier call with the same run and inputs, or None (predict again).

    ``truth``: also ``truth_focal_energy``.
    """
    import pyarrow.parquet as pq

    from jetpointnet.predict.chunks import data_config_from_metadata
    from jetpointnet.training.run_folder import read_run

    run = read_run(run_dir)
    run_dir = run.path
    data_cfg, _ = data_config_from_metadata(run.metadata, where=f"{run_dir}/metadata.json")
    out = cache_dir / f"{name}.parquet"
    rec_path = cache_dir / f"{name}.json"
    if not (out.is_file() and rec_path.is_file()):
        return None
    if read_json(rec_path) != _record(run_dir, checkpoint, paths):
        return None
    names = set(pq.read_schema(out).names)
    pred = "pred_focal_energy" if "pred_focal_energy" in names else "pred_focal_prob"
    rows = _sorted(read_parquet_columns(out, _columns(pred, truth)))
    return RunPredictions(
        name=name, rows=rows, selection=data_cfg.selection, task=run.config.task.name, path=out
    )


#: The event branches ``predict`` reads: a run sees exactly these of the jets' events.
_PREDICT_BRANCHES = frozenset((*EVENT_BRANCHES_REQUIRED, *EVENT_BRANCHES_OPTIONAL))


class LivePredictions:
    """A run predicting on the jets' event chunks while writing its prediction file.

    Use as a context manager; :meth:`chunk` predicts one jets chunk (in the run's own
    prediction chunks of ``events_per_chunk`` entries, aligned as ``predict`` aligns
    them) and returns its rows; at the end of a ``with`` block without error the file
    and its record are in place (an error leaves neither).
    """

    def __init__(
        self,
        run_dir: str | os.PathLike[str],
        paths: Sequence[Path],
        cache_dir: Path,
        *,
        name: str,
        checkpoint: str = "best",
        batch_size: int = 256,
        truth: bool = False,
    ) -> None:
        from jetpointnet.predict.run import ChunkPredictor, PredictConfig

        self.run_dir = Path(run_dir)
        self.name, self.truth, self.paths, self.checkpoint = name, truth, list(paths), checkpoint
        self.cache_dir = cache_dir
        cfg = PredictConfig(checkpoint=checkpoint, batch_size=batch_size, overwrite=True)
        self.predictor = ChunkPredictor(run_dir, cfg)
        self.per_chunk = self.predictor.data_cfg.events_per_chunk
        self.pred_name = self.predictor.pred_columns[0]
        self._writer: Any = None

    @property
    def links(self) -> bool:
        return self.predictor.links

    def __enter__(self) -> Self:
        from jetpointnet.io.prediction_files import PredictionWriter

        self.cache_dir.mkdir(parents=True, exist_ok=True)
        p = self.predictor
        self._writer = PredictionWriter(self.cache_dir / f"{self.name}.parquet", p.dtypes,
                                        overwrite=True, tree_name=p.config.tree_name,
                                        root_format=p.config.root_format,
                                        metadata=p.props)  # fmt: skip
        self._writer.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        writer, self._writer = self._writer, None
        writer.__exit__(*exc)
        if exc[0] is None:
            write_json(self.cache_dir / f"{self.name}.json",
                       _record(self.run_dir, self.checkpoint, self.paths))  # fmt: skip

    def chunk(self, events: dict[str, ak.Array], tables: Any, chunk: Chunk) -> RunPredictions:
        """Predict the entries of ``chunk`` (``events``: the jets' read of them)."""
        mine = {k: v for k, v in events.items() if k in _PREDICT_BRANCHES}
        parts = []
        lo = chunk.start
        while lo < chunk.stop:
            hi = min((lo // self.per_chunk + 1) * self.per_chunk, chunk.stop)
            part = {k: v[lo - chunk.start : hi - chunk.start] for k, v in mine.items()}
            sub = Chunk(chunk.file_index, chunk.path, chunk.geometry, lo, hi, chunk.name)
            rows, _ = self.predictor.rows(part, tables, sub)
            self._writer.write(rows)
            parts.append({k: rows[k] for k in _columns(self.pred_name, self.truth)})
            lo = hi
        rows = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]} if parts else {}
        p = self.predictor
        return RunPredictions(name=self.name, rows=_sorted(rows), selection=p.data_cfg.selection,
                              task=p.task.name, path=self.cache_dir / f"{self.name}.parquet")  # fmt: skip
