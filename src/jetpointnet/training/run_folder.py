"""The run folder of ``jetpointnet train``: written here, and read only by :func:`read_run`.

A run folder holds ``config.yaml`` (the resolved :class:`TrainConfig`), ``run.json``
(:class:`RunInfo`: package, torch and Python versions, device, number of processes, seed,
the data folder, the number of input features and of parameters, and when the run
started and was resumed, UTC), ``metadata.json`` (a copy of the training data's), the
checkpoints ``best.pt`` / ``last.pt`` and ``log.csv``.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from jetpointnet import __version__
from jetpointnet.config import from_dict, load_config, save_config, to_dict
from jetpointnet.errors import UserError
from jetpointnet.io.atomic import atomic_output
from jetpointnet.io.jsonio import strict_dumps
from jetpointnet.io.sample_files import read_json, read_json_object
from jetpointnet.training.config import TrainConfig

__all__ = ["RunFolder", "RunInfo", "read_run", "write_run_files"]


@dataclass
class RunInfo:
    """``run.json``: what is needed to trust and reload a run (times in UTC, ISO 8601)."""

    package: str
    package_version: str
    torch_version: str
    python_version: str
    device: str
    world_size: int
    seed: int
    data_dir: str
    in_features: int
    parameters: int
    started: str
    resumed: list[str] = field(default_factory=list)


@dataclass
class RunFolder:
    """A run folder, read once: its resolved config, run record and data metadata."""

    path: Path
    config: TrainConfig
    info: RunInfo
    metadata: dict[str, Any]

    def checkpoint(self, name: str = "best") -> Path:
        """``best`` / ``last``: that checkpoint of this run; anything else: a ``.pt`` path."""
        return self.path / f"{name}.pt" if name in ("best", "last") else Path(name)


def read_run(run_dir: str | os.PathLike[str] | RunFolder, *, purpose: str = "") -> RunFolder:
    """Read the run folder ``run_dir`` (a :class:`RunFolder` is returned as it is).

    A missing or damaged file is a one-line UserError; ``purpose`` ends the message of a
    missing file (e.g. ``"for --init-from"``).
    """
    if isinstance(run_dir, RunFolder):
        return run_dir
    run = Path(run_dir)

    def need(name: str) -> Path:
        if not (run / name).is_file():
            why = f" {purpose}" if purpose else ""
            raise UserError(f"{run}: not a run folder (no {name}){why}")
        return run / name

    cfg = load_config(TrainConfig, need("config.yaml"))  # first: its mistakes are the user's
    raw_info, metadata = read_json_object(need("run.json")), read_json_object(need("metadata.json"))
    info = from_dict(RunInfo, raw_info, where=str(run / "run.json"))
    return RunFolder(path=run, config=cfg, info=info, metadata=metadata)


def write_run_files(
    out: Path,
    *,
    cfg: TrainConfig,
    data_dir: Path,
    metadata: dict[str, Any],
    device: str,
    world_size: int,
    parameters: int,
    in_features: int,
    resume: bool,
) -> None:
    """Write (or, on resume, refresh) the run's config, run record and metadata copy."""
    import torch

    out.mkdir(parents=True, exist_ok=True)
    save_config(cfg, out / "config.yaml")
    run_json = out / "run.json"
    previous: Any = read_json(run_json) if resume and run_json.is_file() else {}
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    record = RunInfo(
        package="jetpointnet",
        package_version=__version__,
        torch_version=torch.__version__,
        python_version=platform.python_version(),
        device=device,
        world_size=world_size,
        seed=cfg.train.seed,
        data_dir=str(data_dir.resolve()),
        in_features=in_features,
        parameters=parameters,
        started=previous.get("started", now),
        resumed=[*previous.get("resumed", []), now] if resume else [],
    )
    with atomic_output(run_json, overwrite=True) as tmp:
        tmp.write_text(strict_dumps(to_dict(record), indent=2) + "\n")
    with atomic_output(out / "metadata.json", overwrite=True) as tmp:
        tmp.write_text(strict_dumps(metadata, indent=2) + "\n")
