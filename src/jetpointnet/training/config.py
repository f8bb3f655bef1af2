"""``TrainConfig``: every option of ``jetpointnet train``, as typed dataclasses.

Loaded with :func:`jetpointnet.config.load_config` from ``configs/train/*.yaml`` and
``--set key=value`` overrides; the resolved config is stored in the run folder as
``config.yaml``. Units: learning rates per optimizer step; epochs count passes over
``train.samples_per_epoch`` samples (or the whole training split).
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field
from typing import Any, Literal

from jetpointnet.config import ConfigError, ConfigValueError, check_choices
from jetpointnet.errors import did_you_mean

__all__ = [
    "DataConfig",
    "ModelConfig",
    "TaskConfig",
    "TrainConfig",
    "TrainLoopConfig",
    "TransferConfig",
    "check_train_config",
]


@dataclass
class ModelConfig:
    """``name``: a registered model; ``options``: that model's config (e.g. PointNetConfig).

    Built, the options are checked against the model's config class and resolved into a
    new mapping with every default filled (the form stored in the run folder); an unknown
    model or option fails here, before any work, naming the closest valid names.
    """

    name: str = "pointnet"
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from jetpointnet.models.registry import all_model_names, options_dict

        names = all_model_names()
        if self.name not in names:
            allowed = ", ".join(repr(n) for n in names)
            raise ConfigValueError(
                "name",
                f"must be one of {allowed}, got {self.name!r}" + did_you_mean(self.name, names),
            )
        self.options = options_dict(self.name, self.options)


@dataclass
class TaskConfig:
    """What is learned per point, with its head and loss options.

    - ``regression``: focal energy ``y_energy`` (GeV) through the TSSR energy bypass;
      loss ``regression_loss``.
    - ``binary``: ``y_binary``; energy-weighted BCE (``energy_weight``: none, E, E2).
    - ``multiclass``: ``y_class`` (4 ``CellClass`` values); cross-entropy with optional
      ``class_weights`` (4 numbers) and ``energy_weight``.
    - ``tagging`` (one label per cloud) and ``event`` (event-level particle flow): tasks of
      the data kinds ``jet`` and ``event`` (:mod:`jetpointnet.training.kinds`).

    ``options``: task-specific options, validated by the task into its own dataclass.
    """

    name: Literal["regression", "binary", "multiclass", "tagging", "event"] = "regression"
    regression_loss: Literal["mse", "mae"] = "mse"
    energy_weight: Literal["none", "E", "E2"] = "none"
    class_weights: list[float] | None = None
    tssr_a: float = 0.05
    tssr_b: float = 0.1
    ortho_weight: float = 0.001
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_choices(self)
        cw = self.class_weights
        if self.name == "multiclass" and cw is not None and len(cw) != 4:
            raise ConfigValueError("class_weights", "needs 4 values (one per CellClass)")


@dataclass
class DataConfig:
    """How the stage-2 arrays are streamed.

    ``features``: names from ``metadata.json`` to feed the model (empty: all).
    ``shuffle_buffer``: samples held for shuffling across chunk files.
    ``bucketing``: group samples of similar length into batches (less padding);
    ``bucket_batches`` batches' worth of samples are sorted together.
    ``batch_order`` (per-object kinds ``jet`` and ``photon``): ``shuffled`` (default) or
    ``class_sorted``: batches of one class each (seed 003's batch-norm puzzle; see
    :mod:`jetpointnet.training.jet_stream`).
    """

    batch_size: int = 64
    features: list[str] = field(default_factory=list)
    shuffle_buffer: int = 4096
    bucketing: bool = False
    bucket_batches: int = 16
    num_workers: int = 0
    train_split: str = "train"
    val_split: str = "val"
    batch_order: Literal["shuffled", "class_sorted"] = "shuffled"

    def __post_init__(self) -> None:
        check_choices(self)
        _at_least(self, batch_size=1, shuffle_buffer=1, num_workers=0)


@dataclass
class TrainLoopConfig:
    """Optimizer, schedules, stopping and devices.

    ``schedule``: ``cosine`` (to ``min_lr`` over ``epochs``), ``step`` (times
    ``step_gamma`` every ``step_epochs``) or ``none``. Batch-norm momentum (PyTorch
    convention, weight of the new batch) starts at ``bn_momentum`` and is multiplied by
    ``bn_momentum_decay`` every ``bn_momentum_every`` epochs down to ``bn_momentum_min``
    (seed 000's callback; decay 1 keeps it constant). ``samples_per_epoch``: a random
    subset of the training split per epoch (seed 001); null for all. Early stopping
    after ``early_stopping`` epochs without a validation-loss improvement larger than
    ``min_delta`` (null: never).

    Speed (figures in BENCHMARKS.md, "training options on CPU"): ``amp``: bfloat16
    autocast on CUDA; ``amp_cpu``: the same on CPU (off by default); ``compile``:
    ``torch.compile`` of the model (dynamic shapes; the first steps of a run compile);
    ``threads``: CPU threads (null: PyTorch's default).
    """

    epochs: int = 20
    seed: int = 0
    lr: float = 1e-3
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    weight_decay: float = 0.0
    schedule: Literal["cosine", "step", "none"] = "cosine"
    min_lr: float = 0.0
    step_epochs: int = 10
    step_gamma: float = 0.5
    grad_clip: float | None = None
    bn_momentum: float = 0.5
    bn_momentum_decay: float = 0.5
    bn_momentum_every: int = 10
    bn_momentum_min: float = 0.01
    samples_per_epoch: int | None = None
    val_samples: int | None = None
    early_stopping: int | None = None
    min_delta: float = 0.0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    amp: bool = True
    amp_cpu: bool = False
    compile: bool = False
    threads: int | None = None
    tensorboard: bool = True

    def __post_init__(self) -> None:
        check_choices(self)
        _at_least(self, epochs=1, samples_per_epoch=1, val_samples=1, early_stopping=1)
        if not self.lr > 0:
            raise ConfigValueError("lr", "must be > 0")
        if not 0 <= self.bn_momentum <= 1:
            raise ConfigValueError("bn_momentum", "must be in [0, 1]")


@dataclass
class TransferConfig:
    """Transfer learning (seed 001): start from another run, freeze, replay its data.

    ``init_from``: a run folder whose ``init_checkpoint`` (``best``, ``last`` or a
    ``.pt`` path) initialises every parameter and buffer of the same name and shape
    (others keep their fresh initialisation; a head of another task is skipped).
    ``freeze``: regular expressions (``re.search``) on parameter names, e.g.
    ``^body\\.`` freezes the whole body and fine-tunes the head; frozen parameters get
    no gradient and are left out of the optimizer, and batch norms whose weight and bias
    are both frozen keep their running statistics (eval mode) during training.
    ``replay_data``: a preprocessed source dataset whose training split is replayed;
    ``replay_schedule``: per epoch, the share of the epoch's training samples drawn from
    it, in [0, 1) (the last value holds for later epochs), see
    :mod:`jetpointnet.training.replay`.
    """

    init_from: str | None = None
    init_checkpoint: str = "best"
    freeze: list[str] = field(default_factory=list)
    replay_data: str | None = None
    replay_schedule: list[float] = field(default_factory=lambda: [0.2])

    def __post_init__(self) -> None:
        if self.replay_data is None:
            return
        if not self.replay_schedule:
            raise ConfigValueError("replay_schedule", "needs at least one fraction")
        for f in self.replay_schedule:
            if not 0.0 <= float(f) < 1.0:
                raise ConfigValueError("replay_schedule", f": replay fraction {f} is not in [0, 1)")


@dataclass
class TrainConfig:
    """The whole configuration of a training run."""

    model: ModelConfig = field(default_factory=ModelConfig)
    task: TaskConfig = field(default_factory=TaskConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainLoopConfig = field(default_factory=TrainLoopConfig)
    transfer: TransferConfig = field(default_factory=TransferConfig)


def check_train_config(cfg: TrainConfig, *, where: str = "config") -> None:
    """Run the checks of every section again (for a config changed after it was built).

    A problem is a :class:`~jetpointnet.config.ConfigError` naming ``where`` and the key.
    """
    for section in ("task", "data", "train", "transfer"):
        try:
            getattr(cfg, section).__post_init__()
        except ConfigValueError as exc:
            raise ConfigError(where, f"'{section}.{exc.key}'{exc.joined}") from None


def _at_least(cfg: Any, **lows: int) -> None:
    """Each named field must be >= its bound (None, where allowed, passes)."""
    for key, low in lows.items():
        value = getattr(cfg, key)
        nullable = typing.get_type_hints(type(cfg))[key] is not int
        if (value and value < low) if nullable else value < low:  # null and 0: no limit
            raise ConfigValueError(key, f"must be >= {low}" + (" or null" if nullable else ""))
