"""Per-epoch logs of a run: ``log.csv`` always, TensorBoard (``tb/``) when installed.

TensorBoard is optional (``pip install 'jetpointnet[tensorboard]'``); without it the
run says so once and writes the CSV only. On resume, rows of epochs after the
checkpoint are dropped, so the log matches an uninterrupted run.
"""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from jetpointnet.errors import install_hint
from jetpointnet.io.atomic import atomic_output

__all__ = ["LOG_COLUMNS", "RunLogger", "log_columns", "read_log"]

#: Columns of ``log.csv``: losses of the task, learning rate, training throughput
#: (samples/s), fraction of validation cells predicted and truly focal (modal collapse
#: shows as ``frac_pred_focal`` going to 0 or 1, seed 001), wall time of the epoch (s).
LOG_COLUMNS = (
    "epoch",
    "train_loss",
    "val_loss",
    "lr",
    "samples_per_s",
    "frac_pred_focal",
    "frac_true_focal",
    "bn_momentum",
    "epoch_time_s",
)

INSTALL_HINT = install_hint("tensorboard")


def read_log(path: str | Path) -> list[dict[str, float]]:
    """Rows of a ``log.csv`` as dicts of floats (``epoch`` as a whole number); an empty or
    non-numeric cell is NaN; ``[]`` when the file is absent."""
    path = Path(path)
    if not path.is_file():
        return []
    with path.open(newline="") as f:
        return [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(f)]


def log_columns(path: str | Path) -> dict[str, np.ndarray]:
    """:func:`read_log` by column: name -> ``(n_epochs,)`` float64; ``{}`` if no rows."""
    rows = read_log(path)
    if not rows:
        return {}
    return {k: np.array([r.get(k, np.nan) for r in rows], dtype=np.float64) for k in rows[0]}


def _number(v: Any) -> float:
    try:
        return float(v) if v not in ("", None) else float("nan")
    except (TypeError, ValueError):
        return float("nan")


class RunLogger:
    """Append one row per epoch to ``log.csv`` (and TensorBoard scalars under ``tb/``)."""

    def __init__(
        self,
        run_dir: str | Path,
        *,
        keep_epochs: int = 0,
        tensorboard: bool = True,
        columns: Sequence[str] = LOG_COLUMNS,
    ) -> None:
        self.path = Path(run_dir) / "log.csv"
        self.columns = list(columns)
        rows = [r for r in read_log(self.path) if r["epoch"] <= keep_epochs]
        self._rewrite(rows)
        self.writer: Any = None
        self.note: str | None = None
        if tensorboard:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                self.note = (
                    f"TensorBoard logs skipped: tensorboard is not installed ({INSTALL_HINT})"
                )
            else:
                self.writer = SummaryWriter(
                    log_dir=str(Path(run_dir) / "tb"), purge_step=keep_epochs + 1
                )

    def _rewrite(self, rows: Sequence[Mapping[str, float]]) -> None:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=self.columns, lineterminator="\n")
        w.writeheader()
        for row in rows:
            w.writerow({k: _fmt(row.get(k, ""), k) for k in self.columns})
        with atomic_output(self.path, overwrite=True) as tmp:
            tmp.write_text(buf.getvalue())

    def log(self, row: Mapping[str, float]) -> None:
        """Append one epoch's row (missing columns are left empty)."""
        with self.path.open("a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=self.columns, lineterminator="\n")
            w.writerow({k: _fmt(row.get(k, ""), k) for k in self.columns})
        if self.writer is not None:
            step = int(row["epoch"])
            for k, v in row.items():
                if k != "epoch" and isinstance(v, (int, float)):
                    self.writer.add_scalar(k, v, step)
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _fmt(v: Any, key: str = "") -> Any:
    if key == "epoch" and isinstance(v, float) and v.is_integer():
        return int(v)  # read back from log.csv as a float on resume; stays "3", not "3.0"
    if isinstance(v, float):
        return repr(v)
    return v
