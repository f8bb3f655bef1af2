"""``predict`` on a tagging run: one row per jet of a preprocessed ``jet`` folder's split.

A photon run (kind ``photon``) writes one row per object the same way (ROOT tree
``photons``), with the folder's own observers (metadata ``observers``) as columns;
its ``backend`` is ``torch`` only.

Columns of the output (parquet or ROOT, by suffix, via
:class:`jetpointnet.io.prediction_files.PredictionWriter`; ROOT tree ``jets``):

- ``prob_<class>`` float32: the tagger's probability of each class of the run;
- ``label`` int64 (the data's ``y_cloud``) and ``weight`` float32 (the data's per-jet
  weight), so the file alone gives ROC curves;
- the observers ``jet_pt``, ``jet_eta``, ``jet_phi``, ``jet_m``, ``jet_m_ungroomed``,
  ``truth_jet_pt``, ``truth_jet_m`` (GeV), ``tau21``, ``d2``, ``n_constituents``;
- the links ``file_index`` (into the data's metadata ``inputs``), ``entry``,
  ``event_number``, ``object_index``: every row leads back to its ROOT event.

Rows follow the split's chunk files in sorted order, jets in file order. ``backend``
``torch`` runs the checkpoint; ``onnx`` runs an exported file (made now, in a temporary
folder, when ``onnx_file`` is None).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from tqdm.auto import tqdm

from jetpointnet.errors import UserError
from jetpointnet.io.paths import folder_files, refuse_overlap
from jetpointnet.io.prediction_files import PredictionWriter, output_format
from jetpointnet.io.prep_folder import read_metadata, split_files
from jetpointnet.training.dataset import feature_indices
from jetpointnet.training.jet_stream import LINKS, collate_jets, load_jet_chunk
from jetpointnet.training.tagging_inference import jet_table, load_tagging_run, score_split

__all__ = ["JetPredictResult", "predict_jets"]


@dataclass
class JetPredictResult:
    """What :func:`predict_jets` wrote: the file, its rows and the backend used."""

    out: Path
    rows: int
    backend: str


def _onnx_probs(session, data_dir: Path, split: str, features, batch_size: int, progress: bool):
    from jetpointnet.predict.tagging_export import run_tagging_session

    out = []
    for path in tqdm(split_files(data_dir, split), desc=f"tag {split}", disable=not progress):
        chunk = load_jet_chunk(path, features=features)
        n = len(chunk["y_cloud"])
        probs: np.ndarray | None = None
        for lo in range(0, n, batch_size):
            idx = np.arange(lo, min(n, lo + batch_size))
            batch = collate_jets({0: chunk}, [(0, int(i)) for i in idx], idx)
            p = run_tagging_session(session, {k: v.numpy() for k, v in batch.items()})
            probs = np.zeros((n, p.shape[1]), np.float32) if probs is None else probs
            probs[idx] = p
        if probs is not None:
            out.append(probs)
    return np.concatenate(out)


def predict_jets(
    run_dir: str | os.PathLike[str],
    data_dir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    split: str = "test",
    checkpoint: str = "best",
    backend: Literal["torch", "onnx"] = "torch",
    onnx_file: str | os.PathLike[str] | None = None,
    batch_size: int = 256,
    device: str = "cpu",
    threads: int | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> JetPredictResult:
    """Score ``split`` of the jet folder ``data_dir`` with the run and write one row per jet."""
    out, data_dir = Path(out), Path(data_dir)
    output_format(out)
    refuse_overlap([data_dir, *folder_files(run_dir)], out)
    if out.exists() and not overwrite:
        raise UserError(f"{out}: exists (pass --overwrite to replace it)")
    if threads:
        torch.set_num_threads(threads)
    run = load_tagging_run(run_dir, checkpoint=checkpoint, device=device)
    if backend == "onnx" and run.kind != "jet":
        raise UserError(
            f"{run_dir}: backend 'onnx' is for jet runs; use 'torch' for a {run.kind} run"
        )
    if backend == "onnx":
        from jetpointnet.predict.export import onnx_session
        from jetpointnet.predict.tagging_export import export_tagging_onnx

        if onnx_file is None:
            tmp = Path(tempfile.mkdtemp(prefix="jetpointnet-onnx-")) / "model.onnx"
            onnx_file = export_tagging_onnx(run_dir, tmp, checkpoint=checkpoint)
        metadata = read_metadata(data_dir)
        features = feature_indices(metadata, run.cfg.data.features, where=str(data_dir))
        session = onnx_session(onnx_file, threads=threads)
        probs = _onnx_probs(session, data_dir, split, features, batch_size, progress)
    else:
        probs = score_split(run, data_dir, split=split, batch_size=batch_size, progress=progress)
    table = jet_table(data_dir, split, observers=run.observers)
    columns: dict[str, np.ndarray] = {
        f"prob_{c}": probs[:, i].astype(np.float32) for i, c in enumerate(run.classes)
    }
    columns["label"] = table["y_cloud"].astype(np.int64)
    columns["weight"] = table["weight"].astype(np.float32)
    for name in (*run.observers, *LINKS):
        columns[name] = table[name]
    dtypes = {k: v.dtype for k, v in columns.items()}
    tree = "photons" if run.kind == "photon" else "jets"
    with PredictionWriter(out, dtypes, overwrite=overwrite, tree_name=tree) as writer:
        writer.write(columns)
        path = writer.close()
    return JetPredictResult(path, len(probs), backend)
