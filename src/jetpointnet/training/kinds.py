"""Data kinds: how ``train`` streams, builds and calls a model for one kind of sample.

A preprocessed folder says its kind in ``metadata.json`` (``"kind"``; folders without it
are per-track, kind ``"track"``). A :class:`Kind` bundles what differs between kinds:

- ``make_streams(cfg, data_dir, metadata, *, model, rank, world_size)`` -> the training
  and validation streams (iterables of CPU batches, dicts of tensors that carry a
  ``sample_id`` (B,)); the training stream has ``set_epoch(epoch)`` and ``__len__``
  (batches per epoch);
- ``build_model(cfg, metadata, task)`` -> ``(model, in_features)``;
- ``forward(net, batch)`` -> ``{"pred": ..., "aux_loss": scalar}``;
- ``batch_orders``: the values of ``data.batch_order`` its streams honour.

Everything else (optimizer, schedule, checkpoints, logging, resumption, torchrun) is the
loop's and the same for every kind. A new kind is a module that calls
:func:`register_kind` at import and is imported in ``jetpointnet.training``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from jetpointnet.errors import UserError, did_you_mean
from jetpointnet.io.prep_folder import feature_count, read_metadata, split_files
from jetpointnet.models.registry import build_model
from jetpointnet.training.config import TrainConfig
from jetpointnet.training.dataset import (
    EXTRA_FILL,
    ChunkStream,
    feature_indices,
    feature_names,
)
from jetpointnet.training.replay import ReplayStream
from jetpointnet.training.tasks import Task

__all__ = ["KINDS", "Kind", "check_batch_order", "kind_of", "register_kind"]

Batch = dict[str, torch.Tensor]


@dataclass(frozen=True)
class Kind:
    """What ``train`` needs to know about one kind of sample (see the module docstring)."""

    name: str
    make_streams: Callable[..., tuple[Any, Any]]
    build_model: Callable[..., tuple[nn.Module, int]]
    forward: Callable[[nn.Module, Batch], dict[str, Any]]
    batch_orders: tuple[str, ...] = ("shuffled",)  # the data.batch_order values it streams


def check_batch_order(kind: Kind, batch_order: str) -> None:
    """A UserError when ``kind``'s streams do not offer ``data.batch_order``."""
    if batch_order not in kind.batch_orders:
        raise UserError(
            f"config: data.batch_order {batch_order!r} is not offered by data of kind "
            f"{kind.name!r} (one of {list(kind.batch_orders)})"
        )


KINDS: dict[str, Kind] = {}


def register_kind(kind: Kind) -> None:
    """Make ``kind`` available to ``train`` under ``kind.name``."""
    if kind.name in KINDS:
        raise ValueError(f"data kind {kind.name!r} is already registered")
    KINDS[kind.name] = kind


def kind_of(metadata: dict, *, where: str) -> Kind:
    """The :class:`Kind` of a preprocessed folder from its ``metadata.json``."""
    name = str(metadata.get("kind", "track"))
    if name not in KINDS:
        raise UserError(f"{where}: unknown data kind {name!r}" + did_you_mean(name, KINDS))
    return KINDS[name]


# --- the per-track kind: one cloud per focused track, one output per point -------------


def _track_model(cfg: TrainConfig, metadata: dict, task: Task, *, data_dir: Path):
    features = feature_indices(metadata, cfg.data.features, where="config")
    if features is not None:
        in_features = len(features)
    else:
        in_features = feature_count(split_files(data_dir, cfg.data.train_split)[0])
    model = build_model(
        cfg.model.name,
        cfg.model.options,
        in_features=in_features,
        head=task.head,
        feature_names=feature_names(metadata, cfg.data.features),
    )
    return model, in_features


def _track_streams(
    cfg: TrainConfig,
    data_dir: Path,
    metadata: dict,
    *,
    model: nn.Module,
    rank: int,
    world_size: int,
):
    common: dict[str, Any] = {
        "batch_size": cfg.data.batch_size,
        "seed": cfg.train.seed,
        "features": feature_indices(metadata, cfg.data.features, where="config"),
        "extras": [k for k in getattr(model, "inputs", ()) if k in EXTRA_FILL],
        "rank": rank,
        "world_size": world_size,
    }
    target = _train_stream(data_dir, cfg, common, max_samples=cfg.train.samples_per_epoch)
    train_ds: ChunkStream | ReplayStream = target
    if cfg.transfer.replay_data is not None:
        train_ds = _replay_stream(target, cfg, metadata, common)
    val_ds = ChunkStream(
        split_files(data_dir, cfg.data.val_split),
        shuffle=False,
        bucketing=cfg.data.bucketing,
        max_samples=cfg.train.val_samples,
        **common,
    )
    return train_ds, val_ds


def _train_stream(
    data_dir: Path, cfg: TrainConfig, common: dict[str, Any], *, max_samples: int | None
) -> ChunkStream:
    """A shuffled, bucketed training stream over ``data_dir``'s training split (DDP shares)."""
    return ChunkStream(
        split_files(data_dir, cfg.data.train_split),
        shuffle=True,
        buffer_size=cfg.data.shuffle_buffer,
        bucketing=cfg.data.bucketing,
        bucket_batches=cfg.data.bucket_batches,
        max_samples=max_samples,
        equal_shares=True,
        **common,
    )


def _replay_stream(
    target: ChunkStream, cfg: TrainConfig, metadata: dict, common: dict[str, Any]
) -> ReplayStream:
    """The target stream with the source dataset's training split replayed into it."""
    src_dir = Path(cfg.transfer.replay_data or "")
    src_meta = read_metadata(src_dir)
    if list(src_meta.get("features") or []) != list(metadata.get("features") or []):
        raise UserError(
            f"{src_dir}: replay data has features {src_meta.get('features')}, "
            f"the training data {metadata.get('features')}"
        )
    source = _train_stream(
        src_dir, cfg, {**common, "seed": cfg.train.seed + 1_000_003}, max_samples=0
    )
    return ReplayStream(target, source, schedule=cfg.transfer.replay_schedule, seed=cfg.train.seed)


def _track_forward(net: nn.Module, batch: Batch) -> dict[str, Any]:
    extras = {k: batch[k] for k in EXTRA_FILL if k in batch}
    return net(batch["x"], batch["mask"], batch["energy"], **extras)


register_kind(
    Kind(
        name="track",
        make_streams=_track_streams,
        build_model=lambda cfg, metadata, task, *, data_dir: _track_model(
            cfg, metadata, task, data_dir=data_dir
        ),
        forward=_track_forward,
    )
)
