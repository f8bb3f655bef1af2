"""``jetpointnet train``: train a model on the arrays of ``jetpointnet preprocess``."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "train"
HELP = "train a point-cloud model on preprocessed arrays into a run folder"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, type=Path, help="preprocess output folder")
    parser.add_argument("--out", required=True, type=Path, help="run folder to write")
    parser.add_argument("--config", type=Path, help="YAML config (e.g. configs/train/small.yaml)")
    parser.add_argument("--model", help="model name (model.name)")
    parser.add_argument(
        "--task", choices=["regression", "binary", "multiclass"], help="task (task.name)"
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, e.g. --set train.lr=1e-3 (repeatable)",
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue the run in --out from its last.pt"
    )
    parser.add_argument(
        "--init-from", type=Path, metavar="RUN", help="start from this run's weights (transfer)"
    )
    parser.add_argument(
        "--freeze",
        nargs="+",
        default=[],
        metavar="REGEX",
        help="freeze parameters whose name matches (e.g. '^body\\.'); with --init-from",
    )
    parser.add_argument(
        "--replay", type=Path, metavar="SOURCE_DATA", help="preprocessed source data to replay"
    )
    parser.add_argument(
        "--replay-schedule",
        nargs="+",
        type=float,
        metavar="F",
        help="share of replayed source samples per epoch, in [0, 1); the last one holds",
    )
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], help="train.device")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from jetpointnet.config import load_config
    from jetpointnet.errors import UserError
    from jetpointnet.training.config import TrainConfig
    from jetpointnet.training.loop import train

    overrides = list(args.overrides)
    if args.model:
        overrides.append(f"model.name={args.model}")
    if args.task:
        overrides.append(f"task.name={args.task}")
    if args.device:
        overrides.append(f"train.device={args.device}")
    config_path = args.config
    if args.resume:
        if args.config is not None:
            raise UserError("--resume uses the run's own config.yaml; drop --config")
        config_path = args.out / "config.yaml"
        if not config_path.is_file():
            raise UserError(f"{args.out}: no run to resume (config.yaml not found)")
    cfg = load_config(TrainConfig, config_path, overrides)
    if args.init_from is not None:
        cfg.transfer.init_from = str(args.init_from)
    if args.freeze:
        cfg.transfer.freeze = list(args.freeze)
    if args.replay is not None:
        cfg.transfer.replay_data = str(args.replay)
    if args.replay_schedule:
        if cfg.transfer.replay_data is None:
            raise UserError("--replay-schedule needs --replay SOURCE_DATA")
        cfg.transfer.replay_schedule = list(args.replay_schedule)
    result = train(
        cfg, data_dir=args.data, out_dir=args.out, resume=args.resume, progress=not args.quiet
    )
    if not args.quiet and result.history:
        last = result.history[-1]
        print(
            f"{result.run_dir}: {result.epochs_done} epochs, val loss {last['val_loss']:.4g}, "
            f"best {result.best_val_loss:.4g} at epoch {result.best_epoch}"
        )
    return 0
