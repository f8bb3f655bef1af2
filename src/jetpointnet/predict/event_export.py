"""ONNX export of an event-level run's model, and running the exported graph.

The graph is :class:`~jetpointnet.models.event_pflow.EventPflow`'s forward in eval mode:

- inputs (:data:`~jetpointnet.training.event_kind.MODEL_INPUTS`, in order): ``cell_x``
  float32 ``(batch, cells, Fc)``, ``cell_mask`` bool ``(batch, cells)``, ``cell_energy``
  (GeV), ``cell_eta``, ``cell_phi`` float32 ``(batch, cells)``; ``track_x`` float32
  ``(batch, tracks, Ft)``, ``track_mask`` bool, ``track_pt`` (GeV), ``track_eta``,
  ``track_phi`` (perigee), ``track_calo_eta``, ``track_calo_phi`` (calorimeter impact)
  float32 ``(batch, tracks)``;
- outputs (:data:`~jetpointnet.models.event_pflow.OUTPUTS`): ``incidence`` ``(batch,
  cells, tracks + K + 1)`` logits, ``existence`` ``(batch, tracks + K)`` logits,
  ``class_logits`` ``(batch, tracks + K, 5)``, ``energy`` (GeV), ``eta``, ``phi``,
  ``proxy_energy`` (GeV) ``(batch, tracks + K)``.

``batch``, ``cells`` and ``tracks`` are dynamic axes. The file's ``metadata_props`` name
the run, the model, ``jetpointnet.kind`` = ``event`` and (``jetpointnet.inputs``, JSON)
the graph inputs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from jetpointnet.models.event_pflow import OUTPUTS
from jetpointnet.predict.onnx_files import (
    check_target,
    export_graph,
    export_target,
    onnx_session,
    require_onnx,
    save_graph,
)
from jetpointnet.training.event_kind import MODEL_INPUTS

__all__ = ["event_session", "export_event_model", "export_event_run", "run_event_session"]


class _Graph(nn.Module):
    """The model with positional inputs and a tuple of outputs (what ONNX graphs take)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.model(*inputs)
        return tuple(out[k] for k in OUTPUTS)


def _example(n_cell: int, n_track: int) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    b, nc, nt = 3, 19, 5  # neither 0 nor 1 (symbolic axes), all different
    cm = torch.ones(b, nc, dtype=torch.bool)
    cm[1, 12:] = False
    tm = torch.ones(b, nt, dtype=torch.bool)
    tm[2, 2:] = False
    return (torch.randn(b, nc, n_cell, generator=g), cm, torch.rand(b, nc, generator=g) + 0.1,
            0.3 * torch.randn(b, nc, generator=g), 0.3 * torch.randn(b, nc, generator=g),
            torch.randn(b, nt, n_track, generator=g), tm, 5 * torch.rand(b, nt, generator=g) + 1,
            0.3 * torch.randn(b, nt, generator=g), 0.3 * torch.randn(b, nt, generator=g),
            0.3 * torch.randn(b, nt, generator=g), 0.3 * torch.randn(b, nt, generator=g))  # fmt: skip


def export_event_model(model: nn.Module, path: str | os.PathLike[str], *, n_cell: int,
                       n_track: int, name: str = "event_pflow", opset: int = 18,
                       overwrite: bool = False, metadata: dict[str, str] | None = None) -> Path:  # fmt: skip
    """Export ``model`` (eval mode, CPU) to the ONNX file ``path`` atomically."""
    require_onnx()
    path = check_target(path, overwrite=overwrite)
    net = _Graph(model).cpu().eval()
    batch = torch.export.Dim("batch", min=1)
    cells = torch.export.Dim("cells", min=1)
    tracks = torch.export.Dim("tracks", min=1)
    axes = [{0: batch, 1: cells}] * 5 + [{0: batch, 1: tracks}] * 7
    proto = export_graph(net, _example(n_cell, n_track), input_names=MODEL_INPUTS,
                         output_names=OUTPUTS, dynamic_shapes={"inputs": tuple(axes)},
                         opset=opset, name=name)  # fmt: skip
    props = {**(metadata or {}), "jetpointnet.kind": "event",
             "jetpointnet.inputs": json.dumps(list(MODEL_INPUTS))}  # fmt: skip
    return save_graph(proto, path, props=props, overwrite=overwrite)


def export_event_run(run_dir: str | os.PathLike[str], path: str | os.PathLike[str], *,
                     checkpoint: str = "best", opset: int = 18, overwrite: bool = False) -> Path:  # fmt: skip
    """Export the model of the event-level run ``run_dir`` to ``path``."""
    from jetpointnet.predict.event_run import load_event_run

    path = export_target(run_dir, path, checkpoint=checkpoint, overwrite=overwrite)
    model, cfg, metadata = load_event_run(run_dir, checkpoint=checkpoint, device="cpu")
    props = {"jetpointnet.run": str(Path(run_dir).resolve()), "jetpointnet.model": cfg.model.name,
             "jetpointnet.cell_features": json.dumps(metadata["cell_features"]),
             "jetpointnet.track_features": json.dumps(metadata["track_features"])}  # fmt: skip
    return export_event_model(model, path, n_cell=len(metadata["cell_features"]),
                              n_track=len(metadata["track_features"]), name=cfg.model.name,
                              opset=opset, overwrite=overwrite, metadata=props)  # fmt: skip


def event_session(path: str | os.PathLike[str], *, threads: int | None = None) -> Any:
    """An ONNX Runtime session for an exported event model (checks its inputs)."""
    from jetpointnet.errors import UserError

    session = onnx_session(path, threads=threads)
    names = [i.name for i in session.get_inputs()]
    if names != list(MODEL_INPUTS):
        raise UserError(f"{path}: inputs {names[:3]}... are not an event-level export "
                        "(export an event run with `jetpointnet export`)")  # fmt: skip
    return session


def run_event_session(session: Any, batch: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The outputs (by name) of an ONNX session for one batch (tensors or arrays)."""
    feeds = {}
    for k in MODEL_INPUTS:
        v = batch[k]
        v = v.numpy() if isinstance(v, torch.Tensor) else np.asarray(v)
        feeds[k] = np.ascontiguousarray(v, dtype=bool if k.endswith("_mask") else np.float32)
    return dict(zip(OUTPUTS, session.run(list(OUTPUTS), feeds), strict=True))
