"""ONNX export of a tagging run (kind ``jet``) and an ONNX Runtime call that scores jets.

The exported graph maps one padded batch of jets to class probabilities:

- inputs ``x`` float32 ``(batch, constituents, F)`` (the run's feature columns, in the
  order of the file's ``jetpointnet.features``), ``mask`` bool ``(batch, constituents)``
  and, for models that use them (ParT), ``p4`` float32 ``(batch, constituents, 4)``
  ``(px, py, pz, E)`` in GeV, 0 on padding;
- output ``prob`` float32 ``(batch, K)``: probabilities in the order of the file's
  ``jetpointnet.classes`` (the task's softmax or sigmoid is part of the graph).

``batch`` and ``constituents`` are dynamic axes; the model is exported in eval mode with
torch's ``torch.export``-based exporter. :func:`check_parity` runs the exported file and
the torch model on the same jets and returns the largest difference (weaver's
``--export-onnx``, with the check done here).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from jetpointnet.predict.onnx_files import export_graph, export_target, require_onnx, save_graph
from jetpointnet.training.jet_kind import jet_forward
from jetpointnet.training.tagging import TaggingTask
from jetpointnet.training.tagging_inference import TaggingRun, load_tagging_run

__all__ = ["ProbOnly", "check_parity", "export_tagging_onnx", "run_tagging_session"]


class ProbOnly(nn.Module):
    """A tagger and its task's probabilities: ``(x, mask[, p4])`` -> ``(B, K)``."""

    def __init__(self, model: nn.Module, task: TaggingTask) -> None:
        super().__init__()
        self.model = model
        self.task = task
        self.inputs = tuple(getattr(model, "inputs", ()))

    def forward(self, x: torch.Tensor, mask: torch.Tensor, *extras: torch.Tensor) -> torch.Tensor:
        batch = {"x": x, "mask": mask, **dict(zip(self.inputs, extras, strict=True))}
        return self.task.predict(jet_forward(self.model, batch)["pred"])


def _example(run: TaggingRun, inputs: tuple[str, ...]) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    b, n = 2, 20
    x = torch.randn(b, n, run.in_features, generator=g)
    mask = torch.ones(b, n, dtype=torch.bool)
    mask[1, 12:] = False
    p4 = torch.rand(b, n, 4, generator=g) * 50
    p4[..., 3] = p4[..., :3].norm(dim=-1) + 1.0
    extra = {"p4": p4 * mask.unsqueeze(-1)}
    return (x * mask.unsqueeze(-1), mask, *(extra[k] for k in inputs))


def export_tagging_onnx(
    run_dir: str | os.PathLike[str],
    path: str | os.PathLike[str],
    *,
    checkpoint: str = "best",
    opset: int = 18,
    overwrite: bool = False,
) -> Path:
    """Export the tagger of ``run_dir`` to the ONNX file ``path`` (atomically)."""
    require_onnx()
    path = export_target(run_dir, path, checkpoint=checkpoint, overwrite=overwrite)
    run = load_tagging_run(run_dir, checkpoint=checkpoint, device="cpu")
    net = ProbOnly(run.model, run.task).eval()
    args = _example(run, net.inputs)
    batch, points = torch.export.Dim("batch", min=1), torch.export.Dim("constituents", min=2)
    axes = {0: batch, 1: points}
    shapes: dict[str, Any] = {"x": axes, "mask": axes}
    if net.inputs:
        shapes["extras"] = tuple(axes for _ in net.inputs)
    names = ["x", "mask", *net.inputs]
    proto = export_graph(net, args, input_names=names, output_names=["prob"],
                         dynamic_shapes=shapes, opset=opset, name=run.cfg.model.name)  # fmt: skip
    features = run.cfg.data.features or list(run.metadata.get("features") or [])
    props = {
        "jetpointnet.run": str(Path(run_dir).resolve()),
        "jetpointnet.model": run.cfg.model.name,
        "jetpointnet.task": "tagging",
        "jetpointnet.kind": "jet",
        "jetpointnet.features": json.dumps(features),
        "jetpointnet.classes": json.dumps(run.classes),
        "jetpointnet.inputs": json.dumps(names),
    }
    return save_graph(proto, path, props=props, overwrite=overwrite)


def run_tagging_session(session: Any, batch: dict[str, np.ndarray | torch.Tensor]) -> np.ndarray:
    """``prob`` ``(B, K)`` of an exported tagger for one padded batch (the inputs it takes)."""
    feeds = {}
    for inp in session.get_inputs():
        value = np.asarray(batch[inp.name])
        feeds[inp.name] = np.ascontiguousarray(
            value, dtype=bool if inp.name == "mask" else np.float32
        )
    return session.run(["prob"], feeds)[0]


def check_parity(
    run_dir: str | os.PathLike[str],
    onnx_file: str | os.PathLike[str],
    batch: dict[str, torch.Tensor],
    *,
    checkpoint: str = "best",
) -> float:
    """Largest absolute difference of the probabilities of torch and ONNX on ``batch``."""
    from jetpointnet.predict.onnx_files import onnx_session

    run = load_tagging_run(run_dir, checkpoint=checkpoint, device="cpu")
    with torch.no_grad():
        ref = run.task.predict(jet_forward(run.model, batch)["pred"]).numpy()
    got = run_tagging_session(onnx_session(onnx_file), {k: v.numpy() for k, v in batch.items()})
    return float(np.abs(ref - got).max())
