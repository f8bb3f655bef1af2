"""What every ONNX export and session of the project shares: the error type, the check
that the optional extra is installed, the target-file checks (any file; a run's export
target), a quiet exporter, the export of a module to an ONNX graph, the checked atomic
write of that graph and an ONNX Runtime CPU session. The per-kind exporters
(:mod:`~jetpointnet.predict.export` for the per-point runs, ``event_export``,
``tagging_export``) build on it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from jetpointnet.errors import UserError, require_extra
from jetpointnet.io.atomic import atomic_output, remove_stale_partials
from jetpointnet.io.paths import folder_files, refuse_overlap

__all__ = [
    "ExportError",
    "check_target",
    "export_graph",
    "export_target",
    "onnx_session",
    "quiet_export",
    "require_onnx",
    "save_graph",
]


class ExportError(UserError):
    """The model cannot be exported to ONNX (the reason is in the message)."""


def require_onnx() -> None:
    for name in ("onnx", "onnxscript", "onnxruntime"):
        require_extra(name, "onnx", what=f"ONNX export needs the package '{name}'")


def check_target(path: str | os.PathLike[str], *, overwrite: bool) -> Path:
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path}: is a folder; give the FILE.onnx to write")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: exists (pass --overwrite to replace it)")
    return path


def export_target(
    run_dir: str | os.PathLike[str],
    path: str | os.PathLike[str],
    *,
    checkpoint: str,
    overwrite: bool,
) -> Path:
    """The ONNX file ``path`` to export the run ``run_dir`` to, checked: outside the run
    folder and the ``checkpoint`` file (``best``/``last`` live in the folder), as for
    :func:`check_target`; partial files of an interrupted earlier export are removed."""
    named = [checkpoint] if checkpoint not in ("best", "last") else []
    refuse_overlap([*folder_files(run_dir), *named], path)
    path = check_target(path, overwrite=overwrite)
    remove_stale_partials(path.parent, stem=path.stem)
    return path


@contextlib.contextmanager
def quiet_export() -> Iterator[None]:
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


def export_graph(
    net: Any,
    args: tuple[Any, ...],
    *,
    input_names: Sequence[str],
    output_names: Sequence[str],
    dynamic_shapes: Any,
    opset: int,
    name: str,
) -> Any:
    """The ONNX ``ModelProto`` of ``net`` (an ``nn.Module`` in eval mode) called on the
    example tensors ``args``, from torch's ``torch.export``-based exporter, quietly.

    ``dynamic_shapes``: per argument of ``net.forward``, its dynamic axes. Raises
    :class:`ExportError` (one line, naming the model ``name``) when torch cannot export it.
    """
    import torch

    try:
        with torch.no_grad(), quiet_export():
            program = torch.onnx.export(
                net, args, input_names=list(input_names), output_names=list(output_names),
                dynamic_shapes=dynamic_shapes, opset_version=opset, dynamo=True, verbose=False,
            )  # fmt: skip
    except Exception as exc:  # noqa: BLE001 (torch raises many types; report one line)
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise ExportError(f"model '{name}' cannot be exported to ONNX: {first}") from None
    # dynamo=True always returns an ONNXProgram; the stubs allow None (the legacy exporter)
    return cast(torch.onnx.ONNXProgram, program).model_proto


def save_graph(proto: Any, path: Path, *, props: Mapping[str, str], overwrite: bool) -> Path:
    """Write the ONNX graph ``proto`` to ``path`` atomically, with ``props`` as its
    ``metadata_props`` (replacing any it had), after ONNX's model checker passed it."""
    import onnx

    onnx.helper.set_model_props(proto, dict(props))
    onnx.checker.check_model(proto)
    with atomic_output(path, overwrite=overwrite) as tmp:
        onnx.save_model(proto, str(tmp))
    return path


def onnx_session(path: str | os.PathLike[str], *, threads: int | None = None) -> Any:
    """An ONNX Runtime CPU ``InferenceSession`` for an exported file."""
    require_onnx()
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
