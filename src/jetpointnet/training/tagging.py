"""The tagging task: one class per point cloud (a jet), with class and per-sample weights.

Options (``task.options`` of a training config, :class:`TaggingOptions`):

- ``output``: ``softmax`` (K logits, cross-entropy; default) or ``logit`` (two classes
  only: one logit for the last class, binary cross-entropy);
- ``class_weights``: one factor per class of ``metadata.json`` "classes" (null: 1);
- ``sample_weights``: multiply by the batch's per-jet ``weight`` (the data's background
  pT reweighting; default true, as weaver's ``weights:``).

The loss is the weighted mean ``sum_i w_i l_i / sum_i w_i`` over the clouds of the
batch, with ``w_i = class_weight[y_i] * weight_i``. :meth:`TaggingTask.predict` returns
probabilities ``(B, K)`` in the order of the classes for both outputs. Batches: see
:mod:`jetpointnet.training.jet_stream` (``y_cloud``, ``weight``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from jetpointnet.config import from_dict
from jetpointnet.errors import UserError
from jetpointnet.models.heads import HeadSpec
from jetpointnet.training.tasks import Task

__all__ = ["TaggingOptions", "TaggingTask"]

Batch = dict[str, torch.Tensor]


@dataclass
class TaggingOptions:
    """``task.options`` of the tagging task (see the module docstring)."""

    output: Literal["softmax", "logit"] = "softmax"
    class_weights: list[float] | None = None
    sample_weights: bool = True


class TaggingTask(Task):
    """Class per cloud (``y_cloud``) from logits ``(B, K)`` or one logit ``(B, 1)``."""

    name = "tagging"
    target = "y_cloud"
    val_keys = ("accuracy", "frac_pred_signal", "frac_true_signal")

    def __init__(self, cfg) -> None:  # cfg: TaskConfig
        super().__init__(cfg)
        raw = getattr(cfg, "options", None) or {}
        self.options = from_dict(TaggingOptions, raw, where="config", prefix="task.options.")
        self.classes: list[str] = []
        self._weights_on: dict[torch.device, torch.Tensor] = {}  # class_weights per device

    def bind(self, classes: Sequence[str], *, where: str) -> None:
        """Fix the class names (``metadata.json`` "classes"); checks the options against them."""
        classes = [str(c) for c in classes]
        if len(classes) < 2:
            raise UserError(f"{where}: 'classes' needs at least 2 names, found {classes}")
        if self.options.output == "logit" and len(classes) != 2:
            raise UserError(
                f"{where}: task.options.output 'logit' needs 2 classes, the data has {classes}"
            )
        cw = self.options.class_weights
        if cw is not None and len(cw) != len(classes):
            raise UserError(
                f"{where}: task.options.class_weights has {len(cw)} values for the "
                f"{len(classes)} classes {classes}"
            )
        self.classes = classes

    @property
    def n_outputs(self) -> int:
        """Logits the model must produce."""
        if not self.classes:
            raise RuntimeError("TaggingTask.bind(classes) must be called first")
        return 1 if self.options.output == "logit" else len(self.classes)

    @property
    def head(self) -> HeadSpec:
        return HeadSpec("logits", self.n_outputs)

    def _class_weights(self, device: torch.device) -> torch.Tensor:
        """``options.class_weights`` on ``device``, copied there once (no copy per step)."""
        if device not in self._weights_on:
            cw = torch.tensor(self.options.class_weights, dtype=torch.float32)
            self._weights_on[device] = cw.to(device)
        return self._weights_on[device]

    def sample_weight(self, batch: Batch) -> torch.Tensor:
        """``(B,)`` weights ``class_weight[y] * weight`` of the batch's clouds."""
        y = batch["y_cloud"]
        w = torch.ones(y.shape, dtype=torch.float32, device=y.device)
        if self.options.sample_weights:
            w = w * batch["weight"].float()
        if self.options.class_weights is not None:
            w = w * self._class_weights(w.device)[y]
        return w

    def loss(self, out: torch.Tensor, batch: Batch) -> torch.Tensor:
        y = batch["y_cloud"]
        out = out.float()
        if self.options.output == "logit":
            per = F.binary_cross_entropy_with_logits(
                out.reshape(-1), (y == 1).float(), reduction="none"
            )
        else:
            per = F.cross_entropy(out, y, reduction="none")  # (B,)
        w = self.sample_weight(batch)
        return (per * w).sum() / w.sum().clamp(min=1e-12)

    def predict(self, out: torch.Tensor) -> torch.Tensor:
        out = out.float()
        if self.options.output == "logit":
            p = torch.sigmoid(out.reshape(-1, 1))  # (B, 1)
            return torch.cat([1 - p, p], dim=-1)  # (B, 2)
        return torch.softmax(out, dim=-1)  # (B, K)

    def predicted_class(self, out: torch.Tensor) -> torch.Tensor:
        """``(B,)`` most probable class index."""
        return self.predict(out).argmax(dim=-1)

    def predicted_focal(self, out: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Per cloud: predicted as the last class (the signal)."""
        return self.predicted_class(out) == self.predict(out).shape[-1] - 1

    def batch_weight(self, batch: Batch) -> torch.Tensor:
        """The number of clouds: what the epoch's mean loss is weighted by."""
        y = batch["y_cloud"]  # a fill on the device, not a host-to-device copy (no sync)
        return torch.full((), float(len(y)), dtype=torch.float64, device=y.device)

    def val_counts(self, out: torch.Tensor, batch: Batch) -> dict[str, torch.Tensor]:
        """Sums per batch: correct clouds, clouds predicted and truly of the last class."""
        y = batch["y_cloud"]
        pred = self.predicted_class(out)
        last = self.predict(out).shape[-1] - 1
        return {
            "accuracy": (pred == y).sum().double(),
            "frac_pred_signal": (pred == last).sum().double(),
            "frac_true_signal": (y == last).sum().double(),
        }
