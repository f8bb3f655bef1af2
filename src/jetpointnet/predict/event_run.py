"""An event-level run folder: is it one, and its model.

:func:`is_event_run` tells an event-level run (trained on data of kind ``event``) from
the others without raising; :func:`load_event_run` reads it through the one run-folder
reader (:func:`jetpointnet.training.run_folder.read_run`) and rebuilds its model with a
checkpoint. ``predict``, ``export``, ``evaluate`` and ``jets`` dispatch on the first.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from jetpointnet.errors import UserError
from jetpointnet.io.sample_files import read_json
from jetpointnet.training.checkpoint import load_checkpoint
from jetpointnet.training.config import TrainConfig
from jetpointnet.training.distributed import resolve_device
from jetpointnet.training.event_kind import build_event_model, check_event_metadata
from jetpointnet.training.run_folder import read_run

__all__ = ["is_event_run", "load_event_run"]


def is_event_run(run_dir: str | os.PathLike[str]) -> bool:
    """Whether ``run_dir`` holds a run trained on data of kind "event" (False if unreadable)."""
    path = Path(run_dir) / "metadata.json"
    try:
        meta = read_json(path) if path.is_file() else {}
    except UserError:
        return False
    return isinstance(meta, dict) and meta.get("kind") == "event"


def load_event_run(run_dir: str | os.PathLike[str], *, checkpoint: str = "best",
                   device: str = "cpu") -> tuple[torch.nn.Module, TrainConfig, dict]:  # fmt: skip
    """The model (eval mode), resolved config and data metadata of an event-level run."""
    run = read_run(run_dir)
    check_event_metadata(run.metadata, where=str(run.path))
    model, _ = build_event_model(run.config, run.metadata, where=str(run.path / "config.yaml"))
    dev = resolve_device(device)
    model.load_state_dict(load_checkpoint(run.checkpoint(checkpoint), map_location=dev)["model"])
    return model.to(dev).eval(), run.config, run.metadata
