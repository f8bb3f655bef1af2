"""Shared setup of the predict / export / transfer / tune tests: tiny real data and runs.

Simulated MLTree files -> ``preprocess`` (demo config) -> a small PointNet trained for
one or two epochs on CPU. Everything is built from seeds; nothing is committed.
"""

from __future__ import annotations

from pathlib import Path

from jetpointnet.config import load_config
from jetpointnet.data.config import PreprocessConfig
from jetpointnet.data.preprocess import preprocess
from jetpointnet.training.config import TrainConfig
from jetpointnet.training.loop import train

ROOT = Path(__file__).parents[1]
DATA_CONFIG = ROOT / "configs" / "data" / "demo.yaml"
SMALL = ROOT / "configs" / "train" / "small.yaml"

CPU = ["train.device=cpu", "train.tensorboard=false", "train.threads=1"]


def make_data(files: list[Path], out: Path, *, events_per_chunk: int = 20) -> Path:
    """Preprocess ``files`` with the demo config into ``out``."""
    cfg = load_config(PreprocessConfig, DATA_CONFIG, [f"events_per_chunk={events_per_chunk}"])
    preprocess([str(f) for f in files], out, config=cfg, progress=False)
    return out


def train_config(*overrides: str) -> TrainConfig:
    """The small CPU preset with ``overrides``."""
    return load_config(TrainConfig, SMALL, [*CPU, "train.epochs=1", *overrides])


def make_run(data: Path, out: Path, *overrides: str) -> Path:
    """Train the small preset on ``data`` into ``out``; returns the run folder."""
    return train(train_config(*overrides), data_dir=data, out_dir=out, progress=False).run_dir
