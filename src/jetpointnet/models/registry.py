"""Model registry: a name maps to a config dataclass and a body builder.

A body is an ``nn.Module`` with an ``out_channels`` attribute whose ``forward(x, mask)``
takes ``x`` ``(B, N, F)`` and a real-point ``mask`` ``(B, N)`` and returns per-point
features ``(B, N, C)`` and an auxiliary loss (a scalar tensor, zero if none). The
registry puts a task's head on it (:class:`PointCloudModel`), so a new model is one
``register_model`` call and the training loop does not change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from jetpointnet.config import from_dict, to_dict
from jetpointnet.errors import UserError, did_you_mean
from jetpointnet.models.heads import HeadSpec, make_head
from jetpointnet.models.pointnet import PointNet, PointNetConfig

__all__ = [
    "PointCloudModel",
    "build_model",
    "count_parameters",
    "model_names",
    "options_dict",
    "register_model",
    "resolve_options",
]


@dataclass(frozen=True)
class _Entry:
    config_cls: type
    build_body: Callable[[int, Any], nn.Module]


_REGISTRY: dict[str, _Entry] = {}


def register_model(
    name: str, config_cls: type, build_body: Callable[[int, Any], nn.Module]
) -> None:
    """Register ``build_body(in_features, config) -> body`` under ``name``."""
    if name in _REGISTRY:
        raise ValueError(f"model {name!r} is already registered")
    _REGISTRY[name] = _Entry(config_cls, build_body)


def model_names() -> list[str]:
    """Registered model names, sorted."""
    return sorted(_REGISTRY)


def _entry(name: str, where: str) -> _Entry:
    if name not in _REGISTRY:
        raise UserError(f"{where}: unknown model {name!r}" + did_you_mean(name, _REGISTRY))
    return _REGISTRY[name]


def resolve_options(name: str, options: Mapping[str, Any] | Any, *, where: str = "config") -> Any:
    """Validate ``options`` (a mapping or the config object) into ``name``'s config class."""
    entry = _entry(name, where)
    if isinstance(options, entry.config_cls):
        return options
    return from_dict(entry.config_cls, options or {}, where=where, prefix="model.options.")


class PointCloudModel(nn.Module):
    """A body and a per-point head: ``forward(x, mask, energy)`` -> ``{"pred", "aux_loss"}``.

    ``x``: ``(B, N, F)`` scaled features; ``mask``: ``(B, N)`` real points; ``energy``:
    ``(B, N)`` raw point energy in GeV (the energy bypass). ``pred`` is the head's output
    with padded rows set to zero; ``aux_loss`` the body's regulariser (unweighted).
    """

    def __init__(self, body: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.body = body
        self.head = head

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor, energy: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        feats, aux = self.body(x, mask)
        pred = self.head(feats, energy)
        keep = mask if pred.dim() == 2 else mask.unsqueeze(-1)
        return {"pred": torch.where(keep, pred, torch.zeros_like(pred)), "aux_loss": aux}


def build_model(
    name: str,
    options: Mapping[str, Any] | Any,
    *,
    in_features: int,
    head: HeadSpec,
    where: str = "config",
) -> PointCloudModel:
    """Build model ``name`` with ``options`` for ``in_features`` inputs and the given head."""
    entry = _entry(name, where)
    cfg = resolve_options(name, options, where=where)
    body = entry.build_body(in_features, cfg)
    return PointCloudModel(body, make_head(body.out_channels, head))


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def options_dict(name: str, options: Mapping[str, Any] | Any) -> dict[str, Any]:
    """The fully resolved options of ``name`` as a plain mapping (for the run's config)."""
    return to_dict(resolve_options(name, options))


register_model("pointnet", PointNetConfig, lambda f, cfg: PointNet(f, cfg))
