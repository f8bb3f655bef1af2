"""Two CPU processes with the gloo backend train one model (training/distributed.py)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from synthetic_arrays import write_dataset

from jetpointnet.config import load_config
from jetpointnet.training.config import TrainConfig
from jetpointnet.training.logging import read_log
from jetpointnet.training.loop import train

OVERRIDES = [
    "model.options.tnet_mlp=[8,16,32]",
    "model.options.tnet_fc=[16,8]",
    "model.options.point_mlp=[16,16]",
    "model.options.global_mlp=[16,32]",
    "model.options.seg_mlp=[32,16]",
    "data.batch_size=8",
    "train.epochs=2",
    "train.device=cpu",
    "train.threads=1",
    "train.tensorboard=false",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, data: str, out: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world),
    )
    cfg = load_config(TrainConfig, None, OVERRIDES)
    result = train(cfg, data_dir=data, out_dir=out, progress=False)
    state = {k: v.clone() for k, v in result.model.state_dict().items()}
    torch.save(state, Path(out).parent / f"rank{rank}.pt")


@pytest.mark.timeout(120)
def test_gloo_two_processes_agree(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data", files={"train": 2, "val": 1}, samples_per_file=20)
    out = tmp_path / "run"
    mp.spawn(_worker, args=(2, _free_port(), str(data), str(out)), nprocs=2, join=True)
    s0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    s1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert s0.keys() == s1.keys()
    for name in s0:
        assert torch.equal(s0[name], s1[name]), name
    # only rank 0 wrote the run folder; its checkpoint holds the shared weights
    rows = read_log(out / "log.csv")
    assert [r["epoch"] for r in rows] == [1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "rank0.pt", "rank1.pt", "run"]
    saved = torch.load(out / "last.pt", weights_only=True)["model"]
    assert all(torch.equal(saved[k], s0[k]) for k in s0)
