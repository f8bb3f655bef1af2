"""Batched inference, the one loop of the project, and a trained run on a split.

The loop has three parts that any source of samples can combine:

- :func:`padded_batches` cuts ragged samples (points of all samples concatenated,
  sample ``i`` owning rows ``offsets[i]:offsets[i+1]``) into padded batches of similar
  length (:class:`PaddedBatch`, numpy);
- a *forward*: any callable ``forward(x, mask, energy, *, extras=None)`` returning the
  model's raw ``pred`` for a padded batch, as a tensor or a numpy array (``(B, N)`` or
  ``(B, N, K)``); :class:`TorchForward` is the one of a PyTorch model, and an ONNX
  session wrapped the same way fits too;
- :func:`infer` runs a forward over batches from any iterable, applies the task's
  ``predict`` and scatters the per-point predictions back to the ragged point order.

:func:`load_run` rebuilds the model of a run folder (read by
:func:`~jetpointnet.training.run_folder.read_run`) from a checkpoint, :func:`load_model`
that of a folder already read; :func:`predict` runs it over the chunk files of a split and returns, with
the predictions, the labels and stage-1 keys it read from the same files (so that
evaluation reads each file once).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from jetpointnet.io.prep_folder import concat_chunks, read_metadata, split_files
from jetpointnet.models.registry import PointCloudModel, build_model
from jetpointnet.training.checkpoint import load_checkpoint
from jetpointnet.training.config import TrainConfig
from jetpointnet.training.dataset import (
    EXTRA_FILL,
    OPTIONAL_LABELS,
    feature_indices,
    feature_names,
    load_chunk,
)
from jetpointnet.training.distributed import resolve_device
from jetpointnet.training.run_folder import RunFolder, read_run
from jetpointnet.training.tasks import Task, make_task

__all__ = [
    "Forward",
    "PaddedBatch",
    "TorchForward",
    "infer",
    "load_model",
    "load_run",
    "padded_batches",
    "predict",
]

#: ``forward(x, mask, energy, *, extras=None) -> raw pred`` of one padded batch.
Forward = Callable[..., "torch.Tensor | np.ndarray"]


@dataclass
class PaddedBatch:
    """One padded batch: ``x`` (B, N, F) float32, ``mask`` (B, N) bool (real points),
    ``energy`` (B, N) float32 GeV, ``extras`` (B, N) or (B, N, K) padded as
    :data:`~jetpointnet.training.dataset.EXTRA_FILL` says, and ``rows``: for the real
    points in row-major order (``mask`` True), their rows in the ragged output."""

    x: np.ndarray
    mask: np.ndarray
    energy: np.ndarray
    extras: dict[str, np.ndarray]
    rows: np.ndarray


#: Inference batches hold at most this many padded points (B x N): on long clouds a batch
#: of ``batch_size`` would otherwise grow with N (EdgeConv's kNN with N^2; 21 GB for one
#: evaluation of R = 0.4 dijet cones before this cap, BENCHMARKS.md "neighbourhood size").
MAX_BATCH_POINTS = 65_536


def _batch_starts(sorted_lengths: np.ndarray, batch_size: int, max_points: int) -> list[int]:
    """Start of each batch over lengths sorted ascending: at most ``batch_size`` samples
    and ``max_points`` padded points (a longer sample still gets a batch of its own)."""
    starts, lo, n = [], 0, len(sorted_lengths)
    while lo < n:
        starts.append(lo)
        hi = min(lo + batch_size, n)
        # the padded size of [lo, hi) is (hi - lo) * sorted_lengths[hi - 1]
        while hi - lo > 1 and (hi - lo) * int(sorted_lengths[hi - 1]) > max_points:
            hi -= 1
        lo = hi
    return [*starts, n]


def padded_batches(
    x: np.ndarray,
    energy: np.ndarray,
    offsets: np.ndarray,
    *,
    batch_size: int,
    extras: Mapping[str, np.ndarray] | None = None,
    max_points: int = MAX_BATCH_POINTS,
) -> Iterator[PaddedBatch]:
    """Ragged samples as padded batches of ``batch_size``, sorted by length (stable), each
    padded to its longest sample and holding at most ``max_points`` padded points.
    ``x`` (P, F), ``energy`` (P,) GeV, ``offsets`` (n + 1,), ``extras``: ragged arrays
    (P,) or (P, K), keys of ``EXTRA_FILL``."""
    extras = extras or {}
    offsets = np.asarray(offsets, dtype=np.int64)
    lengths = np.diff(offsets)
    order = np.argsort(lengths, kind="stable")
    bounds = _batch_starts(lengths[order], batch_size, max_points)
    for lo, hi in itertools.pairwise(bounds):
        idx = order[lo:hi]
        n = max(1, int(lengths[idx].max(initial=0)))
        pos = np.arange(n)
        mask = pos[None, :] < lengths[idx, None]  # (B, N)
        rows = (offsets[idx, None] + pos[None, :])[mask]  # rows of the real points
        xb = np.zeros((len(idx), n, x.shape[1]), np.float32)
        eb = np.zeros((len(idx), n), np.float32)
        xb[mask] = x[rows]
        eb[mask] = energy[rows]
        more = {}
        for name, arr in extras.items():
            dtype, fill = EXTRA_FILL[name]
            more[name] = np.full((len(idx), n, *arr.shape[1:]), fill, dtype=dtype)
            more[name][mask] = arr[rows]  # indices are sample-local: unchanged
        yield PaddedBatch(xb, mask, eb, more, rows)


class TorchForward:
    """A PyTorch model (eval mode) on its device as a :data:`Forward`; bfloat16 autocast
    on CUDA when ``amp``. Returns the raw ``pred`` tensor, on the model's device."""

    def __init__(self, model: nn.Module, *, amp: bool = False) -> None:
        self.model = model.eval()
        self.device = next(model.parameters()).device
        self.amp = amp and self.device.type == "cuda"

    @torch.no_grad()
    def __call__(
        self,
        x: np.ndarray,
        mask: np.ndarray,
        energy: np.ndarray,
        *,
        extras: Mapping[str, np.ndarray] | None = None,
    ) -> torch.Tensor:
        dev = self.device
        more = {k: torch.from_numpy(v).to(dev) for k, v in (extras or {}).items()}
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=self.amp):
            return self.model(
                torch.from_numpy(x).to(dev),
                torch.from_numpy(mask).to(dev),
                torch.from_numpy(energy).to(dev),
                **more,
            )["pred"]


@torch.no_grad()
def infer(
    forward: Forward, task: Task, batches: Iterable[PaddedBatch], *, n_points: int
) -> np.ndarray:
    """Per-point predictions of ``n_points`` ragged points from padded ``batches``.

    Regression: GeV, ``(P,)``; binary: probability of focal, ``(P,)``; multiclass:
    ``(P, 4)`` probabilities in ``CellClass`` order. Points no batch covers stay 0.
    """
    k = 4 if task.name == "multiclass" else 1
    flat = np.zeros((n_points, k), dtype=np.float32)
    for b in batches:
        raw = forward(b.x, b.mask, b.energy, extras=b.extras)
        out = raw if isinstance(raw, torch.Tensor) else torch.from_numpy(np.asarray(raw))
        p = task.predict(out).float().cpu().numpy().reshape(len(b.x), -1, k)
        flat[b.rows] = p[b.mask]
    return flat if k > 1 else flat[:, 0]


def load_run(
    run_dir: str | Path | RunFolder, *, checkpoint: str = "best", device: str = "auto"
) -> tuple[PointCloudModel, TrainConfig, dict]:
    """The model of a run (eval mode, on ``device``), its resolved config and data metadata.

    ``checkpoint``: ``best``, ``last`` or a path to a ``.pt`` file. The metadata is the
    copy of the training data's ``metadata.json`` stored in the run folder.
    """
    run = read_run(run_dir)
    return load_model(run, checkpoint=checkpoint, device=device), run.config, run.metadata


def load_model(
    run: RunFolder, *, checkpoint: str = "best", device: str = "auto"
) -> PointCloudModel:
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
    data_dir: str | os.PathLike[str],
    *,
    split: str = "test",
    checkpoint: str = "best",
    batch_size: int = 256,
    device: str = "auto",
    progress: bool = True,
) -> dict[str, np.ndarray]:
    """Per-point predictions of a run on ``data_dir``'s ``split``, with its labels.

    Returns arrays concatenated over the split's chunk files in sorted file order, in the
    ragged point order of those files (padded files: their real points only, row-major),
    each file read once:

    - ``pred``: per point; regression: predicted focal energy in GeV, ``(P,)``; binary:
      probability that the cell is focal, ``(P,)``; multiclass: ``(P, 4)`` probabilities
      in ``CellClass`` order;
    - ``offsets``: ``(n + 1,)`` int64, sample ``i`` owns points ``offsets[i]:offsets[i+1]``;
    - the labels per point, as ``evaluation.inputs.load_labels`` gives them
      (``POINT_ARRAYS`` and, where every file has them, ``OPTIONAL_LABELS``);
    - the per-sample arrays of the data contract (``n_points``, ``event_number``, and the
      stage-1 keys ``file_index``, ``entry``, ``track_index``, ``track_p``, ...) found in
      every file, each ``(n,)``.

    Samples are batched by similar length within a file (less padding); the order of
    the outputs does not depend on it.
    """
    model, cfg, _ = load_run(run_dir, checkpoint=checkpoint, device=device)
    task = make_task(cfg.task)
    forward = TorchForward(model, amp=cfg.train.amp)
    metadata = read_metadata(data_dir)
    features = feature_indices(metadata, cfg.data.features, where=str(data_dir))
    files = split_files(data_dir, split)
    extras = [k for k in model.inputs if k in EXTRA_FILL]
    parts: list[dict[str, np.ndarray]] = []
    for path in tqdm(files, desc=f"predict {split}", disable=not progress):
        chunk = load_chunk(path, features=features, extras=extras, optional=OPTIONAL_LABELS)
        batches = padded_batches(
            chunk.x,
            chunk.points["energy"],
            chunk.offsets,
            batch_size=batch_size,
            extras={k: chunk.points[k] for k in extras},
        )
        pred = infer(forward, task, batches, n_points=int(chunk.offsets[-1]))
        labels = {k: v for k, v in chunk.points.items() if k not in extras}
        parts.append({"pred": pred, **labels, **chunk.per_sample, "offsets": chunk.offsets})
    return concat_chunks(parts)
