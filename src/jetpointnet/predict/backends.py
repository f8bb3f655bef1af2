"""Inference backends: the run's PyTorch model or its ONNX export under ONNX Runtime.

Both map one padded batch ``x`` ``(B, N, F)`` float32, ``mask`` ``(B, N)`` bool,
``energy`` ``(B, N)`` float32 GeV and, for models that read them (``cnn``, ``gnn``), the
padded stage-2 ``extras`` (``d_eta``, ``d_phi``, ``sampling`` ``(B, N)``, ``neighbours``
``(B, N, 7)``; dtypes and padding of :data:`jetpointnet.training.dataset.EXTRA_FILL`)
to the head's raw output ``pred`` (numpy): ``(B, N)`` or ``(B, N, 4)``; the task turns
it into energies or probabilities. ``extras`` names what a backend needs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
from torch import nn

from jetpointnet.predict.export import extra_inputs, onnx_session, run_session, session_extras
from jetpointnet.training.dataset import EXTRA_FILL
from jetpointnet.training.inference import TorchForward

__all__ = ["Backend", "BackendName", "OnnxBackend", "TorchBackend"]

BackendName = Literal["torch", "onnx"]


class Backend(Protocol):
    """Callable on one padded batch (numpy arrays), returning the raw ``pred``."""

    name: str
    extras: tuple[str, ...]

    def __call__(
        self,
        x: np.ndarray,
        mask: np.ndarray,
        energy: np.ndarray,
        *,
        extras: Mapping[str, np.ndarray] | None = None,
    ) -> np.ndarray: ...


class TorchBackend:
    """The PyTorch model (eval mode) on its device; bfloat16 autocast on CUDA if ``amp``.

    :class:`~jetpointnet.training.inference.TorchForward` as a :class:`Backend`: it passes
    only the model's ``extras`` (cast to the dtypes of ``EXTRA_FILL``) and returns numpy.
    """

    name = "torch"

    def __init__(self, model: nn.Module, *, amp: bool = False) -> None:
        self.forward = TorchForward(model, amp=amp)
        self.extras = extra_inputs(model)

    def __call__(
        self,
        x: np.ndarray,
        mask: np.ndarray,
        energy: np.ndarray,
        *,
        extras: Mapping[str, np.ndarray] | None = None,
    ) -> np.ndarray:
        given = extras or {}
        more: dict[str, np.ndarray] = {
            k: np.asarray(given[k], dtype=EXTRA_FILL[k][0]) for k in self.extras if k in given
        }  # a missing one: the model's own one-line error
        return self.forward(x, mask, energy, extras=more).float().cpu().numpy()


class OnnxBackend:
    """An exported ``.onnx`` file under ONNX Runtime (CPU); ``extras``: its extra inputs."""

    name = "onnx"

    def __init__(self, path: str | os.PathLike[str], *, threads: int | None = None) -> None:
        self.path = Path(path)
        self.session: Any = onnx_session(self.path, threads=threads)
        self.extras = session_extras(self.session, where=str(self.path))

    def __call__(
        self,
        x: np.ndarray,
        mask: np.ndarray,
        energy: np.ndarray,
        *,
        extras: Mapping[str, np.ndarray] | None = None,
    ) -> np.ndarray:
        return run_session(self.session, x, mask, energy, extras=extras)
