"""``jetpointnet tune``: hyperparameter search (Optuna, Hyperband pruner, SQLite study)."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "tune"
HELP = "search hyperparameters (Optuna + Hyperband); resumable SQLite study"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, type=Path, help="preprocess output folder")
    parser.add_argument(
        "--space", required=True, type=Path, help="search space (configs/tune/NAME.yaml)"
    )
    parser.add_argument("--trials", required=True, type=int, help="trials to run in this call")
    parser.add_argument(
        "--study-db", required=True, help="storage URL, e.g. sqlite:///tune.db (resumable)"
    )
    parser.add_argument("--study-name", default="jetpointnet", help="study name in the database")
    parser.add_argument(
        "--out", type=Path, help="folder of the trial runs (default: next to the database)"
    )
    parser.add_argument("--best-config", type=Path, help="best config (default OUT/best.yaml)")
    parser.add_argument("--seed", type=int, default=0, help="sampler and training seed")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a config key in every trial (repeatable)",
    )  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")


def _default_out(url: str, name: str) -> Path:
    if url.startswith("sqlite:///"):
        db = Path(url[len("sqlite:///") :])
        return db.with_name(f"{db.stem}-{name}")
    return Path(f"tune-{name}")


def run(args: argparse.Namespace) -> int:
    from jetpointnet.io.paths import refuse_overlap
    from jetpointnet.io.prep_folder import read_metadata
    from jetpointnet.tuning.space import load_space
    from jetpointnet.tuning.study import tune

    out = args.out or _default_out(args.study_db, args.study_name)
    for output in (out, args.best_config):
        if output is not None:
            refuse_overlap([args.data, args.space], output)
    space = load_space(args.space)
    read_metadata(args.data)  # a missing data folder: one line now, not a failed trial
    result = tune(
        space,
        data_dir=args.data,
        study_db=args.study_db,
        out_dir=out,
        trials=args.trials,
        study_name=args.study_name,
        best_config=args.best_config,
        seed=args.seed,
        overrides=list(args.overrides),
        progress=not args.quiet,
    )
    if not args.quiet:
        print(
            f"study '{result.study_name}': {result.trials} trials "
            f"({result.complete} complete, {result.pruned} pruned)"
        )
        if result.best_config is not None:
            print(
                f"best: trial {result.best_number}, val loss {result.best_value:.4g}, "
                f"{result.best_params} -> {result.best_config}"
            )
    return 0
