"""The training loop: one function, :func:`train`, from a config and a data folder to a run.

A run folder holds ``config.yaml`` (resolved), ``metadata.json`` (copy of the data's),
``run.json`` (package and torch versions, device, seed, data folder, parameter count),
``last.pt`` and ``best.pt`` (see :mod:`~jetpointnet.training.checkpoint`), ``log.csv``
and ``tb/`` (TensorBoard, when installed).

Reproducibility: the model is initialised from ``train.seed``; the data order of epoch
``e`` is a function of ``(seed, e)``; ``last.pt`` is written after every epoch with the
RNG states, so ``resume=True`` after any interruption (kill -9 included) continues
exactly as an uninterrupted run would on CPU.

Stages of :func:`train`: the data folder's kind (:mod:`~jetpointnet.training.kinds`:
how a kind builds its model and its train / validation streams), the model, optimiser
and schedule (``_build_run``, restored when resuming), the run files, the streams, then
the epochs (``_fit``; one epoch's passes in :mod:`~jetpointnet.training.epoch`).
"""

from __future__ import annotations

import contextlib
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from jetpointnet.errors import UserError
from jetpointnet.io.atomic import remove_stale_partials
from jetpointnet.io.lock import output_lock
from jetpointnet.io.paths import folder_files, refuse_overlap
from jetpointnet.io.prep_folder import read_metadata
from jetpointnet.models.registry import count_parameters
from jetpointnet.training import distributed
from jetpointnet.training.checkpoint import load_checkpoint, save_checkpoint, set_rng_state
from jetpointnet.training.config import TrainConfig, check_train_config
from jetpointnet.training.epoch import (
    TrainingDiverged,
    bn_momentum,
    lr_factor,
    make_optimizer,
    set_bn_momentum,
    train_epoch,
    validate,
)
from jetpointnet.training.kinds import Kind, check_batch_order, kind_of
from jetpointnet.training.logging import LOG_COLUMNS, RunLogger, read_log
from jetpointnet.training.run_folder import write_run_files
from jetpointnet.training.tasks import Task, make_task
from jetpointnet.training.transfer import apply_freeze, frozen_norms, init_from_run

__all__ = ["TrainResult", "TrainingDiverged", "check_config", "train"]


EpochCallback = Callable[[int, dict[str, float]], None]


@dataclass
class TrainResult:
    """What :func:`train` leaves: the run folder, the best epoch and the per-epoch log."""

    run_dir: Path
    epochs_done: int
    best_epoch: int
    best_val_loss: float
    history: list[dict[str, float]] = field(default_factory=list)
    model: nn.Module | None = None


@dataclass
class _Run:
    """The pieces of a training run that the epochs update."""

    kind: Kind
    model: nn.Module
    net: nn.Module  # the model as stepped (DDP-wrapped, compiled)
    task: Task
    in_features: int
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    keep_eval: list[nn.Module]  # batch norms of frozen layers
    state: dict[str, Any]  # best_val_loss, best_epoch, bad_epochs


def check_config(cfg: TrainConfig, *, where: str = "config") -> None:
    """Reject values that are well-typed but meaningless, naming the key (the checks live
    in the config types: :func:`~jetpointnet.training.config.check_train_config`)."""
    check_train_config(cfg, where=where)


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
    """:func:`train` inside the output lock: data, model, run files, streams, epochs."""
    tc = cfg.train
    if tc.threads:
        torch.set_num_threads(tc.threads)
    if not resume and (out / "last.pt").exists():
        raise UserError(f"{out}: already holds a run (pass --resume to continue it)")
    metadata = read_metadata(data_dir)
    kind = kind_of(metadata, where=str(data_dir))
    check_batch_order(kind, cfg.data.batch_order)
    run, start = _build_run(cfg, kind, metadata, data_dir, out, info, resume=resume)
    if info.is_main:
        write_run_files(
            out,
            cfg=cfg,
            data_dir=data_dir,
            metadata=metadata,
            device=str(info.device),
            world_size=info.world_size,
            parameters=count_parameters(run.model),
            in_features=run.in_features,
            resume=resume,
        )
    distributed.barrier(info)
    run.net = _wrap(run.model, cfg, info)
    train_ds, val_ds = kind.make_streams(
        cfg, data_dir, metadata, model=run.model, rank=info.rank, world_size=info.world_size
    )
    columns = [  # the per-point tasks: exactly LOG_COLUMNS
        *LOG_COLUMNS[:5],
        *run.task.val_keys,
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
    try:
        epochs_done = _fit(
            run,
            cfg,
            train_ds,
            val_ds,
            out,
            info,
            logger,
            start=start,
            progress=progress,
            epoch_callback=epoch_callback,
        )
    finally:
        if logger is not None:
            logger.close()
    run.model.eval()
    return TrainResult(
        run_dir=out,
        epochs_done=epochs_done,
        best_epoch=int(run.state["best_epoch"]),
        best_val_loss=float(run.state["best_val_loss"]),
        history=read_log(out / "log.csv") if info.is_main else [],
        model=run.model,
    )


def _build_run(
    cfg: TrainConfig,
    kind: Kind,
    metadata: dict,
    data_dir: Path,
    out: Path,
    info: distributed.DistInfo,
    *,
    resume: bool,
) -> tuple[_Run, int]:
    """Model of the data's kind (seeded; transfer and freezing applied), optimiser and
    schedule on the device, restored from ``out/last.pt`` when resuming; and the first
    epoch to run."""
    tc = cfg.train
    random.seed(tc.seed)
    np.random.seed(tc.seed)
    torch.manual_seed(tc.seed)
    task = make_task(cfg.task)
    model, in_features = kind.build_model(cfg, metadata, task, data_dir=data_dir)
    xfer = cfg.transfer
    if xfer.init_from is not None and not resume:
        init_from_run(
            model, xfer.init_from, checkpoint=xfer.init_checkpoint, in_features=in_features
        )
    apply_freeze(model, xfer.freeze)
    keep_eval = frozen_norms(model)
    model.to(info.device)
    optimizer = make_optimizer(model, cfg)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(cfg))
    state = {"best_val_loss": math.inf, "best_epoch": 0, "bad_epochs": 0}
    run = _Run(kind, model, model, task, in_features, optimizer, scheduler, list(keep_eval), state)
    start = 0
    if resume:
        ckpt = load_checkpoint(out / "last.pt", map_location=info.device)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        start = int(ckpt["epoch"])
        state.update(ckpt["extra"].get("state", {}))
        set_rng_state(ckpt["rng"])
    return run, start


def _wrap(model: nn.Module, cfg: TrainConfig, info: distributed.DistInfo) -> nn.Module:
    """The model as stepped: DistributedDataParallel over several ranks, compiled if asked."""
    net: nn.Module = model
    if info.world_size > 1:
        net = nn.parallel.DistributedDataParallel(
            model, device_ids=[info.device.index] if info.device.type == "cuda" else None
        )
    if cfg.train.compile:
        # a module compiles to an OptimizedModule (an nn.Module); the stubs say a callable
        net = cast(nn.Module, torch.compile(net, dynamic=True))
    return net


def _fit(
    run: _Run,
    cfg: TrainConfig,
    train_ds: Any,
    val_ds: Any,
    out: Path,
    info: distributed.DistInfo,
    logger: RunLogger | None,
    *,
    start: int,
    progress: bool,
    epoch_callback: EpochCallback | None,
) -> int:
    """Epochs ``start..train.epochs`` (early stopping aside); returns the epochs done."""
    tc = cfg.train
    epochs_done = start
    for epoch in range(start, tc.epochs):
        row = _epoch(run, cfg, train_ds, val_ds, info, epoch, progress=progress)
        epochs_done = epoch + 1
        _keep(run, cfg, row, out, info, logger)
        distributed.barrier(info)
        if epoch_callback is not None:
            epoch_callback(
                epochs_done, {"train_loss": row["train_loss"], "val_loss": row["val_loss"]}
            )
        if tc.early_stopping and run.state["bad_epochs"] >= tc.early_stopping:
            if info.is_main and progress:
                print(f"early stopping after epoch {epochs_done}")
            break
    return epochs_done


def _epoch(
    run: _Run,
    cfg: TrainConfig,
    train_ds: Any,
    val_ds: Any,
    info: distributed.DistInfo,
    epoch: int,
    *,
    progress: bool,
) -> dict[str, float]:
    """Train and validate epoch ``epoch`` (0-based), step the schedule; its log row."""
    momentum = bn_momentum(cfg, epoch)
    set_bn_momentum(run.model, momentum)
    train_ds.set_epoch(epoch)
    t0 = time.perf_counter()
    train_loss, n_seen = train_epoch(
        run.net,
        run.kind,
        run.task,
        cfg,
        train_ds,
        run.optimizer,
        info,
        epoch,
        progress=progress,
        keep_eval=run.keep_eval,
    )
    elapsed = time.perf_counter() - t0
    val = validate(run.net, run.kind, run.task, cfg, val_ds, info)
    val_loss = val.pop("loss")
    lr = run.optimizer.param_groups[0]["lr"]
    run.scheduler.step()
    return {
        "epoch": epoch + 1,
        "train_loss": train_loss,
        "val_loss": val_loss,
        "lr": lr,
        "samples_per_s": n_seen / max(elapsed, 1e-9),
        **val,
        **getattr(train_ds, "epoch_stats", dict)(),  # e.g. the per-batch class mix
        "bn_momentum": momentum,
        "epoch_time_s": elapsed,
    }


def _keep(
    run: _Run,
    cfg: TrainConfig,
    row: dict[str, float],
    out: Path,
    info: distributed.DistInfo,
    logger: RunLogger | None,
) -> None:
    """Track the best epoch; on rank 0 write ``best.pt`` (if improved), the log row and
    ``last.pt`` (with the early-stopping state)."""
    state, done = run.state, int(row["epoch"])
    improved = row["val_loss"] < state["best_val_loss"] - cfg.train.min_delta
    if improved:
        state.update(best_val_loss=row["val_loss"], best_epoch=done, bad_epochs=0)
    else:
        state["bad_epochs"] += 1
    if not info.is_main:
        return
    assert logger is not None
    if improved:
        save_checkpoint(out / "best.pt", model=run.model, epoch=done)
    logger.log(row)
    save_checkpoint(
        out / "last.pt",
        model=run.model,
        optimizer=run.optimizer,
        scheduler=run.scheduler,
        epoch=done,
        extra={"state": dict(state)},
    )
