"""Loading a trained run and predicting on a split: the API evaluation calls.

:func:`load_run` rebuilds the model of a run folder (read by
:func:`~jetpointnet.training.run_folder.read_run`) from a checkpoint, :func:`load_model`
that of a folder already read; :func:`predict` runs it over the chunk files of a split.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from jetpointnet.data.arrays import read_metadata
from jetpointnet.models.registry import build_model
from jetpointnet.training.checkpoint import load_checkpoint
from jetpointnet.training.config import TrainConfig
from jetpointnet.training.dataset import (
    EXTRA_FILL,
    collate,
    feature_indices,
    feature_names,
    load_chunk,
    split_files,
)
from jetpointnet.training.distributed import resolve_device
from jetpointnet.training.run_folder import RunFolder, read_run
from jetpointnet.training.tasks import make_task

__all__ = ["load_model", "load_run", "predict"]


def load_run(
    run_dir: str | Path | RunFolder, *, checkpoint: str = "best", device: str = "auto"
) -> tuple[nn.Module, TrainConfig, dict]:
    """The model of a run (eval mode, on ``device``), its resolved config and data metadata.

    ``checkpoint``: ``best``, ``last`` or a path to a ``.pt`` file. The metadata is the
    copy of the training data's ``metadata.json`` stored in the run folder.
    """
    run = read_run(run_dir)
    return load_model(run, checkpoint=checkpoint, device=device), run.config, run.metadata


def load_model(run: RunFolder, *, checkpoint: str = "best", device: str = "auto") -> nn.Module:
    """The model of the run folder ``run`` with checkpoint ``checkpoint`` (eval mode)."""
    cfg = run.config
    task = make_task(cfg.task)
    model = build_model(
        cfg.model.name,
        cfg.model.options,
        in_features=run.info.in_features,
        head=task.head,
        feature_names=feature_names(run.metadata, cfg.data.features),
        where=str(run.path / "config.yaml"),
    )
    dev = resolve_device(device)
    state = load_checkpoint(run.checkpoint(checkpoint), map_location=dev)
    model.load_state_dict(state["model"])
    model.to(dev).eval()
    return model


@torch.no_grad()
def predict(
    run_dir: str | Path | RunFolder,
    data_dir: str | Path,
    *,
    split: str = "test",
    checkpoint: str = "best",
    batch_size: int = 256,
    device: str = "auto",
    progress: bool = True,
) -> dict[str, np.ndarray]:
    """Per-point predictions of a run on ``data_dir``'s ``split``.

    Returns arrays concatenated over the split's chunk files in sorted file order, in the
    ragged point order of those files (padded files: their real points only, row-major):

    - ``pred``: per point; regression: predicted focal energy in GeV, ``(P,)``; binary:
      probability that the cell is focal, ``(P,)``; multiclass: ``(P, 4)`` probabilities
      in ``CellClass`` order;
    - ``offsets``: ``(n + 1,)`` int64, sample ``i`` owns points ``offsets[i]:offsets[i+1]``;
    - the per-sample arrays of the data contract (``n_points``, ``event_number``,
      ``entry``, ``track_index``, ``file_index``, ``track_p``, ...) found in every file,
      each ``(n,)``.

    Samples are batched by similar length within a file (less padding); the order of
    the outputs does not depend on it.
    """
    model, cfg, _ = load_run(run_dir, checkpoint=checkpoint, device=device)
    dev = next(model.parameters()).device
    task = make_task(cfg.task)
    metadata = read_metadata(data_dir)
    features = feature_indices(metadata, cfg.data.features, where=str(data_dir))
    files = split_files(data_dir, split)
    preds: list[np.ndarray] = []
    offsets: list[np.ndarray] = [np.zeros(1, dtype=np.int64)]
    per_sample: dict[str, list[np.ndarray]] = {}
    n_points = 0
    for path in tqdm(files, desc=f"predict {split}", disable=not progress):
        extras = [k for k in model.inputs if k in EXTRA_FILL]
        chunk = load_chunk(path, features=features, extras=extras)
        lengths = np.diff(chunk.offsets)
        order = np.argsort(lengths, kind="stable")
        k = 4 if cfg.task.name == "multiclass" else 1
        flat = np.zeros((int(chunk.offsets[-1]), k), dtype=np.float32)
        for lo in range(0, chunk.n, batch_size):
            idx = order[lo : lo + batch_size]
            batch = collate({0: chunk}, [(0, int(i)) for i in idx], idx)
            batch = {name: t.to(dev) for name, t in batch.items()}
            use_amp = dev.type == "cuda" and cfg.train.amp
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=use_amp):
                more = {k: batch[k] for k in extras}
                out = model(batch["x"], batch["mask"], batch["energy"], **more)["pred"]
            p = task.predict(out).float().cpu().numpy().reshape(len(idx), -1, k)
            for row, i in enumerate(idx):
                a, b = chunk.offsets[i], chunk.offsets[i + 1]
                flat[a:b] = p[row, : b - a]
        preds.append(flat if k > 1 else flat[:, 0])
        offsets.append(chunk.offsets[1:] + n_points)
        n_points += int(chunk.offsets[-1])
        for name, values in chunk.per_sample.items():
            per_sample.setdefault(name, []).append(values)
    result = {name: np.concatenate(v) for name, v in per_sample.items() if len(v) == len(files)}
    result["pred"] = np.concatenate(preds)
    result["offsets"] = np.concatenate(offsets)
    return result
