"""Transfer learning helpers: initialise from another run, freeze parameters by name.

Used by :func:`jetpointnet.training.loop.train` through ``cfg.transfer`` (see
:class:`~jetpointnet.training.config.TransferConfig`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from torch import nn

from jetpointnet.errors import UserError, did_you_mean
from jetpointnet.models.layers import MaskedBatchNorm
from jetpointnet.training.checkpoint import load_checkpoint
from jetpointnet.training.run_folder import read_run

__all__ = ["apply_freeze", "frozen_norms", "init_from_run"]


def init_from_run(
    model: nn.Module, run_dir: str | Path, *, checkpoint: str = "best", in_features: int
) -> tuple[list[str], list[str]]:
    """Copy the weights of run ``run_dir`` into ``model`` where names and shapes match.

    Returns ``(loaded, skipped)`` state-dict keys of ``model``. A run trained on another
    number of input features, or sharing no tensor with ``model``, is a UserError.
    """
    run = read_run(run_dir, purpose="for --init-from")
    if run.info.in_features != in_features:
        raise UserError(
            f"{run.path}: trained on {run.info.in_features} input features, "
            f"this run has {in_features}"
        )
    path = run.checkpoint(checkpoint)
    source = load_checkpoint(path, map_location="cpu")["model"]
    own = model.state_dict()
    loaded, skipped = [], []
    for key, value in own.items():
        src = source.get(key)
        if src is not None and tuple(src.shape) == tuple(value.shape):
            own[key] = src.to(value.dtype)
            loaded.append(key)
        else:
            skipped.append(key)
    if not loaded:
        raise UserError(f"{path}: shares no parameter with this model (another architecture?)")
    model.load_state_dict(own)
    return loaded, skipped


def apply_freeze(model: nn.Module, patterns: Sequence[str]) -> list[str]:
    """Set ``requires_grad=False`` on parameters whose name matches a pattern (re.search).

    Returns the frozen names. A bad pattern, or one matching nothing, is a UserError.
    """
    names = [n for n, _ in model.named_parameters()]
    frozen: set[str] = set()
    for pat in patterns:
        try:
            rx = re.compile(pat)
        except re.error as exc:
            raise UserError(f"--freeze {pat!r}: not a regular expression ({exc})") from None
        hits = [n for n in names if rx.search(n)]
        if not hits:
            raise UserError(f"--freeze {pat!r}: matches no parameter" + did_you_mean(pat, names))
        frozen.update(hits)
    for name, p in model.named_parameters():
        if name in frozen:
            p.requires_grad_(False)
    return [n for n in names if n in frozen]


def frozen_norms(model: nn.Module) -> list[nn.Module]:
    """Batch-norm modules whose parameters are all frozen (kept in eval mode in training)."""
    out: list[nn.Module] = []
    for m in model.modules():
        if isinstance(m, (MaskedBatchNorm, nn.modules.batchnorm._BatchNorm)):
            params = list(m.parameters(recurse=False))
            if params and not any(p.requires_grad for p in params):
                out.append(m)
    return out
