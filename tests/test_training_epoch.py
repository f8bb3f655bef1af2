"""One epoch's pass (training/epoch.py): the deferred loss check, bf16 on CPU, the loader."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from synthetic_arrays import write_dataset
from tiny_runs import TINY_POINTNET

from jetpointnet.config import load_config
from jetpointnet.io.prep_folder import split_files
from jetpointnet.training.config import TrainConfig
from jetpointnet.training.dataset import ChunkStream
from jetpointnet.training.distributed import DistInfo
from jetpointnet.training.epoch import (
    CHECK_EVERY,
    TrainingDiverged,
    _LossWatch,
    amp_enabled,
    make_loader,
    to_device,
)
from jetpointnet.training.loop import train

TINY = TINY_POINTNET
CPU = DistInfo(rank=0, world_size=1, local_rank=0, device=torch.device("cpu"), initialised=False)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(
        tmp_path_factory.mktemp("d") / "data", files={"train": 2, "val": 1}, samples_per_file=32
    )


def test_deferred_loss_check_names_the_first_bad_step() -> None:
    watch = _LossWatch(CPU, epoch=2, every=4)
    for step, value in enumerate([0.5, 0.4, 0.3]):
        watch.add(step, torch.tensor(value))  # finite, and fewer than 4: no check yet
    watch.add(3, torch.tensor(0.2))  # the 4th: checked, all finite
    watch.add(4, torch.tensor(0.1))
    watch.add(5, torch.tensor(math.inf))
    watch.add(6, torch.tensor(math.nan))
    with pytest.raises(TrainingDiverged, match=r"^epoch 3, step 6: the loss is inf"):
        watch.check()  # the end of the epoch checks what is left


def test_loss_check_every_step_on_cpu_and_every_n_on_cuda() -> None:
    assert _LossWatch(CPU, epoch=0).every == 1
    cuda = DistInfo(0, 1, 0, torch.device("cuda", 0), False)  # only read, never used
    assert _LossWatch(cuda, epoch=0).every == CHECK_EVERY > 1


def test_amp_options_per_device() -> None:
    cfg = load_config(TrainConfig, None, ["train.amp=true", "train.amp_cpu=false"])
    assert amp_enabled(cfg, torch.device("cuda", 0))
    assert not amp_enabled(cfg, torch.device("cpu"))
    cfg.train.amp, cfg.train.amp_cpu = False, True
    assert amp_enabled(cfg, torch.device("cpu"))
    assert not amp_enabled(cfg, torch.device("cuda", 0))


def test_bf16_on_cpu_trains(data: Path, tmp_path: Path) -> None:
    plain = train(load_config(TrainConfig, None, [*TINY, "train.epochs=1"]),
                  data_dir=data, out_dir=tmp_path / "fp32", progress=False)  # fmt: skip
    bf16 = train(load_config(TrainConfig, None, [*TINY, "train.epochs=1", "train.amp_cpu=true"]),
                 data_dir=data, out_dir=tmp_path / "bf16", progress=False)  # fmt: skip
    a = [r["train_loss"] for r in plain.history]
    b = [r["train_loss"] for r in bf16.history]
    assert all(np.isfinite(b))
    assert a != b  # bf16 changes the arithmetic: autocast was on
    np.testing.assert_allclose(a, b, rtol=0.1)  # ... and not the training


def test_loader_moves_every_tensor(data: Path) -> None:
    cfg = load_config(TrainConfig, None, TINY)
    ds = ChunkStream(split_files(data, "train"), batch_size=16)
    batches = list(make_loader(ds, cfg, torch.device("cpu")))
    assert sum(len(b["sample_id"]) for b in batches) == 64
    moved = to_device(batches[0], torch.device("meta"))
    assert set(moved) == set(batches[0]) and all(v.is_meta for v in moved.values())
