"""Tasks: which label is learned, with which head and loss, and how outputs are read.

A task is independent of the model body: it names its :class:`HeadSpec`, computes its
loss from the head's raw output and a batch, and turns the raw output into the
prediction that ``predict`` returns. A new task is a new subclass registered in
``TASKS``; the loop does not change.

Batches are dicts of tensors (see :mod:`jetpointnet.training.dataset`): ``x``, ``mask``
(real points), ``energy`` (GeV), ``label_mask`` and the labels ``y_energy`` (GeV),
``y_binary``, ``y_class``.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import torch

from jetpointnet.data.schema import CellClass
from jetpointnet.errors import UserError, did_you_mean
from jetpointnet.models.heads import HeadSpec
from jetpointnet.training.config import TaskConfig
from jetpointnet.training.losses import (
    energy_weights,
    masked_bce,
    masked_cross_entropy,
    masked_mae,
    masked_mse,
)

__all__ = [
    "TASKS",
    "BinaryTask",
    "MulticlassTask",
    "RegressionTask",
    "Task",
    "make_task",
    "register_task",
]

Batch = dict[str, torch.Tensor]


class Task(abc.ABC):
    """Base class: ``head``, ``loss``, ``predict`` and the focal decision for logs."""

    name: ClassVar[str] = ""
    target: ClassVar[str] = ""
    #: The names :meth:`val_counts` returns (logged per epoch).
    val_keys: ClassVar[tuple[str, ...]] = ("frac_pred_focal", "frac_true_focal")

    def __init__(self, cfg: TaskConfig) -> None:
        self.cfg = cfg

    @property
    @abc.abstractmethod
    def head(self) -> HeadSpec:
        """The model head this task needs."""

    @abc.abstractmethod
    def loss(self, out: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Masked loss of the head's raw output ``out`` against the batch labels."""

    @abc.abstractmethod
    def predict(self, out: torch.Tensor) -> torch.Tensor:
        """What ``predict`` returns per point, from the raw output."""

    @abc.abstractmethod
    def predicted_focal(self, out: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Bool per point: the model attributes the cell to the focused particle."""

    @staticmethod
    def valid(batch: Batch) -> torch.Tensor:
        """Points that carry a label (never padding)."""
        return batch["label_mask"] & batch["mask"]

    def loss_from(self, out: dict[str, Any], batch: Batch) -> torch.Tensor:
        """The loss from the model's whole output dict (per-point tasks: its ``pred``)."""
        return self.loss(out["pred"], batch)

    def batch_weight(self, batch: Batch) -> torch.Tensor:
        """What a batch's mean loss is weighted by in the epoch mean: valid points here."""
        return self.valid(batch).sum()

    def val_counts(self, out: Any, batch: Batch) -> dict[str, torch.Tensor]:
        """Sums logged per validation epoch, divided by the summed :meth:`batch_weight`:
        here the fractions of valid points predicted and truly focal. ``out`` is the
        model's ``pred`` output (a tensor here, a dict of tensors for the event task)."""
        valid = self.valid(batch)
        return {
            "frac_pred_focal": (self.predicted_focal(out, batch) & valid).sum(),
            "frac_true_focal": ((batch["y_binary"] == 1) & valid).sum(),
        }


class RegressionTask(Task):
    """Focal energy per point in GeV (``y_energy``), TSSR head times the cell energy."""

    name = "regression"
    target = "y_energy"

    @property
    def head(self) -> HeadSpec:
        return HeadSpec("energy", 1, tssr_a=self.cfg.tssr_a, tssr_b=self.cfg.tssr_b)

    def loss(self, out: torch.Tensor, batch: Batch) -> torch.Tensor:
        fn = masked_mse if self.cfg.regression_loss == "mse" else masked_mae
        return fn(out.float(), batch["y_energy"], self.valid(batch))

    def predict(self, out: torch.Tensor) -> torch.Tensor:
        return out.float()

    def predicted_focal(self, out: torch.Tensor, batch: Batch) -> torch.Tensor:
        return out.float() > 0.5 * batch["energy"].abs()


class BinaryTask(Task):
    """Focal (1) or not (0) per cell (``y_binary``), energy-weighted BCE (seed 001)."""

    name = "binary"
    target = "y_binary"

    @property
    def head(self) -> HeadSpec:
        return HeadSpec("logits", 1)

    def loss(self, out: torch.Tensor, batch: Batch) -> torch.Tensor:
        w = energy_weights(batch["energy"], self.cfg.energy_weight)
        return masked_bce(out.float(), batch["y_binary"], self.valid(batch), weight=w)

    def predict(self, out: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(out.float())

    def predicted_focal(self, out: torch.Tensor, batch: Batch) -> torch.Tensor:
        return out > 0


class MulticlassTask(Task):
    """Largest contributor's ``CellClass`` per cell (``y_class``), cross-entropy."""

    name = "multiclass"
    target = "y_class"
    n_classes = len(CellClass)

    @property
    def head(self) -> HeadSpec:
        return HeadSpec("logits", self.n_classes)

    def loss(self, out: torch.Tensor, batch: Batch) -> torch.Tensor:
        w = energy_weights(batch["energy"], self.cfg.energy_weight)
        return masked_cross_entropy(
            out.float(),
            batch["y_class"],
            self.valid(batch),
            class_weights=self.cfg.class_weights,
            weight=w,
        )

    def predict(self, out: torch.Tensor) -> torch.Tensor:
        return torch.softmax(out.float(), dim=-1)

    def predicted_focal(self, out: torch.Tensor, batch: Batch) -> torch.Tensor:
        return out.argmax(dim=-1) == int(CellClass.FOCAL)


TASKS: dict[str, type[Task]] = {t.name: t for t in (RegressionTask, BinaryTask, MulticlassTask)}


def register_task(cls: type[Task]) -> type[Task]:
    """Add a task class to :data:`TASKS` under ``cls.name`` (usable as a decorator)."""
    if cls.name in TASKS:
        raise ValueError(f"task {cls.name!r} is already registered")
    TASKS[cls.name] = cls
    return cls


def make_task(cfg: TaskConfig) -> Task:
    """The task object for ``cfg.name``."""
    if cfg.name not in TASKS:
        raise UserError(f"config: unknown task {cfg.name!r}" + did_you_mean(cfg.name, TASKS))
    return TASKS[cfg.name](cfg)
