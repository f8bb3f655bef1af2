"""ONNX export of a run's model and an ONNX Runtime session to run it.

The exported graph is the model's forward ``(x, mask, energy, *extras) -> pred``:

- inputs ``x`` float32 ``(batch, points, F)`` (scaled features), ``mask`` bool
  ``(batch, points)`` (real points), ``energy`` float32 ``(batch, points)`` (raw point
  energy in GeV, the energy bypass);
- then, only for models that read stage-2 extra arrays (``model.inputs``; ``cnn`` and
  ``gnn``), one further named input per array, in the order of ``model.inputs``, with the
  dtypes and padding of :data:`jetpointnet.training.dataset.EXTRA_FILL`:
  ``d_eta``, ``d_phi`` float32 ``(batch, points)`` (eta and radians relative to the
  focused track's reference point, 0 on padding); ``sampling`` int64 ``(batch, points)``
  (CaloSampling number, -1 on padding); ``neighbours`` int64 ``(batch, points, 7)``
  (sample-local point indices of the CellGeo and track links, -1 for none; see
  :mod:`jetpointnet.data.extras`);
- output ``pred``: the head's raw output with padded rows zero: regression ``(batch,
  points)`` focal energy in GeV; binary ``(batch, points)`` logits; multiclass
  ``(batch, points, 4)`` logits (the task turns logits into probabilities).

``batch`` and ``points`` are dynamic axes. The model is exported in eval mode (batch
norm uses its running statistics, dropout is off), with torch's ``torch.export``-based
exporter (needs ``onnxscript``). The auxiliary (orthogonality) loss is not exported.
The file's ``metadata_props`` name the run, model, task, input features and
(``jetpointnet.inputs``, a JSON list) every graph input in order.

Registered models: all export (``pointnet``, ``edgeconv``, ``transformer``, ``cnn``,
``gnn``). A model whose forward has data-dependent Python control flow or ops without an
ONNX lowering cannot; :func:`export_onnx` raises :class:`ExportError` naming the model
and torch's reason.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from jetpointnet.data.extras import N_LINKS
from jetpointnet.errors import UserError, install_hint
from jetpointnet.predict.onnx_files import (
    ExportError,
    check_target,
    export_graph,
    export_target,
    onnx_session,
    require_onnx,
    save_graph,
)
from jetpointnet.training.dataset import EXTRA_FILL
from jetpointnet.training.inference import load_model
from jetpointnet.training.run_folder import read_run

__all__ = [
    "EXTRA_SHAPES",
    "INPUT_NAMES",
    "ONNX_HINT",
    "ExportError",
    "PredOnly",
    "export_model",
    "export_onnx",
    "extra_inputs",
    "onnx_session",
    "run_session",
    "session_extras",
]

INPUT_NAMES = ("x", "mask", "energy")
#: Extra inputs: name -> shape after ``(batch, points)``; dtype and padding: ``EXTRA_FILL``.
EXTRA_SHAPES: dict[str, tuple[int, ...]] = {
    "d_eta": (),
    "d_phi": (),
    "sampling": (),
    "neighbours": (N_LINKS,),
}
ONNX_HINT = install_hint("onnx")


def extra_inputs(model: nn.Module, *, where: str = "model") -> tuple[str, ...]:
    """The stage-2 extra arrays ``model`` reads (``model.inputs`` but ``energy``), in order.

    An input that neither the batches nor the export know is a :class:`UserError`.
    """
    names = tuple(k for k in getattr(model, "inputs", ()) if k != "energy")
    for name in names:
        if name not in EXTRA_SHAPES or name not in EXTRA_FILL:
            raise UserError(f"{where}: the model reads the unknown per-point array {name!r}")
    return names


class PredOnly(nn.Module):
    """Wraps a :class:`~jetpointnet.models.registry.PointCloudModel`: returns ``pred`` only.

    ``forward(x, mask, energy, *extras)``: the extra arrays positionally, in the order
    of ``extras`` (ONNX graphs take positional inputs).
    """

    def __init__(self, model: nn.Module, extras: Sequence[str] = ()) -> None:
        super().__init__()
        self.model = model
        self.extras = tuple(extras)

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor, energy: torch.Tensor, *extras: torch.Tensor
    ) -> torch.Tensor:
        more = dict(zip(self.extras, extras, strict=True))
        return self.model(x, mask, energy, **more)["pred"]


def _example(in_features: int, extras: Sequence[str] = ()) -> tuple[torch.Tensor, ...]:
    """Example inputs ``(x, mask, energy, *extras)`` for the exporter (values arbitrary)."""
    g = torch.Generator().manual_seed(0)
    b, n = 3, 17  # neither 0 nor 1, so the exporter keeps both axes symbolic
    x = torch.randn(b, n, in_features, generator=g)
    mask = torch.ones(b, n, dtype=torch.bool)
    mask[1, 10:] = False
    energy = torch.rand(b, n, generator=g)
    more = []
    for name in extras:
        shape = (b, n, *EXTRA_SHAPES[name])
        if np.dtype(EXTRA_FILL[name][0]).kind == "f":
            more.append(0.1 * torch.randn(*shape, generator=g))
        elif name == "neighbours":
            more.append(torch.randint(-1, n, shape, generator=g))
        else:
            more.append(torch.randint(0, 24, shape, generator=g))
    return (x, mask, energy, *more)


def export_model(
    model: nn.Module,
    path: str | os.PathLike[str],
    *,
    in_features: int,
    name: str = "model",
    opset: int = 18,
    overwrite: bool = False,
    metadata: dict[str, str] | None = None,
) -> Path:
    """Export ``model`` (eval mode, CPU) to the ONNX file ``path`` atomically.

    The graph's inputs are ``x``, ``mask``, ``energy`` and the model's extra arrays
    (:func:`extra_inputs`). ``metadata`` is stored as the ONNX model's
    ``metadata_props`` (string pairs), with ``jetpointnet.inputs`` added. Raises
    :class:`ExportError` when torch cannot export ``name``.
    """
    require_onnx()
    path = check_target(path, overwrite=overwrite)
    extras = extra_inputs(model, where=f"model '{name}'")
    net = PredOnly(model, extras).cpu().eval()
    args = _example(in_features, extras)
    batch = torch.export.Dim("batch", min=1)
    points = torch.export.Dim("points", min=1)
    axes = {0: batch, 1: points}
    shapes: dict[str, Any] = {"x": axes, "mask": axes, "energy": axes}
    if extras:  # the varargs of PredOnly.forward (no key when there are none)
        shapes["extras"] = tuple(axes for _ in extras)
    names = [*INPUT_NAMES, *extras]
    proto = export_graph(net, args, input_names=names, output_names=["pred"],
                         dynamic_shapes=shapes, opset=opset, name=name)  # fmt: skip
    graph_inputs = [i.name for i in proto.graph.input]
    if graph_inputs != names:  # e.g. an input the graph does not use was pruned
        raise ExportError(f"model '{name}': exported inputs {graph_inputs}, expected {names}")
    props = {**_props(proto), **(metadata or {}), "jetpointnet.inputs": json.dumps(names)}
    return save_graph(proto, path, props=props, overwrite=overwrite)


def _props(proto: Any) -> dict[str, str]:
    return {p.key: p.value for p in proto.metadata_props}


def export_onnx(
    run_dir: str | os.PathLike[str],
    path: str | os.PathLike[str],
    *,
    checkpoint: str = "best",
    opset: int = 18,
    overwrite: bool = False,
) -> Path:
    """Export the model of the run folder ``run_dir`` to ``path`` (see the module docstring).

    The file's metadata records the run folder, model name, task, input features and
    graph inputs (``jetpointnet.inputs``).
    """
    from jetpointnet.predict.event_run import is_event_run

    if is_event_run(run_dir):  # event-level particle flow: its own graph
        from jetpointnet.predict.event_export import export_event_run

        return export_event_run(
            run_dir, path, checkpoint=checkpoint, opset=opset, overwrite=overwrite
        )
    from jetpointnet.training.tagging_inference import is_tagging_run, run_kind

    if run_kind(run_dir) == "photon":
        raise UserError(f"{run_dir}: ONNX export of photon runs (kind 'photon') is not supported")
    if is_tagging_run(run_dir):
        from jetpointnet.predict.tagging_export import export_tagging_onnx  # a tagging run

        return export_tagging_onnx(
            run_dir, path, checkpoint=checkpoint, opset=opset, overwrite=overwrite
        )
    path = export_target(run_dir, path, checkpoint=checkpoint, overwrite=overwrite)
    run = read_run(run_dir)
    model, cfg = load_model(run, checkpoint=checkpoint, device="cpu"), run.config
    features = cfg.data.features or list(run.metadata.get("features") or [])
    props = {
        "jetpointnet.run": str(Path(run_dir).resolve()),
        "jetpointnet.model": cfg.model.name,
        "jetpointnet.task": cfg.task.name,
        "jetpointnet.features": json.dumps(features),
    }
    return export_model(
        model,
        path,
        in_features=run.info.in_features,
        name=cfg.model.name,
        opset=opset,
        overwrite=overwrite,
        metadata=props,
    )


def session_extras(session: Any, *, where: str) -> tuple[str, ...]:
    """The extra inputs of an ONNX session beyond ``x, mask, energy``, in graph order."""
    names = [i.name for i in session.get_inputs()]
    missing = [k for k in INPUT_NAMES if k not in names]
    unknown = [k for k in names if k not in INPUT_NAMES and k not in EXTRA_SHAPES]
    if missing or unknown:
        bad = f"no input {missing[0]!r}" if missing else f"unknown input {unknown[0]!r}"
        raise UserError(f"{where}: {bad} (not a jetpointnet export; run `jetpointnet export`)")
    return tuple(k for k in names if k not in INPUT_NAMES)


def run_session(
    session: Any,
    x: np.ndarray,
    mask: np.ndarray,
    energy: np.ndarray,
    *,
    extras: Mapping[str, np.ndarray] | None = None,
) -> np.ndarray:
    """``pred`` of an ONNX session for one padded batch (numpy in, numpy out).

    ``extras``: the padded extra arrays the graph takes (by name; cast to the dtypes of
    ``EXTRA_FILL``); arrays the graph does not take are not fed.
    """
    feeds = {
        "x": np.ascontiguousarray(x, dtype=np.float32),
        "mask": np.ascontiguousarray(mask, dtype=bool),
        "energy": np.ascontiguousarray(energy, dtype=np.float32),
    }
    wanted = {i.name for i in session.get_inputs()}
    for name, arr in (extras or {}).items():
        if name in wanted:
            feeds[name] = np.ascontiguousarray(arr, dtype=EXTRA_FILL[name][0])
    return session.run(["pred"], feeds)[0]


def temporary_export(run_dir: str | os.PathLike[str], *, checkpoint: str = "best") -> Path:
    """Export to a file in a new temporary folder (for ``predict --backend onnx``)."""
    folder = Path(tempfile.mkdtemp(prefix="jetpointnet-onnx-"))
    return export_onnx(run_dir, folder / "model.onnx", checkpoint=checkpoint)
