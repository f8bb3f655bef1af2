"""``jets --algorithm event:RUN``: an event-level run's predicted particles as constituents.

For each ``event:RUN`` algorithm ``jets`` predicts the run once on all its inputs
(:func:`jetpointnet.predict.event.predict_event_files`) into
``OUT/predictions/event-<name>.particles.parquet``, next to a JSON record of the run
folder, checkpoint and inputs (path, size, modification time); a later call with the same
run and inputs reuses the file. Per chunk of events, the rows become constituents with
:func:`jetpointnet.jets.event.jets_from_particles` (charged rows: their tracks, with
charged-hadron subtraction as every algorithm; neutral rows: massless four-vectors), the
same function that builds ``--algorithm target`` from the target particles.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from jetpointnet.errors import UserError
from jetpointnet.io.particles import read_particles
from jetpointnet.io.sample_files import read_json, write_json

__all__ = ["EVENT_PREFIX", "event_algorithm_name", "event_run_dir", "load_event_particles"]

EVENT_PREFIX = "event:"


def event_run_dir(spec: str) -> Path:
    """The run folder of an ``event:RUN`` algorithm (UserError if it is not an event run)."""
    from jetpointnet.predict.event_run import is_event_run

    run = Path(spec[len(EVENT_PREFIX) :])
    if not spec.startswith(EVENT_PREFIX) or not str(run):
        raise UserError(f"--algorithm {spec!r}: write event:RUN with the run folder of `train`")
    if not (run / "config.yaml").is_file():
        raise UserError(f"--algorithm {spec}: {run} is not a run folder (no config.yaml)")
    if not is_event_run(run):
        raise UserError(f"--algorithm {spec}: {run} is not an event-level run (its data is not "
                        "of kind 'event'; per-track runs go in --run RUN)")  # fmt: skip
    return run


def event_algorithm_name(spec: str) -> str:
    """``event:<folder name>``: how results and reports name the algorithm."""
    return EVENT_PREFIX + event_run_dir(spec).resolve().name


def _record(run_dir: Path, checkpoint: str, paths: Sequence[Path]) -> dict:
    files = [{"path": str(p), "size": p.stat().st_size, "mtime_ns": p.stat().st_mtime_ns}
             for p in paths]  # fmt: skip
    return {"run": str(run_dir.resolve()), "checkpoint": checkpoint, "inputs": files}


def load_event_particles(
    spec: str, paths: Sequence[Path], cache_dir: Path, *, checkpoint: str = "best",
    geometry: str | os.PathLike[str] | None = None, batch_size: int = 16,
    progress: bool = True,
) -> dict[str, np.ndarray]:  # fmt: skip
    """The particles table of ``event:RUN`` on ``paths`` (predicted now or reused)."""
    from jetpointnet.predict.event import EventPredictConfig, predict_event_files

    run = event_run_dir(spec)
    stem = f"event-{run.resolve().name}"
    out = cache_dir / f"{stem}.particles.parquet"
    rec_path = cache_dir / f"{stem}.json"
    record = _record(run, checkpoint, paths)
    if not (out.is_file() and rec_path.is_file() and read_json(rec_path) == record):
        cache_dir.mkdir(parents=True, exist_ok=True)
        cfg = EventPredictConfig(checkpoint=checkpoint, batch_size=batch_size, overwrite=True)
        predict_event_files(run, [str(p) for p in paths], out, config=cfg, geometry=geometry,
                            progress=progress)  # fmt: skip
        write_json(rec_path, record)
    return read_particles(out)
