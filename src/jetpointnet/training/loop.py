"""The training loop: one function, :func:`train`, from a config and a data folder to a run.

A run folder holds ``config.yaml`` (resolved), ``metadata.json`` (copy of the data's),
``run.json`` (package and torch versions, device, seed, data folder, parameter count),
``last.pt`` and ``best.pt`` (see :mod:`~jetpointnet.training.checkpoint`), ``log.csv``
and ``tb/`` (TensorBoard, when installed).

Reproducibility: the model is initialised from ``train.seed``; the data order of epoch
``e`` is a function of ``(seed, e)``; ``last.pt`` is written after every epoch with the
RNG states, so ``resume=True`` after any interruption (kill -9 included) continues
exactly as an uninterrupted run would on CPU.
"""

from __future__ import annotations

import contextlib
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from jetpointnet.data.arrays import read_metadata
from jetpointnet.errors import UserError
from jetpointnet.io.atomic import remove_stale_partials
from jetpointnet.io.lock import output_lock
from jetpointnet.io.paths import folder_files, refuse_overlap
from jetpointnet.models.layers import MaskedBatchNorm
from jetpointnet.models.registry import count_parameters, options_dict
from jetpointnet.training import distributed
from jetpointnet.training.checkpoint import load_checkpoint, save_checkpoint, set_rng_state, unwrap
from jetpointnet.training.config import TrainConfig
from jetpointnet.training.kinds import Kind, kind_of
from jetpointnet.training.logging import LOG_COLUMNS, RunLogger, read_log
from jetpointnet.training.replay import check_schedule
from jetpointnet.training.run_folder import write_run_files
from jetpointnet.training.tasks import Task, make_task
from jetpointnet.training.transfer import apply_freeze, frozen_norms, init_from_run

__all__ = ["TrainResult", "TrainingDiverged", "check_config", "train"]


EpochCallback = Callable[[int, dict[str, float]], None]


class TrainingDiverged(UserError):
    """The loss became NaN or infinite (reported as one line naming epoch and step)."""


@dataclass
class TrainResult:
    """What :func:`train` leaves: the run folder, the best epoch and the per-epoch log."""

    run_dir: Path
    epochs_done: int
    best_epoch: int
    best_val_loss: float
    history: list[dict[str, float]] = field(default_factory=list)
    model: nn.Module | None = None


def check_config(cfg: TrainConfig, *, where: str = "config") -> None:
    """Reject values that are well-typed but meaningless, naming the key."""
    checks = [
        ("data.batch_size", cfg.data.batch_size >= 1, ">= 1"),
        ("data.shuffle_buffer", cfg.data.shuffle_buffer >= 1, ">= 1"),
        ("data.num_workers", cfg.data.num_workers >= 0, ">= 0"),
        ("train.epochs", cfg.train.epochs >= 1, ">= 1"),
        ("train.lr", cfg.train.lr > 0, "> 0"),
        ("train.samples_per_epoch", (cfg.train.samples_per_epoch or 1) >= 1, ">= 1 or null"),
        ("train.val_samples", (cfg.train.val_samples or 1) >= 1, ">= 1 or null"),
        ("train.early_stopping", (cfg.train.early_stopping or 1) >= 1, ">= 1 or null"),
        ("train.bn_momentum", 0 <= cfg.train.bn_momentum <= 1, "in [0, 1]"),
    ]
    for key, ok, want in checks:
        if not ok:
            raise UserError(f"{where}: '{key}' must be {want}")
    if cfg.transfer.replay_data is not None:
        check_schedule(cfg.transfer.replay_schedule, where=where)
    cw = cfg.task.class_weights
    if cfg.task.name == "multiclass" and cw is not None and len(cw) != 4:
        raise UserError(f"{where}: 'task.class_weights' needs 4 values (one per CellClass)")


def train(
    cfg: TrainConfig,
    *,
    data_dir: str | Path,
    out_dir: str | Path,
    resume: bool = False,
    progress: bool = True,
    epoch_callback: EpochCallback | None = None,
) -> TrainResult:
    """Train ``cfg`` on ``data_dir`` (a ``preprocess`` output) into the run folder ``out_dir``.

    ``resume``: continue from ``out_dir/last.pt``. Under torchrun every rank calls this;
    rank 0 writes the run folder. ``epoch_callback(epochs_done, row)`` is called after
    every epoch with its log row (``val_loss``, ``train_loss``, ...); an exception it
    raises stops training and propagates (hyperparameter search prunes this way).
    Transfer learning (``cfg.transfer``): see :class:`TransferConfig`. Returns a
    :class:`TrainResult` (model in eval mode).
    """
    check_config(cfg)
    refuse_overlap([data_dir, cfg.transfer.replay_data], out_dir)
    if cfg.transfer.init_from is not None:
        refuse_overlap(folder_files(cfg.transfer.init_from), out_dir)
    info = distributed.setup(cfg.train.device)
    try:
        with output_lock(out_dir, "train") if info.is_main else contextlib.nullcontext():
            if info.is_main:
                remove_stale_partials(out_dir, locked=True)
            return _train(
                cfg,
                Path(data_dir),
                Path(out_dir),
                info,
                resume=resume,
                progress=progress,
                epoch_callback=epoch_callback,
            )
    finally:
        distributed.cleanup(info)


def _train(
    cfg: TrainConfig,
    data_dir: Path,
    out: Path,
    info: distributed.DistInfo,
    *,
    resume: bool,
    progress: bool,
    epoch_callback: EpochCallback | None,
) -> TrainResult:
    tc = cfg.train
    if tc.threads:
        torch.set_num_threads(tc.threads)
    if not resume and (out / "last.pt").exists():
        raise UserError(f"{out}: already holds a run (pass --resume to continue it)")
    metadata = read_metadata(data_dir)
    kind = kind_of(metadata, where=str(data_dir))

    random.seed(tc.seed)
    np.random.seed(tc.seed)
    torch.manual_seed(tc.seed)
    task = make_task(cfg.task)
    model, in_features = kind.build_model(cfg, metadata, task, data_dir=data_dir)
    if kind.name == "track":  # other kinds resolve cfg.model.options in their build_model
        cfg.model.options = options_dict(cfg.model.name, cfg.model.options)
    xfer = cfg.transfer
    if xfer.init_from is not None and not resume:
        init_from_run(
            model, xfer.init_from, checkpoint=xfer.init_checkpoint, in_features=in_features
        )
    apply_freeze(model, xfer.freeze)
    keep_eval = frozen_norms(model)
    model.to(info.device)
    optimizer = _optimizer(model, cfg)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_factor(cfg))

    state = {"best_val_loss": math.inf, "best_epoch": 0, "bad_epochs": 0}
    start = 0
    if resume:
        ckpt = load_checkpoint(out / "last.pt", map_location=info.device)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        start = int(ckpt["epoch"])
        state.update(ckpt["extra"].get("state", {}))
        set_rng_state(ckpt["rng"])

    if info.is_main:
        write_run_files(
            out,
            cfg=cfg,
            data_dir=data_dir,
            metadata=metadata,
            device=str(info.device),
            world_size=info.world_size,
            parameters=count_parameters(model),
            in_features=in_features,
            resume=resume,
        )
    distributed.barrier(info)

    net: nn.Module = model
    if info.world_size > 1:
        net = nn.parallel.DistributedDataParallel(
            model, device_ids=[info.device.index] if info.device.type == "cuda" else None
        )
    if tc.compile:
        net = torch.compile(net, dynamic=True)

    train_ds, val_ds = kind.make_streams(
        cfg, data_dir, metadata, model=model, rank=info.rank, world_size=info.world_size
    )
    columns = [
        *LOG_COLUMNS[:5],
        *task.val_keys,
        *getattr(train_ds, "stats_keys", ()),
        *LOG_COLUMNS[-2:],
    ]
    logger = (
        RunLogger(out, keep_epochs=start, tensorboard=tc.tensorboard, columns=columns)
        if info.is_main
        else None
    )
    if logger is not None and logger.note and progress:
        print(logger.note)

    epochs_done = start
    try:
        for epoch in range(start, tc.epochs):
            momentum = max(
                tc.bn_momentum_min,
                tc.bn_momentum * tc.bn_momentum_decay ** (epoch // max(1, tc.bn_momentum_every)),
            )
            _set_bn_momentum(model, momentum)
            train_ds.set_epoch(epoch)
            t0 = time.perf_counter()
            train_loss, n_seen = _run_epoch(
                net,
                kind,
                task,
                cfg,
                train_ds,
                optimizer,
                info,
                epoch,
                progress=progress,
                keep_eval=keep_eval,
            )
            elapsed = time.perf_counter() - t0
            val = _evaluate(net, kind, task, cfg, val_ds, info)
            val_loss = val.pop("loss")
            lr = optimizer.param_groups[0]["lr"]
            scheduler.step()
            epochs_done = epoch + 1
            improved = val_loss < state["best_val_loss"] - tc.min_delta
            if improved:
                state.update(best_val_loss=val_loss, best_epoch=epochs_done, bad_epochs=0)
            else:
                state["bad_epochs"] += 1
            if info.is_main:
                assert logger is not None
                if improved:
                    save_checkpoint(out / "best.pt", model=model, epoch=epochs_done)
                row = {
                    "epoch": epochs_done,
                    "train_loss": train_loss,
                    "val_loss": val_loss,
                    "lr": lr,
                    "samples_per_s": n_seen / max(elapsed, 1e-9),
                    **val,
                    **getattr(train_ds, "epoch_stats", dict)(),  # e.g. per-batch class mix
                    "bn_momentum": momentum,
                    "epoch_time_s": elapsed,
                }
                logger.log(row)
                save_checkpoint(
                    out / "last.pt",
                    model=model,
                    optimizer=optimizer,
                    scheduler=scheduler,
                    epoch=epochs_done,
                    extra={"state": dict(state)},
                )
            distributed.barrier(info)
            if epoch_callback is not None:
                epoch_callback(epochs_done, {"train_loss": train_loss, "val_loss": val_loss})
            if tc.early_stopping and state["bad_epochs"] >= tc.early_stopping:
                if info.is_main and progress:
                    print(f"early stopping after epoch {epochs_done}")
                break
    finally:
        if logger is not None:
            logger.close()

    model.eval()
    return TrainResult(
        run_dir=out,
        epochs_done=epochs_done,
        best_epoch=int(state["best_epoch"]),
        best_val_loss=float(state["best_val_loss"]),
        history=read_log(out / "log.csv") if info.is_main else [],
        model=model,
    )


def _optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    tc = cfg.train
    params = [p for p in model.parameters() if p.requires_grad]
    if tc.optimizer == "adam":
        return torch.optim.Adam(params, lr=tc.lr, weight_decay=tc.weight_decay)
    if tc.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=tc.lr, weight_decay=tc.weight_decay)
    return torch.optim.SGD(params, lr=tc.lr, momentum=0.9, weight_decay=tc.weight_decay)


def _lr_factor(cfg: TrainConfig) -> Callable[[int], float]:
    tc = cfg.train
    floor = min(1.0, tc.min_lr / tc.lr)

    def factor(epoch: int) -> float:
        if tc.schedule == "cosine":
            return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * epoch / tc.epochs))
        if tc.schedule == "step":
            return tc.step_gamma ** (epoch // max(1, tc.step_epochs))
        return 1.0

    return factor


def _set_bn_momentum(model: nn.Module, momentum: float) -> None:
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


def _run_epoch(
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
    loss_w, w, n = distributed.all_reduce_sum(total.tolist(), info)
    return loss_w / max(w, 1.0), int(n)


@torch.no_grad()
def _evaluate(
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
    loss_w, w, *sums = distributed.all_reduce_sum(total.tolist(), info)
    return {
        "loss": loss_w / max(w, 1.0),
        **{k: v / max(w, 1.0) for k, v in zip(names, sums, strict=True)},
    }
