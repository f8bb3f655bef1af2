"""Loading a trained run and predicting on a split: the API evaluation calls.

:func:`load_run` rebuilds the model of a run folder from its ``config.yaml`` and a
checkpoint; :func:`predict` runs it over the chunk files of a split, one chunk at a time
through :func:`predict_points`, the batched loop that ``jetpointnet predict`` uses too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from jetpointnet.config import load_config
from jetpointnet.data.arrays import read_metadata
from jetpointnet.errors import UserError
from jetpointnet.io.sample_files import read_json
from jetpointnet.models.registry import build_model
from jetpointnet.training.checkpoint import load_checkpoint
from jetpointnet.training.config import TrainConfig
from jetpointnet.training.dataset import (
    EXTRA_FILL,
    Chunk,
    collate,
    feature_indices,
    feature_names,
    load_chunk,
    split_files,
)
from jetpointnet.training.distributed import resolve_device
from jetpointnet.training.tasks import Task, make_task

__all__ = ["load_run", "predict", "predict_points"]


def load_run(
    run_dir: str | Path, *, checkpoint: str = "best", device: str = "auto"
) -> tuple[nn.Module, TrainConfig, dict]:
    """The model of a run (eval mode, on ``device``), its resolved config and data metadata.

    ``checkpoint``: ``best``, ``last`` or a path to a ``.pt`` file. The metadata is the
    copy of the training data's ``metadata.json`` stored in the run folder.
    """
    run = Path(run_dir)
    if not (run / "config.yaml").is_file():
        raise UserError(f"{run}: not a run folder (no config.yaml)")
    cfg = load_config(TrainConfig, run / "config.yaml")
    metadata = read_json(run / "metadata.json")
    info = read_json(run / "run.json")
    task = make_task(cfg.task)
    model = build_model(
        cfg.model.name,
        cfg.model.options,
        in_features=int(info["in_features"]),
        head=task.head,
        feature_names=feature_names(metadata, cfg.data.features),
        where=str(run / "config.yaml"),
    )
    path = run / f"{checkpoint}.pt" if checkpoint in ("best", "last") else Path(checkpoint)
    dev = resolve_device(device)
    state = load_checkpoint(path, map_location=dev)
    model.load_state_dict(state["model"])
    model.to(dev).eval()
    return model, cfg, metadata


@torch.no_grad()
def predict(
    run_dir: str | Path,
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
    extras = [k for k in model.inputs if k in EXTRA_FILL]
    use_amp = dev.type == "cuda" and cfg.train.amp

    def forward(batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        batch = {name: t.to(dev) for name, t in batch.items()}
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=use_amp):
            more = {k: batch[k] for k in extras}
            return model(batch["x"], batch["mask"], batch["energy"], **more)["pred"]

    for path in tqdm(files, desc=f"predict {split}", disable=not progress):
        chunk = load_chunk(path, features=features, extras=extras)
        preds.append(predict_points(forward, task, chunk, batch_size=batch_size))
        offsets.append(chunk.offsets[1:] + n_points)
        n_points += int(chunk.offsets[-1])
        for name, values in chunk.per_sample.items():
            per_sample.setdefault(name, []).append(values)
    result = {name: np.concatenate(v) for name, v in per_sample.items() if len(v) == len(files)}
    result["pred"] = np.concatenate(preds)
    result["offsets"] = np.concatenate(offsets)
    return result


def predict_points(
    forward: Callable[[dict[str, torch.Tensor]], torch.Tensor | np.ndarray],
    task: Task,
    chunk: Chunk,
    *,
    batch_size: int,
) -> np.ndarray:
    """Per-point predictions of one ragged chunk, in its point order.

    Samples are sorted by length and batched ``batch_size`` at a time, each batch padded
    to its longest sample (:func:`~jetpointnet.training.dataset.collate`, which carries
    the chunk's extra arrays); ``forward(batch)`` returns the head's raw output ``(B, N)``
    or ``(B, N, 4)`` (a tensor or numpy array), which the task turns into predictions:
    regression: GeV, ``(P,)``; binary: probabilities ``(P,)``; multiclass ``(P, 4)``.
    """
    lengths = np.diff(chunk.offsets)
    order = np.argsort(lengths, kind="stable")
    k = 4 if task.name == "multiclass" else 1
    flat = np.zeros((int(chunk.offsets[-1]), k), dtype=np.float32)
    for lo in range(0, chunk.n, batch_size):
        idx = order[lo : lo + batch_size]
        batch = collate({0: chunk}, [(0, int(i)) for i in idx], idx)
        out = torch.as_tensor(forward(batch))
        p = task.predict(out).float().cpu().numpy().reshape(len(idx), -1, k)
        for row, i in enumerate(idx):
            a, b = chunk.offsets[i], chunk.offsets[i + 1]
            flat[a:b] = p[row, : b - a]
    return flat if k > 1 else flat[:, 0]
