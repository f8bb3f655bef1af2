"""The descriptive files of a run folder: ``config.yaml``, ``run.json``, ``metadata.json``.

``run.json`` records what is needed to trust and reload a run: package, torch and
Python versions, device, number of processes, seed, the data folder, the number of
input features and of parameters, and when the run started and was resumed (UTC).
"""

from __future__ import annotations

import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from jetpointnet import __version__
from jetpointnet.config import save_config
from jetpointnet.io.atomic import atomic_output
from jetpointnet.io.jsonio import strict_dumps
from jetpointnet.io.sample_files import read_json
from jetpointnet.training.config import TrainConfig

__all__ = ["write_run_files"]


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
    out.mkdir(parents=True, exist_ok=True)
    save_config(cfg, out / "config.yaml")
    run_json = out / "run.json"
    previous = read_json(run_json) if resume and run_json.is_file() else {}
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    record = {
        "package": "jetpointnet",
        "package_version": __version__,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "device": device,
        "world_size": world_size,
        "seed": cfg.train.seed,
        "data_dir": str(data_dir.resolve()),
        "in_features": in_features,
        "parameters": parameters,
        "started": previous.get("started", now),
        "resumed": [*previous.get("resumed", []), now] if resume else [],
    }
    with atomic_output(run_json, overwrite=True) as tmp:
        tmp.write_text(strict_dumps(record, indent=2) + "\n")
    with atomic_output(out / "metadata.json", overwrite=True) as tmp:
        tmp.write_text(strict_dumps(metadata, indent=2) + "\n")
