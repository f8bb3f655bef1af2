"""A trained run scored on a whole split with its own task: the validation pass, any kind.

:func:`score_split` rebuilds a run's model through its data kind
(:mod:`jetpointnet.training.kinds`), loads a checkpoint and runs the training loop's
validation pass (:func:`jetpointnet.training.epoch.validate`) over every sample of one
split. It returns the task's loss and its logged numbers (``Task.val_keys``), each the
batch-weight-weighted mean over the split: for the event-level task, for example, the
energy-weighted fraction of cell energy given to the right slot after the Hungarian
matching of neutral slots (``cell_energy_correct``) and the four loss terms.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

from jetpointnet.io.prep_folder import read_metadata
from jetpointnet.training import distributed
from jetpointnet.training.checkpoint import load_checkpoint
from jetpointnet.training.epoch import validate
from jetpointnet.training.kinds import kind_of
from jetpointnet.training.run_folder import RunFolder, read_run
from jetpointnet.training.tasks import make_task

__all__ = ["score_split"]


def score_split(
    run_dir: str | os.PathLike[str] | RunFolder,
    data_dir: str | os.PathLike[str],
    *,
    split: str = "test",
    checkpoint: str = "best",
    device: str = "cpu",
) -> dict[str, float]:
    """``loss`` and the task's ``val_keys`` of the run on every sample of ``split``."""
    run = read_run(run_dir)
    cfg = copy.deepcopy(run.config)
    cfg.data.val_split = split
    cfg.train.val_samples = None  # the whole split
    data_dir = Path(data_dir)
    metadata = read_metadata(data_dir)
    kind = kind_of(metadata, where=str(data_dir))
    task = make_task(cfg.task)
    model, _ = kind.build_model(cfg, metadata, task, data_dir=data_dir)
    dev = distributed.resolve_device(device)
    state = load_checkpoint(run.checkpoint(checkpoint), map_location=dev)
    model.load_state_dict(state["model"])
    model.to(dev).eval()
    info = distributed.DistInfo(rank=0, world_size=1, local_rank=0, device=dev, initialised=False)
    _, val_ds = kind.make_streams(cfg, data_dir, metadata, model=model, rank=0, world_size=1)
    return validate(model, kind, task, cfg, val_ds, info)
