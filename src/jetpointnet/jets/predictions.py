"""A trained run's per-cell predictions on the jet inputs, made once and cached.

``jetpointnet jets`` runs ``predict`` (:func:`jetpointnet.predict.run.predict_files`) for
each ML run into ``OUT/predictions/<name>.parquet``, next to a JSON record of the run
folder, checkpoint and inputs (path, size, modification time). A later call with the same
run and inputs reuses the file, so an interrupted ``jets`` resumes after its most
expensive step; anything else makes it predict again.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jetpointnet.data.config import SelectionConfig
from jetpointnet.io.sample_files import read_json, read_parquet_columns, write_json

__all__ = ["RunPredictions", "load_run_predictions"]

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


def load_run_predictions(
    run_dir: str | os.PathLike[str],
    paths: Sequence[Path],
    cache_dir: Path,
    *,
    name: str,
    checkpoint: str = "best",
    geometry: Path | None = None,
    batch_size: int = 256,
    truth: bool = False,
    progress: bool = True,
) -> RunPredictions:
    """Predict with ``run_dir`` on ``paths`` (or reuse the cache) and load the rows
    (``truth``: also ``truth_focal_energy``)."""
    import pyarrow.parquet as pq

    from jetpointnet.predict.chunks import data_config_from_metadata
    from jetpointnet.predict.run import PredictConfig, predict_files
    from jetpointnet.training.run_folder import read_run

    run = read_run(run_dir)
    run_dir = run.path
    data_cfg, _ = data_config_from_metadata(run.metadata, where=f"{run_dir}/metadata.json")
    out = cache_dir / f"{name}.parquet"
    rec_path = cache_dir / f"{name}.json"
    record = _record(run_dir, checkpoint, paths)
    if not (out.is_file() and rec_path.is_file() and read_json(rec_path) == record):
        cache_dir.mkdir(parents=True, exist_ok=True)
        cfg = PredictConfig(checkpoint=checkpoint, batch_size=batch_size, overwrite=True)
        predict_files(
            run_dir, [str(p) for p in paths], out, config=cfg, geometry=geometry, progress=progress
        )
        write_json(rec_path, record)
    names = set(pq.read_schema(out).names)
    pred = "pred_focal_energy" if "pred_focal_energy" in names else "pred_focal_prob"
    rows = read_parquet_columns(out, [*_KEY, pred, *(["truth_focal_energy"] if truth else [])])
    key = (rows["file_index"].astype(np.int64) << 40) + rows["entry"].astype(np.int64)
    order = np.argsort(key, kind="stable")
    rows = {k: v[order] for k, v in rows.items()}
    rows["_key"] = key[order]
    return RunPredictions(
        name=name, rows=rows, selection=data_cfg.selection, task=run.config.task.name, path=out
    )
