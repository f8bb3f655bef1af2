"""Shared test settings: the tiny PointNet's ``--set`` overrides and the npz chunks of a folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["TINY_POINTNET", "npz_chunks"]

#: ``--set`` overrides of a PointNet small enough for one CPU thread in a test.
TINY_POINTNET = [
    "model.options.tnet_mlp=[8,16,32]",
    "model.options.tnet_fc=[16,8]",
    "model.options.point_mlp=[16,16]",
    "model.options.global_mlp=[16,32]",
    "model.options.seg_mlp=[32,16]",
    "data.batch_size=16",
    "data.shuffle_buffer=64",
    "train.device=cpu",
    "train.threads=1",
    "train.tensorboard=false",
]


def npz_chunks(out: Path) -> tuple[list[Path], list[dict[str, np.ndarray]]]:
    """The stage-2 npz files of a preprocessed folder (sorted) and their arrays."""
    files = sorted((out / "arrays").glob("*/*.npz"))
    return files, [dict(np.load(f)) for f in files]
