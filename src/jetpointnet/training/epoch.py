"""One pass of training or validation over a batch stream, and what steps the optimiser.

:func:`train_epoch` runs the optimiser over one epoch of a stream; :func:`validate`
computes the validation loss and focal fractions; :func:`make_optimizer`,
:func:`lr_factor` and :func:`bn_momentum` turn ``train.*`` options into the optimiser,
the learning-rate schedule (a factor of ``train.lr`` per epoch) and the batch-norm
momentum of an epoch. All reductions are summed over ranks under ``torch.distributed``.

On CUDA the training loop does not wait for the GPU at every step: batches are copied
from pinned memory without blocking, the epoch's sums stay on the device, and the loss
is checked for NaN / inf every ``CHECK_EVERY`` steps (on CPU every step), naming the
first bad step. bfloat16 autocast: ``train.amp`` on CUDA, ``train.amp_cpu`` on CPU.
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
    "CHECK_EVERY",
    "TrainingDiverged",
    "amp_enabled",
    "bn_momentum",
    "lr_factor",
    "make_loader",
    "make_optimizer",
    "set_bn_momentum",
    "to_device",
    "train_epoch",
    "validate",
]


#: Training steps between two checks of the loss on CUDA (each check waits for the GPU).
CHECK_EVERY = 50


class TrainingDiverged(UserError):
    """The loss became NaN or infinite (reported as one line naming epoch and step)."""


class _LossWatch:
    """The losses of the steps since the last check, kept on the device, checked together
    every ``every`` steps (default: :data:`CHECK_EVERY` on CUDA, 1 on CPU) and at the end
    of the epoch (summed over ranks)."""

    def __init__(self, info: distributed.DistInfo, epoch: int, *, every: int | None = None):
        self.info, self.epoch = info, epoch
        self.every = every or (CHECK_EVERY if info.device.type == "cuda" else 1)
        self.first = 0  # the step of losses[0]
        self.losses: list[torch.Tensor] = []

    def add(self, step: int, loss: torch.Tensor) -> None:
        if not self.losses:
            self.first = step
        self.losses.append(loss.detach().float().reshape(()))
        if len(self.losses) >= self.every:
            self.check()

    def check(self) -> None:
        if not self.losses:
            return
        losses = torch.stack(self.losses)  # (k,)
        bad = (~torch.isfinite(losses)).to(torch.float32)
        if self.info.world_size > 1:
            torch.distributed.all_reduce(bad)
        self.losses = []
        where = torch.nonzero(bad).flatten().tolist()  # the one host sync of a check
        if where:
            i = where[0]
            raise TrainingDiverged(
                f"epoch {self.epoch + 1}, step {self.first + i + 1}: the loss is "
                f"{losses[i].item()} (lower train.lr or check the input arrays)"
            )


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


def to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    """Every tensor of ``batch`` on ``device``; from pinned memory the copies do not block."""
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def amp_enabled(cfg: TrainConfig, device: torch.device) -> bool:
    """Whether steps on ``device`` run under bfloat16 autocast (``train.amp`` on CUDA,
    ``train.amp_cpu`` on CPU)."""
    if device.type == "cuda":
        return cfg.train.amp
    return cfg.train.amp_cpu and device.type == "cpu"


def _forward(
    net: nn.Module, kind: Kind, batch: dict[str, torch.Tensor], cfg: TrainConfig, device
) -> dict[str, Any]:
    use_amp = amp_enabled(cfg, device)
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_amp):
        return kind.forward(net, batch)


def make_loader(ds: Any, cfg: TrainConfig, device: torch.device) -> DataLoader:
    """The batches of ``ds`` (already batched) through ``data.num_workers`` worker
    processes, in pinned memory when training on CUDA."""
    workers = cfg.data.num_workers
    return DataLoader(
        ds,
        batch_size=None,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        prefetch_factor=4 if workers else None,
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
    total = torch.zeros(2, dtype=torch.float64, device=info.device)  # loss*w, w
    n_samples = 0
    watch = _LossWatch(info, epoch)
    bar = tqdm(
        make_loader(ds, cfg, info.device),
        total=len(ds),
        desc=f"epoch {epoch + 1}/{cfg.train.epochs}",
        disable=not (progress and info.is_main),
        leave=False,
    )
    for step, cpu_batch in enumerate(bar):
        batch = to_device(cpu_batch, info.device)
        out = _forward(net, kind, batch, cfg, info.device)
        loss = task.loss_from(out, batch) + cfg.task.ortho_weight * out["aux_loss"].float()
        watch.add(step, loss)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.train.grad_clip:
            nn.utils.clip_grad_norm_(net.parameters(), cfg.train.grad_clip)
        optimizer.step()
        w = task.batch_weight(batch)
        total += torch.stack([loss.detach().double() * w, w.double()])
        n_samples += len(cpu_batch["sample_id"])
        if step % 20 == 0 and not bar.disable:  # a host sync every 20 steps, shown only
            bar.set_postfix(loss=f"{loss.item():.4g}")
    watch.check()
    distributed.broadcast_buffers(unwrap(net), info)
    loss_w, w_sum, n = distributed.all_reduce_sum([*total.tolist(), n_samples], info)
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
    for cpu_batch in make_loader(ds, cfg, info.device):
        batch = to_device(cpu_batch, info.device)
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
