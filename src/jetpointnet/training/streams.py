"""What training reads of a preprocessed folder, and the train / validation streams.

:func:`read_train_data` reads the folder's metadata and lists the splits' files;
:func:`build_streams` turns them into the batch streams of
:mod:`jetpointnet.training.dataset` (with the replay data of transfer learning mixed
into the training stream when ``transfer.replay_data`` is set).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jetpointnet.errors import UserError
from jetpointnet.io.prep_folder import feature_count, read_metadata, split_files
from jetpointnet.training import distributed
from jetpointnet.training.config import TrainConfig
from jetpointnet.training.dataset import ChunkStream, feature_indices
from jetpointnet.training.replay import ReplayStream

__all__ = ["TrainData", "build_streams", "read_train_data"]


@dataclass
class TrainData:
    """What training reads of a data folder before building anything."""

    metadata: dict
    features: list[int] | None  # columns of X the model sees (None: all)
    train_files: list[Path]
    val_files: list[Path]
    in_features: int


def read_train_data(cfg: TrainConfig, data_dir: Path) -> TrainData:
    """The data folder's metadata, the selected feature columns and the split files."""
    metadata = read_metadata(data_dir)
    features = feature_indices(metadata, cfg.data.features, where="config")
    train_files = split_files(data_dir, cfg.data.train_split)
    val_files = split_files(data_dir, cfg.data.val_split)
    in_features = len(features) if features is not None else feature_count(train_files[0])
    return TrainData(metadata, features, train_files, val_files, in_features)


def build_streams(
    cfg: TrainConfig, data: TrainData, *, extras: list[str], info: distributed.DistInfo
) -> tuple[ChunkStream | ReplayStream, ChunkStream]:
    """The training stream (shuffled, equal shares per rank; with replay data mixed in
    when ``transfer.replay_data`` is set) and the validation stream."""
    tc = cfg.train
    common: dict[str, Any] = {
        "batch_size": cfg.data.batch_size,
        "seed": tc.seed,
        "features": data.features,
        "extras": extras,
        "rank": info.rank,
        "world_size": info.world_size,
    }
    train_ds: ChunkStream | ReplayStream = ChunkStream(
        data.train_files,
        shuffle=True,
        buffer_size=cfg.data.shuffle_buffer,
        bucketing=cfg.data.bucketing,
        bucket_batches=cfg.data.bucket_batches,
        max_samples=tc.samples_per_epoch,
        equal_shares=True,
        **common,
    )
    if cfg.transfer.replay_data is not None:
        train_ds = _replay_stream(train_ds, cfg, data.metadata, common)
    val_ds = ChunkStream(
        data.val_files,
        shuffle=False,
        bucketing=cfg.data.bucketing,
        max_samples=tc.val_samples,
        **common,
    )
    return train_ds, val_ds


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
    source = ChunkStream(
        split_files(src_dir, cfg.data.train_split),
        shuffle=True,
        buffer_size=cfg.data.shuffle_buffer,
        bucketing=cfg.data.bucketing,
        bucket_batches=cfg.data.bucket_batches,
        max_samples=0,
        equal_shares=True,
        **{**common, "seed": cfg.train.seed + 1_000_003},
    )
    return ReplayStream(target, source, schedule=cfg.transfer.replay_schedule, seed=cfg.train.seed)
