"""Event-display data of one sample, from its stage-1 record and a per-cell answer.

The dict returned here is what :mod:`jetpointnet.plotting.event_display` and
:mod:`jetpointnet.plotting.html_display` draw. Energies in GeV, positions in mm; per cell
``eta``, ``phi``, ``deta``, ``dphi``, ``x``, ``y``, ``z``, ``energy``, ``layer``, ``true``
(focal truth), ``pred`` (the answer) and ``id`` (``cell_geo_ID``) where stage 1 has it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from jetpointnet.errors import UserError
from jetpointnet.evaluation.inputs import Stage1

__all__ = ["display_dict", "display_sample", "pick_examples", "scatter_to_stage1"]


def scatter_to_stage1(values: np.ndarray, point_to_cell: np.ndarray, n_cells: int) -> np.ndarray:
    """Per stage-1 cell, the value of the stage-2 point aligned to it (NaN if none)."""
    out = np.full(n_cells, np.nan)
    ok = point_to_cell >= 0
    out[point_to_cell[ok]] = np.asarray(values, dtype=np.float64)[ok]
    return out


def display_dict(
    stage1: Stage1, s: int, pred_cells: np.ndarray, *, title: str = ""
) -> dict[str, Any]:
    """The display of stage-1 sample ``s`` with ``pred_cells`` (GeV per stage-1 cell).

    Cells without an answer (dropped by truncation) are shown with prediction 0.
    """
    a, b = int(stage1.cell_offsets[s]), int(stage1.cell_offsets[s + 1])
    c = stage1.cells
    cells = {
        k: np.asarray(c[k][a:b], dtype=np.float64)
        for k in ("eta", "phi", "deta", "dphi", "x", "y", "z", "energy")
    }
    cells["layer"] = np.asarray(c["layer"][a:b], dtype=np.int64)
    if "id" in c:
        cells["id"] = np.asarray(c["id"][a:b], dtype=np.uint64).astype(np.int64)
    cells["true"] = np.asarray(c["truth_focal"][a:b], dtype=np.float64)
    cells["pred"] = np.nan_to_num(np.asarray(pred_cells[a:b], dtype=np.float64), nan=0.0)
    tracks = []
    keys = ("layer_eta", "layer_phi", "layer_x", "layer_y", "layer_z")
    t = stage1.track
    tracks.append(
        {
            "name": f"track {int(t['index'][s])}",
            "focused": True,
            **{k: np.asarray(t[k][s], dtype=np.float64) for k in keys},
        }
    )
    o = stage1.others
    for j in range(int(stage1.other_offsets[s]), int(stage1.other_offsets[s + 1])):
        tracks.append(
            {
                "name": f"track {int(o['index'][j])}",
                "focused": False,
                **{k: np.asarray(o[k][j], dtype=np.float64) for k in keys},
            }
        )
    return {"cells": cells, "tracks": tracks, "title": title}


def pick_examples(
    pred_total: np.ndarray, true_total: np.ndarray, *, min_true: float = 0.5
) -> dict[str, int]:
    """Indices of the best, worst and a typical track (by |pred/true - 1|, true > min_true).

    Typical is the track at the median of that distance. Empty when no track qualifies.
    """
    pred = np.asarray(pred_total, dtype=np.float64)
    true = np.asarray(true_total, dtype=np.float64)
    idx = np.flatnonzero(np.isfinite(pred) & (true > min_true))
    if idx.size == 0:
        return {}
    dev = np.abs(pred[idx] / true[idx] - 1.0)
    order = idx[np.argsort(dev, kind="mergesort")]
    return {"best": int(order[0]), "typical": int(order[len(order) // 2]), "worst": int(order[-1])}


def display_sample(
    run_dir: str | os.PathLike[str],
    data_dir: str | os.PathLike[str],
    sample: int,
    *,
    split: str = "test",
    out_dir: str | os.PathLike[str],
    html: bool = False,
    progress: bool = True,
) -> list[Path]:
    """Predict ``split`` with a run and draw sample ``sample`` (index in the split)."""
    from jetpointnet.evaluation.figures import make_displays
    from jetpointnet.evaluation.inputs import load_stage1, point_cells
    from jetpointnet.evaluation.scoring import interpret
    from jetpointnet.io.prep_folder import peek_n_points, split_files, stage1_rows
    from jetpointnet.training.inference import predict
    from jetpointnet.training.run_folder import read_run

    n = sum(len(peek_n_points(f)) for f in split_files(data_dir, split))
    if not 0 <= sample < n:
        raise UserError(f"--sample {sample}: split '{split}' of {data_dir} has samples 0..{n - 1}")
    folder = read_run(run_dir)
    task = folder.config.task.name
    if task == "tagging" or task == "event":
        raise UserError(f"{folder.path}: a {task} run; event displays need a per-cell task")
    labels = predict(folder, Path(data_dir), split=split, progress=progress)  # with its labels
    answer = interpret(labels["pred"], task, labels["energy"])
    stage1 = load_stage1(data_dir, split=split)
    rows = stage1_rows(labels, stage1.sample)
    s1 = int(rows[sample])
    if s1 < 0:
        raise UserError(f"{data_dir}: sample {sample} of split '{split}' has no stage-1 record")
    per_cell = scatter_to_stage1(
        answer.energy, point_cells(labels, stage1, rows), len(stage1.cells["energy"])
    )
    title = (
        f"{folder.path.name}: sample {sample}, event {int(labels['event_number'][sample])}, "
        f"track pT {float(labels['track_pt'][sample]):.1f} GeV"
    )
    files = make_displays(
        {f"sample{sample}": display_dict(stage1, s1, per_cell, title=title)}, Path(out_dir)
    )
    return [f for f in files if html or f.suffix != ".html"]
