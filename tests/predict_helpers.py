"""Shared setup of the predict / export / transfer / tune tests: tiny real data and runs.

Simulated MLTree files -> ``preprocess`` (demo config) -> a small PointNet (or another
preset of ``configs/train``) trained for one or two epochs on CPU. Everything is built
from seeds; nothing is committed.
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
#: The stage-2 arrays of the cnn and gnn (``arrays.extra``).
EXTRAS = "arrays.extra=[d_eta, d_phi, sampling, neighbours]"

CPU = ["train.device=cpu", "train.tensorboard=false", "train.threads=1"]


def make_data(files: list[Path], out: Path, *overrides: str, events_per_chunk: int = 20) -> Path:
    """Preprocess ``files`` with the demo config (and ``overrides``) into ``out``."""
    cfg = load_config(
        PreprocessConfig, DATA_CONFIG, [f"events_per_chunk={events_per_chunk}", *overrides]
    )
    preprocess([str(f) for f in files], out, config=cfg, progress=False)
    return out


def train_config(*overrides: str, preset: Path = SMALL) -> TrainConfig:
    """The small CPU preset (or ``preset``) with ``overrides``."""
    return load_config(TrainConfig, preset, [*CPU, "train.epochs=1", *overrides])


def make_run(data: Path, out: Path, *overrides: str, preset: Path = SMALL) -> Path:
    """Train the small preset (or ``preset``) on ``data`` into ``out``; the run folder."""
    cfg = train_config(*overrides, preset=preset)
    return train(cfg, data_dir=data, out_dir=out, progress=False).run_dir
