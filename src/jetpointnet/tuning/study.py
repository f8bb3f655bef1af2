"""``tune``: an Optuna study over a :class:`~jetpointnet.tuning.space.SearchSpace`.

Each trial trains the config its sampled values give (``train.epochs`` = the space's
``max_epochs``) into ``OUT/trial_<number>``, reports the validation loss after every
epoch, and is stopped early when the Hyperband pruner (Li et al. 2018; seed 000's
recommendation) says so; epochs are the resource. The sampler is TPE, seeded from
``seed`` and the number of trials already in the study (a resumed study does not repeat
its first suggestions).

The study lives in the storage URL ``study_db`` (e.g. ``sqlite:///tune.db``): running
the command again continues it with ``trials`` more trials, and several processes
pointed at the same database share one study. A trial whose process was killed stays
``RUNNING`` in the database and is ignored. After the run, the best completed trial's
resolved config is written to ``best_config`` (trainable with ``train --config``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jetpointnet.config import save_config
from jetpointnet.errors import UserError, install_hint, require_extra
from jetpointnet.io.atomic import atomic_output
from jetpointnet.training.loop import train
from jetpointnet.training.run_folder import read_run
from jetpointnet.tuning.space import SearchSpace

__all__ = ["TUNE_HINT", "TuneResult", "tune"]

TUNE_HINT = install_hint("tune")


@dataclass
class TuneResult:
    """The study after this call: trial counts by state and the best trial."""

    study_name: str
    trials: int
    complete: int
    pruned: int
    best_number: int | None
    best_value: float | None
    best_params: dict[str, Any]
    best_config: Path | None


def _optuna() -> Any:
    optuna = require_extra("optuna", "tune", what="tune needs the package 'optuna'")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def tune(
    space: SearchSpace,
    *,
    data_dir: str | os.PathLike[str],
    study_db: str,
    out_dir: str | os.PathLike[str],
    trials: int,
    study_name: str = "jetpointnet",
    best_config: str | os.PathLike[str] | None = None,
    seed: int = 0,
    overrides: list[str] | None = None,
    progress: bool = True,
) -> TuneResult:
    """Run ``trials`` more trials of the study ``study_name`` in ``study_db``.

    ``overrides``: extra ``--set`` values for every trial (after the space's own).
    ``best_config``: where the best trial's config goes (default ``OUT/best.yaml``).
    """
    optuna = _optuna()
    if trials < 0:
        raise UserError(f"--trials must be >= 0, got {trials}")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    study = _open_study(optuna, space, study_db, study_name, seed=seed)
    data = Path(data_dir)

    def objective(trial: Any) -> float:
        values = {p.key: p.suggest(trial) for p in space.params}
        cfg = space.config(values, extra=overrides)
        cfg.train.seed = seed
        run = out / f"trial_{trial.number:04d}"
        trial.set_user_attr("run_dir", str(run.resolve()))

        def report(epoch: int, row: dict[str, float]) -> None:
            trial.report(row["val_loss"], epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned after epoch {epoch}")

        result = train(cfg, data_dir=data, out_dir=run, progress=False, epoch_callback=report)
        return result.best_val_loss

    study.optimize(objective, n_trials=trials, show_progress_bar=progress and trials > 0)
    return _result(optuna, study, space, study_name, out, best_config)


def _open_study(optuna: Any, space: SearchSpace, study_db: str, study_name: str, *, seed: int):
    """The study (created or resumed) with its Hyperband pruner and a TPE sampler whose seed
    moves on with the trials already done (a resumed study does not repeat them)."""
    try:
        storage = optuna.storages.RDBStorage(study_db)
    except Exception as exc:  # noqa: BLE001 (sqlalchemy raises many types on a bad URL)
        raise UserError(f"--study-db {study_db!r}: cannot open ({type(exc).__name__})") from None
    pruner = optuna.pruners.HyperbandPruner(
        min_resource=space.min_epochs,
        max_resource=space.max_epochs,
        reduction_factor=space.reduction_factor,
    )
    names = optuna.study.get_all_study_names(storage)
    done = len(optuna.load_study(study_name=study_name, storage=storage).trials) if (
        study_name in names
    ) else 0  # fmt: skip
    return optuna.create_study(
        study_name=study_name,
        storage=storage,
        direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=seed + done),
        pruner=pruner,
        load_if_exists=True,
    )


def _result(
    optuna: Any,
    study: Any,
    space: SearchSpace,
    study_name: str,
    out: Path,
    best_config: str | os.PathLike[str] | None,
) -> TuneResult:
    """The study's counts and best trial; its config written to ``best_config``."""
    states = optuna.trial.TrialState
    all_trials = study.get_trials(deepcopy=False)
    complete = [t for t in all_trials if t.state == states.COMPLETE]
    result = TuneResult(
        study_name=study_name,
        trials=len(all_trials),
        complete=len(complete),
        pruned=sum(t.state == states.PRUNED for t in all_trials),
        best_number=None,
        best_value=None,
        best_params={},
        best_config=None,
    )
    if complete:
        best = min(complete, key=lambda t: t.value)
        result.best_number, result.best_value = best.number, float(best.value)
        result.best_params = {
            p.key: p.decode(best.params[p.key]) for p in space.params if p.key in best.params
        }
        target = Path(best_config) if best_config is not None else out / "best.yaml"
        cfg = read_run(best.user_attrs["run_dir"]).config
        with atomic_output(target, overwrite=True) as tmp:
            save_config(cfg, tmp)
        result.best_config = target
    return result
