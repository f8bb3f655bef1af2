"""Inference backends: the run's PyTorch model or its ONNX export under ONNX Runtime.

Both map one padded batch ``x`` ``(B, N, F)`` float32, ``mask`` ``(B, N)`` bool,
``energy`` ``(B, N)`` float32 GeV to the head's raw output ``pred`` (numpy): ``(B, N)``
or ``(B, N, 4)``; the task turns it into energies or probabilities.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import torch
from torch import nn

from jetpointnet.predict.export import onnx_session, run_session

__all__ = ["Backend", "BackendName", "OnnxBackend", "TorchBackend"]

BackendName = Literal["torch", "onnx"]


class Backend(Protocol):
    """Callable on one padded batch (numpy arrays), returning the raw ``pred``."""

    name: str

    def __call__(self, x: np.ndarray, mask: np.ndarray, energy: np.ndarray) -> np.ndarray: ...


class TorchBackend:
    """The PyTorch model (eval mode) on its device; bfloat16 autocast on CUDA if ``amp``."""

    name = "torch"

    def __init__(self, model: nn.Module, *, amp: bool = False) -> None:
        self.model = model.eval()
        self.device = next(model.parameters()).device
        self.amp = amp and self.device.type == "cuda"

    @torch.no_grad()
    def __call__(self, x: np.ndarray, mask: np.ndarray, energy: np.ndarray) -> np.ndarray:
        dev = self.device
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=self.amp):
            out = self.model(
                torch.from_numpy(x).to(dev),
                torch.from_numpy(mask).to(dev),
                torch.from_numpy(energy).to(dev),
            )["pred"]
        return out.float().cpu().numpy()


class OnnxBackend:
    """An exported ``.onnx`` file under ONNX Runtime (CPU)."""

    name = "onnx"

    def __init__(self, path: str | os.PathLike[str], *, threads: int | None = None) -> None:
        self.path = Path(path)
        self.session: Any = onnx_session(self.path, threads=threads)

    def __call__(self, x: np.ndarray, mask: np.ndarray, energy: np.ndarray) -> np.ndarray:
        return run_session(self.session, x, mask, energy)
