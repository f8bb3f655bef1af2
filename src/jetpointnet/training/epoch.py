"""One pass of training or validation over a batch stream, and what steps the optimiser.

:func:`train_epoch` runs the optimiser over one epoch of a stream; :func:`validate`
computes the validation loss and focal fractions; :func:`make_optimizer`,
:func:`lr_factor` and :func:`bn_momentum` turn ``train.*`` options into the optimiser,
the learning-rate schedule (a factor of ``train.lr`` per epoch) and the batch-norm
momentum of an epoch. All reductions are summed over ranks under ``torch.distributed``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from jetpointnet.errors import UserError
from jetpointnet.models.layers import MaskedBatchNorm
from jetpointnet.training import distributed
from jetpointnet.training.checkpoint import unwrap
from jetpointnet.training.config import TrainConfig
from jetpointnet.training.kinds import Kind
from jetpointnet.training.tasks import Task

__all__ = [
    "TrainingDiverged",
    "bn_momentum",
    "lr_factor",
    "make_optimizer",
    "set_bn_momentum",
    "train_epoch",
    "validate",
]


class TrainingDiverged(UserError):
    """The loss became NaN or infinite (reported as one line naming epoch and step)."""


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """``train.optimizer`` over the parameters that require gradients."""
    tc = cfg.train
    params = [p for p in model.parameters() if p.requires_grad]
    if tc.optimizer == "adam":
        return torch.optim.Adam(params, lr=tc.lr, weight_decay=tc.weight_decay)
    if tc.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=tc.lr, weight_decay=tc.weight_decay)
    return torch.optim.SGD(params, lr=tc.lr, momentum=0.9, weight_decay=tc.weight_decay)


def lr_factor(cfg: TrainConfig) -> Callable[[int], float]:
    """The factor of ``train.lr`` per epoch (``train.schedule``), for ``LambdaLR``."""
    tc = cfg.train
    floor = min(1.0, tc.min_lr / tc.lr)

    def factor(epoch: int) -> float:
        if tc.schedule == "cosine":
            return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * epoch / tc.epochs))
        if tc.schedule == "step":
            return tc.step_gamma ** (epoch // max(1, tc.step_epochs))
        return 1.0

    return factor


def bn_momentum(cfg: TrainConfig, epoch: int) -> float:
    """Batch-norm momentum of ``epoch`` (0-based): decayed every ``bn_momentum_every``
    epochs by ``bn_momentum_decay``, never below ``bn_momentum_min``."""
    tc = cfg.train
    return max(
        tc.bn_momentum_min,
        tc.bn_momentum * tc.bn_momentum_decay ** (epoch // max(1, tc.bn_momentum_every)),
    )


def set_bn_momentum(model: nn.Module, momentum: float) -> None:
    """Set the momentum of every batch norm of ``model``."""
    for m in model.modules():
        if isinstance(m, (MaskedBatchNorm, nn.modules.batchnorm._BatchNorm)):
            m.momentum = momentum


def _to(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def _forward(
    net: nn.Module, kind: Kind, batch: dict[str, torch.Tensor], cfg: TrainConfig, device
) -> dict[str, Any]:
    use_amp = cfg.train.amp and device.type == "cuda"
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_amp):
        return kind.forward(net, batch)


def _loader(ds: Any, cfg: TrainConfig, info: distributed.DistInfo) -> DataLoader:
    return DataLoader(
        ds,
        batch_size=None,
        num_workers=cfg.data.num_workers,
        pin_memory=info.device.type == "cuda",
    )


def train_epoch(
    net: nn.Module,
    kind: Kind,
    task: Task,
    cfg: TrainConfig,
    ds: Any,
    optimizer: torch.optim.Optimizer,
    info: distributed.DistInfo,
    epoch: int,
    *,
    progress: bool,
    keep_eval: Sequence[nn.Module] = (),
) -> tuple[float, int]:
    """One pass over the training stream; returns (mean loss, samples seen on all ranks).

    ``keep_eval``: modules left in eval mode (batch norms of frozen layers).
    """
    net.train()
    for m in keep_eval:
        m.eval()
    total = torch.zeros(3, dtype=torch.float64, device=info.device)  # loss*w, w, samples
    bar = tqdm(
        _loader(ds, cfg, info),
        total=len(ds),
        desc=f"epoch {epoch + 1}/{cfg.train.epochs}",
        disable=not (progress and info.is_main),
        leave=False,
    )
    for step, cpu_batch in enumerate(bar):
        batch = _to(cpu_batch, info.device)
        out = _forward(net, kind, batch, cfg, info.device)
        loss = task.loss_from(out, batch) + cfg.task.ortho_weight * out["aux_loss"].float()
        bad = torch.tensor([0.0 if torch.isfinite(loss) else 1.0], device=info.device)
        if info.world_size > 1:
            torch.distributed.all_reduce(bad)
        if bad.item() > 0:
            raise TrainingDiverged(
                f"epoch {epoch + 1}, step {step + 1}: the loss is {loss.item()} "
                "(lower train.lr or check the input arrays)"
            )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.train.grad_clip:
            nn.utils.clip_grad_norm_(net.parameters(), cfg.train.grad_clip)
        optimizer.step()
        w = task.batch_weight(batch)
        total += torch.stack(
            [loss.detach().double() * w, w.double(), total.new_tensor(len(batch["sample_id"]))]
        )
        if step % 20 == 0 and not bar.disable:
            bar.set_postfix(loss=f"{loss.item():.4g}")
    distributed.broadcast_buffers(unwrap(net), info)
    loss_w, w_sum, n = distributed.all_reduce_sum(total.tolist(), info)
    return loss_w / max(w_sum, 1.0), int(n)


@torch.no_grad()
def validate(
    net: nn.Module, kind: Kind, task: Task, cfg: TrainConfig, ds: Any, info: distributed.DistInfo
) -> dict[str, float]:
    """Validation ``loss`` (batch-weight-weighted mean of batch losses) and the task's
    :meth:`~jetpointnet.training.tasks.Task.val_counts`, each divided by the summed weight."""
    net.eval()
    model = unwrap(net)
    names: list[str] = []
    total: torch.Tensor | None = None
    for cpu_batch in _loader(ds, cfg, info):
        batch = _to(cpu_batch, info.device)
        out = _forward(model, kind, batch, cfg, info.device)
        loss = task.loss_from(out, batch)
        w = task.batch_weight(batch).double()
        counts = task.val_counts(out["pred"], batch)
        names = list(counts)
        row = torch.stack([loss.double() * w, w, *(c.double() for c in counts.values())])
        total = row if total is None else total + row
    if total is None:  # an empty validation split: zeros with the task's names
        names = list(task.val_keys)
        total = torch.zeros(2 + len(names), dtype=torch.float64, device=info.device)
    loss_w, w_sum, *sums = distributed.all_reduce_sum(total.tolist(), info)
    return {
        "loss": loss_w / max(w_sum, 1.0),
        **{k: v / max(w_sum, 1.0) for k, v in zip(names, sums, strict=True)},
    }
