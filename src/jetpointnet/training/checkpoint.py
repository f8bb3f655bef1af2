"""Checkpoints: model, optimizer, scheduler, epoch, loop state and RNG states.

Written atomically (a kill -9 never leaves a half file under ``last.pt``) and read with
``torch.load(weights_only=True)``: a checkpoint holds tensors and plain Python values
only, never pickled objects.
"""

from __future__ import annotations

import pickle
import random
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from jetpointnet.errors import UserError
from jetpointnet.io.atomic import atomic_output

__all__ = [
    "get_rng_state",
    "load_checkpoint",
    "save_checkpoint",
    "set_rng_state",
    "unwrap",
]


def unwrap(model: nn.Module) -> nn.Module:
    """The plain module inside DistributedDataParallel and ``torch.compile`` wrappers."""
    while True:
        inner = getattr(model, "module", None)
        if not isinstance(inner, nn.Module):
            inner = getattr(model, "_orig_mod", None)
        if not isinstance(inner, nn.Module):
            return model
        model = inner


def get_rng_state() -> dict[str, Any]:
    """Torch (CPU and CUDA), Python and NumPy global RNG states as plain values."""
    np_state = np.random.get_state()
    if not isinstance(np_state, tuple):  # a dict only for a RandomState other than MT19937
        raise TypeError("numpy's global RandomState is not an MT19937")
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "python": random.getstate(),
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]],
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`get_rng_state` returned."""
    torch.set_rng_state(state["torch"])
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, *rest = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), *rest))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(
    path: str | Path,
    *,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    epoch: int,
    extra: dict[str, Any] | None = None,
) -> None:
    """Write ``path`` atomically; ``epoch`` is the number of completed epochs."""
    payload = {
        "model": unwrap(model).state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "epoch": epoch,
        "rng": get_rng_state(),
        "extra": extra or {},
    }
    with atomic_output(path, overwrite=True) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path: str | Path, *, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint with ``weights_only=True``; a missing or broken file is a UserError."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: checkpoint not found")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except (
        RuntimeError, pickle.UnpicklingError, EOFError, OSError, ValueError, IndexError,
        KeyError, zipfile.BadZipFile,
    ) as exc:  # fmt: skip
        raise UserError(f"{path}: not a readable checkpoint ({type(exc).__name__})") from None
