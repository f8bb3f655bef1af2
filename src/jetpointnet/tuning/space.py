"""The search space of ``jetpointnet tune``, read from ``configs/tune/*.yaml``.

Format (every key but ``params`` optional)::

    base: ../train/small.yaml        # training config the trials start from (relative
                                     # to this file); its values are the defaults
    set: [train.device=cpu]          # fixed --set overrides of every trial
    min_epochs: 1                    # Hyperband's smallest resource (epochs)
    max_epochs: 9                    # a trial's full length (train.epochs)
    reduction_factor: 3              # Hyperband's eta
    params:                          # dotted TrainConfig key -> distribution
      train.lr: {float: [1.0e-4, 1.0e-2], log: true}
      model.options.dropout: {float: [0.0, 0.5]}
      data.batch_size: {int: [16, 64], step: 16}
      model.options.seg_mlp: {choice: [[64, 32], [128, 64, 32]]}   # widths and depth
      task.energy_weight: {choice: [none, E]}                      # loss weighting

``choice`` values may be anything YAML can write (lists included); each trial's values
become ``--set key=value`` overrides of ``base``, so a bad key or value is reported
like any config mistake.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jetpointnet.config import from_dict, load_config, read_yaml
from jetpointnet.errors import UserError, did_you_mean
from jetpointnet.training.config import TrainConfig

__all__ = ["Param", "SearchSpace", "load_space"]

_KINDS = ("float", "int", "choice")


@dataclass(frozen=True)
class Param:
    """One dimension: ``kind`` float, int or choice; ``low``/``high`` or ``choices``."""

    key: str
    kind: str
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()

    def suggest(self, trial: Any) -> Any:
        """The value of this dimension for an Optuna ``trial``."""
        if self.kind == "float":
            return trial.suggest_float(self.key, self.low, self.high, log=self.log, step=self.step)
        if self.kind == "int":
            step = int(self.step or 1)
            return trial.suggest_int(
                self.key, int(self.low), int(self.high), log=self.log, step=step
            )
        # Optuna stores only scalars: choose among the JSON texts of the choices
        text = trial.suggest_categorical(self.key, [json.dumps(c) for c in self.choices])
        return json.loads(text)

    def decode(self, stored: Any) -> Any:
        """The config value of what Optuna stored for this dimension."""
        return json.loads(stored) if self.kind == "choice" else stored


@dataclass
class SearchSpace:
    """A parsed search-space file (see the module docstring)."""

    path: Path
    base: Path | None
    fixed: list[str] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)
    min_epochs: int = 1
    max_epochs: int = 9
    reduction_factor: int = 3

    def config(self, values: dict[str, Any], *, extra: list[str] | None = None) -> TrainConfig:
        """The training config of a trial: base, fixed overrides, ``values``, ``extra``."""
        sets = [f"{k}={json.dumps(v)}" for k, v in values.items()]
        sets.append(f"train.epochs={self.max_epochs}")
        return load_config(TrainConfig, self.base, [*self.fixed, *sets, *(extra or [])])


def _param(key: str, spec: Any, where: str) -> Param:
    if not isinstance(spec, dict):
        raise UserError(f"{where}: params.{key} must be a mapping like {{float: [low, high]}}")
    kinds = [k for k in spec if k in _KINDS]
    unknown = [k for k in spec if k not in (*_KINDS, "log", "step")]
    if unknown:
        raise UserError(
            f"{where}: params.{key}: unknown key '{unknown[0]}'"
            + did_you_mean(unknown[0], [*_KINDS, "log", "step"])
        )
    if len(kinds) != 1:
        raise UserError(f"{where}: params.{key} needs exactly one of float, int, choice")
    kind, value = kinds[0], spec[kinds[0]]
    if kind == "choice":
        if not isinstance(value, list) or not value:
            raise UserError(f"{where}: params.{key}.choice must be a non-empty list")
        return Param(key, kind, choices=tuple(value))
    if not (isinstance(value, list) and len(value) == 2) or not value[0] < value[1]:
        raise UserError(f"{where}: params.{key}.{kind} must be [low, high] with low < high")
    step = spec.get("step")
    return Param(key, kind, float(value[0]), float(value[1]), bool(spec.get("log", False)),
                 float(step) if step is not None else None)  # fmt: skip


@dataclass
class _SpaceFile:
    """The keys of a search-space file, as written (see the module docstring)."""

    params: dict[str, Any] = field(default_factory=dict)
    base: str | None = None
    set: list[str] = field(default_factory=list)
    min_epochs: int = 1
    max_epochs: int = 9
    reduction_factor: int = 3


def load_space(path: str | os.PathLike[str]) -> SearchSpace:
    """Read and check a search-space file; a trial config is built once to validate keys."""
    p = Path(path)
    raw = from_dict(_SpaceFile, read_yaml(p), where=str(p))
    if not raw.params:
        raise UserError(f"{p}: 'params' must map config keys to distributions")
    space = SearchSpace(
        path=p,
        base=(p.parent / raw.base).resolve() if raw.base else None,
        fixed=list(raw.set),
        params=[_param(str(k), v, str(p)) for k, v in raw.params.items()],
        min_epochs=raw.min_epochs,
        max_epochs=raw.max_epochs,
        reduction_factor=raw.reduction_factor,
    )
    if not 1 <= space.min_epochs <= space.max_epochs:
        raise UserError(f"{p}: need 1 <= min_epochs <= max_epochs")
    if space.reduction_factor < 2:
        raise UserError(f"{p}: reduction_factor must be >= 2")
    first = {q.key: (q.choices[0] if q.kind == "choice" else q.low) for q in space.params}
    space.config({k: int(v) if isinstance(v, float) and q.kind == "int" else v
                  for (k, v), q in zip(first.items(), space.params, strict=True)})  # fmt: skip
    return space
