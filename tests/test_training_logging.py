"""The run's log.csv: written by RunLogger, read back by rows and by columns."""

from __future__ import annotations

import math

import numpy as np

from jetpointnet.training.logging import RunLogger, log_columns, read_log


def test_rows_and_columns_read_back_what_the_logger_wrote(tmp_path) -> None:
    logger = RunLogger(tmp_path, tensorboard=False, columns=("epoch", "train_loss", "lr"))
    logger.log({"epoch": 1, "train_loss": 0.5, "lr": 1e-3})
    logger.log({"epoch": 2, "train_loss": 0.25})  # lr missing: an empty cell
    logger.close()
    rows = read_log(tmp_path / "log.csv")
    assert [r["epoch"] for r in rows] == [1.0, 2.0]
    assert rows[0]["lr"] == 1e-3 and math.isnan(rows[1]["lr"])
    cols = log_columns(tmp_path / "log.csv")
    assert list(cols) == ["epoch", "train_loss", "lr"]
    assert cols["train_loss"].dtype == np.float64
    assert np.array_equal(cols["train_loss"], [0.5, 0.25])


def test_non_numeric_cells_are_nan_and_an_absent_log_is_empty(tmp_path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("epoch,epoch_time_s\n1,oops\n2,3.5\n")
    assert math.isnan(read_log(path)[0]["epoch_time_s"])
    assert np.isnan(log_columns(path)["epoch_time_s"][0])
    assert log_columns(path)["epoch_time_s"][1] == 3.5
    assert read_log(tmp_path / "none.csv") == [] and log_columns(tmp_path / "none.csv") == {}
