"""Loading a tagging run and scoring the jets of a split: what predict, export and evaluate call.

:func:`load_tagging_run` rebuilds a run's tagger (kind ``jet`` or ``photon``,
:data:`TAGGING_KINDS`) from its ``config.yaml``,
its copy of the data's ``metadata.json`` and a checkpoint; :func:`jet_table` reads the
per-jet arrays of a split (labels, weights, observers, links) without the constituents;
:func:`score_split` runs the tagger over a split and returns class probabilities.
Outputs follow the split's chunk files in sorted order, jets in file order.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from jetpointnet.errors import UserError
from jetpointnet.io.prep_folder import read_metadata, split_files
from jetpointnet.io.sample_files import read_json_object
from jetpointnet.training.checkpoint import load_checkpoint
from jetpointnet.training.config import TrainConfig
from jetpointnet.training.dataset import feature_indices
from jetpointnet.training.distributed import resolve_device
from jetpointnet.training.jet_kind import jet_forward
from jetpointnet.training.jet_stream import LINKS, OBSERVERS, collate_jets, load_jet_chunk
from jetpointnet.training.kinds import kind_of
from jetpointnet.training.photon_kind import photon_arrays, photon_observers
from jetpointnet.training.run_folder import read_run
from jetpointnet.training.tagging import TaggingTask

__all__ = [
    "TAGGING_KINDS",
    "TaggingRun",
    "is_tagging_run",
    "jet_table",
    "load_tagging_run",
    "run_kind",
    "score_split",
]

#: The data kinds whose runs tag one object per sample.
TAGGING_KINDS = ("jet", "photon")


@dataclass
class TaggingRun:
    """A loaded tagging run: model (eval mode), task (bound to the classes), config, metadata."""

    model: nn.Module
    task: TaggingTask
    cfg: TrainConfig
    metadata: dict
    in_features: int

    @property
    def classes(self) -> list[str]:
        return list(self.task.classes)

    @property
    def kind(self) -> str:
        return str(self.metadata.get("kind"))

    @property
    def observers(self) -> tuple[str, ...]:
        """The per-object observers of the run's data (kind ``jet``: :data:`OBSERVERS`)."""
        if self.kind == "photon":
            return tuple(photon_observers(self.metadata))
        return OBSERVERS

    @property
    def cloud_arrays(self) -> tuple[str, ...]:
        """The per-object arrays beyond the cells that the model reads."""
        if self.kind == "photon":
            return tuple(photon_arrays(self.metadata, self.model))
        return ()


def _read_metadata(path: Path) -> dict:
    """A run folder's ``metadata.json`` (a UserError when it is not a JSON object)."""
    return read_json_object(path)


def run_kind(run_dir: str | os.PathLike[str]) -> str | None:
    """The data kind a run folder was trained on (None without a ``metadata.json``)."""
    meta = Path(run_dir) / "metadata.json"
    return str(_read_metadata(meta).get("kind", "track")) if meta.is_file() else None


def is_tagging_run(run_dir: str | os.PathLike[str]) -> bool:
    """True when the run folder was trained on data of kind ``jet``."""
    return run_kind(run_dir) == "jet"


def load_tagging_run(
    run_dir: str | os.PathLike[str], *, checkpoint: str = "best", device: str = "cpu"
) -> TaggingRun:
    """The tagger of a run folder (``checkpoint``: ``best``, ``last`` or a ``.pt`` path)."""
    folder = read_run(run_dir)  # the one reader of a run folder
    run, cfg, metadata = folder.path, folder.config, folder.metadata
    if metadata.get("kind") not in TAGGING_KINDS or cfg.task.name != "tagging":
        raise UserError(f"{run}: not a tagging run (data kind {metadata.get('kind', 'track')!r})")
    task = TaggingTask(cfg.task)
    model, in_features = kind_of(metadata, where=str(run)).build_model(
        cfg, metadata, task, data_dir=None
    )
    dev = resolve_device(device)
    model.load_state_dict(load_checkpoint(folder.checkpoint(checkpoint), map_location=dev)["model"])
    model.to(dev).eval()
    return TaggingRun(model, task, cfg, metadata, in_features)


def jet_table(
    data_dir: str | os.PathLike[str], split: str, *, observers: Sequence[str] = OBSERVERS
) -> dict[str, np.ndarray]:
    """``y_cloud``, ``weight``, the ``observers`` and links of every jet of ``split``."""
    names = ("y_cloud", "weight", *observers, *LINKS)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in names}
    for path in split_files(data_dir, split):
        chunk = load_jet_chunk(path, observers=observers)
        for k in names:
            parts[k].append(chunk[k])
    return {k: np.concatenate(v) for k, v in parts.items()}


@torch.no_grad()
def score_split(
    run: TaggingRun,
    data_dir: str | os.PathLike[str],
    *,
    split: str = "test",
    batch_size: int = 256,
    progress: bool = True,
) -> np.ndarray:
    """Class probabilities ``(n, K)`` of every jet of ``split``, in :func:`jet_table` order."""
    metadata = read_metadata(data_dir)
    if list(metadata.get("classes") or []) != run.classes:
        raise UserError(
            f"{data_dir}: classes {metadata.get('classes')} differ from the run's {run.classes}"
        )
    features = feature_indices(metadata, run.cfg.data.features, where=str(data_dir))
    dev = next(run.model.parameters()).device
    arrays = {"observers": run.observers, "cloud_arrays": run.cloud_arrays}
    out: list[np.ndarray] = []
    for path in tqdm(split_files(data_dir, split), desc=f"tag {split}", disable=not progress):
        chunk = load_jet_chunk(path, features=features, **arrays)
        n = len(chunk["y_cloud"])
        probs = np.zeros((n, len(run.classes)), dtype=np.float32)
        order = np.argsort(chunk["mask"].sum(axis=1), kind="stable")  # similar lengths
        for lo in range(0, n, batch_size):
            idx = order[lo : lo + batch_size]
            batch = collate_jets({0: chunk}, [(0, int(i)) for i in idx], idx, **arrays)
            batch = {k: v.to(dev) for k, v in batch.items()}
            pred = jet_forward(run.model, batch)["pred"]
            probs[idx] = run.task.predict(pred).cpu().numpy()
        out.append(probs)
    return np.concatenate(out) if out else np.zeros((0, len(run.classes)), np.float32)
