"""ONNX export of a run's model and an ONNX Runtime session to run it.

The exported graph is the model's forward ``(x, mask, energy) -> pred``:

- inputs ``x`` float32 ``(batch, points, F)`` (scaled features), ``mask`` bool
  ``(batch, points)`` (real points), ``energy`` float32 ``(batch, points)`` (raw point
  energy in GeV, the energy bypass);
- output ``pred``: the head's raw output with padded rows zero: regression ``(batch,
  points)`` focal energy in GeV; binary ``(batch, points)`` logits; multiclass
  ``(batch, points, 4)`` logits (the task turns logits into probabilities).

``batch`` and ``points`` are dynamic axes. The model is exported in eval mode (batch
norm uses its running statistics, dropout is off), with torch's ``torch.export``-based
exporter (needs ``onnxscript``). The auxiliary (orthogonality) loss is not exported.

Registered models: ``pointnet`` exports. A model whose forward has data-dependent
Python control flow or ops without an ONNX lowering cannot; :func:`export_onnx` raises
:class:`ExportError` naming the model and torch's reason.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from jetpointnet.errors import UserError
from jetpointnet.io.atomic import atomic_output
from jetpointnet.training.inference import load_run

__all__ = [
    "INPUT_NAMES",
    "ONNX_HINT",
    "ExportError",
    "PredOnly",
    "export_model",
    "export_onnx",
    "onnx_session",
    "require_plain_inputs",
]

INPUT_NAMES = ("x", "mask", "energy")
ONNX_HINT = "pip install 'jetpointnet[onnx]'"


class ExportError(UserError):
    """The model cannot be exported to ONNX (the reason is in the message)."""


class PredOnly(nn.Module):
    """Wraps a :class:`~jetpointnet.models.registry.PointCloudModel`: returns ``pred`` only."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, mask: torch.Tensor, energy: torch.Tensor) -> torch.Tensor:
        return self.model(x, mask, energy)["pred"]


def _require_onnx() -> None:
    for name in ("onnx", "onnxscript", "onnxruntime"):
        try:
            __import__(name)
        except ImportError:
            raise UserError(f"ONNX export needs the package '{name}': {ONNX_HINT}") from None


def _example(in_features: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    b, n = 3, 17  # neither 0 nor 1, so the exporter keeps both axes symbolic
    x = torch.randn(b, n, in_features, generator=g)
    mask = torch.ones(b, n, dtype=torch.bool)
    mask[1, 10:] = False
    energy = torch.rand(b, n, generator=g)
    return x, mask, energy


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

    ``metadata`` is stored as the ONNX model's ``metadata_props`` (string pairs).
    Raises :class:`ExportError` when torch cannot export ``name``.
    """
    _require_onnx()
    import onnx

    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: exists (pass --overwrite to replace it)")
    net = PredOnly(model).cpu().eval()
    args = _example(in_features)
    batch = torch.export.Dim("batch", min=1)
    points = torch.export.Dim("points", min=1)
    shapes = {"x": {0: batch, 1: points}, "mask": {0: batch, 1: points}}
    shapes["energy"] = {0: batch, 1: points}
    try:
        with torch.no_grad(), _quiet():
            program = torch.onnx.export(
                net,
                args,
                input_names=list(INPUT_NAMES),
                output_names=["pred"],
                dynamic_shapes=shapes,
                opset_version=opset,
                dynamo=True,
                verbose=False,
            )
    except Exception as exc:  # noqa: BLE001 (torch raises many types; report one line)
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise ExportError(f"model '{name}' cannot be exported to ONNX: {first}") from None
    proto = program.model_proto
    for key, value in (metadata or {}).items():
        onnx.helper.set_model_props(proto, {**_props(proto), key: value})
    onnx.checker.check_model(proto)
    with atomic_output(path, overwrite=overwrite) as tmp:
        onnx.save_model(proto, str(tmp))
    return path


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the exporter's progress lines and its deprecation warnings."""
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch.export", "onnxscript")]
    levels = [lg.level for lg in loggers]
    try:
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with contextlib.redirect_stdout(io.StringIO()):
                yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _props(proto: Any) -> dict[str, str]:
    return {p.key: p.value for p in proto.metadata_props}


def require_plain_inputs(model, name: str, run_dir) -> None:
    """One line for models that need per-point arrays beyond (x, mask, energy).

    ``cnn`` and ``gnn`` read stage-2 extras (``d_eta``, ``neighbours``, ...) that the exported
    graph and the ``predict`` path do not carry yet.
    """
    extra = [k for k in getattr(model, "inputs", ()) if k != "energy"]
    if extra:
        raise UserError(
            f"{run_dir}: model '{name}' needs the per-point arrays {extra}, which export and "
            "predict do not pass yet (pointnet, edgeconv and transformer work)"
        )


def export_onnx(
    run_dir: str | os.PathLike[str],
    path: str | os.PathLike[str],
    *,
    checkpoint: str = "best",
    opset: int = 18,
    overwrite: bool = False,
) -> Path:
    """Export the model of the run folder ``run_dir`` to ``path`` (see the module docstring).

    The file's metadata records the run folder, model name, task and input features.
    """
    model, cfg, metadata = load_run(run_dir, checkpoint=checkpoint, device="cpu")
    require_plain_inputs(model, cfg.model.name, run_dir)
    info = json.loads((Path(run_dir) / "run.json").read_text())
    features = cfg.data.features or list(metadata.get("features") or [])
    props = {
        "jetpointnet.run": str(Path(run_dir).resolve()),
        "jetpointnet.model": cfg.model.name,
        "jetpointnet.task": cfg.task.name,
        "jetpointnet.features": json.dumps(features),
    }
    return export_model(
        model,
        path,
        in_features=int(info["in_features"]),
        name=cfg.model.name,
        opset=opset,
        overwrite=overwrite,
        metadata=props,
    )


def onnx_session(path: str | os.PathLike[str], *, threads: int | None = None) -> Any:
    """An ONNX Runtime CPU ``InferenceSession`` for an exported file."""
    _require_onnx()
    import onnxruntime as ort

    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: ONNX file not found")
    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    try:
        return ort.InferenceSession(str(p), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 (onnxruntime's own exception types)
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise UserError(f"{p}: not a loadable ONNX model: {first}") from None


def run_session(session: Any, x: np.ndarray, mask: np.ndarray, energy: np.ndarray) -> np.ndarray:
    """``pred`` of an ONNX session for one padded batch (numpy in, numpy out)."""
    feeds = {
        "x": np.ascontiguousarray(x, dtype=np.float32),
        "mask": np.ascontiguousarray(mask, dtype=bool),
        "energy": np.ascontiguousarray(energy, dtype=np.float32),
    }
    return session.run(["pred"], feeds)[0]


def temporary_export(run_dir: str | os.PathLike[str], *, checkpoint: str = "best") -> Path:
    """Export to a file in a new temporary folder (for ``predict --backend onnx``)."""
    folder = Path(tempfile.mkdtemp(prefix="jetpointnet-onnx-"))
    return export_onnx(run_dir, folder / "model.onnx", checkpoint=checkpoint)
