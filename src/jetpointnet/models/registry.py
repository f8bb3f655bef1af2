"""Model registry: a name maps to a config dataclass and a body builder.

A body is an ``nn.Module`` with an ``out_channels`` attribute whose ``forward(x, mask)``
takes ``x`` ``(B, N, F)`` and a real-point ``mask`` ``(B, N)`` and returns per-point
features ``(B, N, C)`` and an auxiliary loss (a scalar tensor, zero if none). The
registry puts a task's head on it (:class:`PointCloudModel`), so a new model is one
``register_model`` call and the training loop does not change.

A body may declare a class attribute ``inputs``: names of further per-point batch
tensors it takes as keyword arguments (``energy``, the raw point energy, or optional
stage-2 arrays that the dataset puts in the batch). A builder registered with
``feature_names=True`` also receives the names of the columns of ``x``
(``metadata.json`` "features", or the training config's ``data.features``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from jetpointnet.config import from_dict, to_dict
from jetpointnet.errors import UserError, did_you_mean
from jetpointnet.models.alp_cnn import ALPCNNConfig
from jetpointnet.models.arma import ARMAGNNConfig
from jetpointnet.models.cnn import CNN, CNNConfig
from jetpointnet.models.edgeconv import EdgeConv, EdgeConvConfig
from jetpointnet.models.event_pflow import EventPflowConfig
from jetpointnet.models.gnn import GNN, GNNConfig
from jetpointnet.models.heads import HeadSpec, make_head
from jetpointnet.models.part import ParTConfig
from jetpointnet.models.particlenet import ParticleNetConfig
from jetpointnet.models.pointnet import PointNet, PointNetConfig
from jetpointnet.models.transformer import Transformer, TransformerConfig

__all__ = [
    "WHOLE_MODELS",
    "PointCloudModel",
    "all_model_names",
    "build_model",
    "count_parameters",
    "model_names",
    "options_dict",
    "register_model",
    "register_whole_model",
    "resolve_options",
]


@dataclass(frozen=True)
class _Entry:
    config_cls: type
    build_body: Callable[..., nn.Module]
    feature_names: bool = False


_REGISTRY: dict[str, _Entry] = {}


def register_model(
    name: str,
    config_cls: type,
    build_body: Callable[..., nn.Module],
    *,
    feature_names: bool = False,
) -> None:
    """Register ``build_body(in_features, config) -> body`` under ``name``.

    With ``feature_names=True`` the builder is called as
    ``build_body(in_features, config, feature_names=names)`` (``names`` may be None).
    """
    if name in _REGISTRY:
        raise ValueError(f"model {name!r} is already registered")
    _REGISTRY[name] = _Entry(config_cls, build_body, feature_names)


def model_names() -> list[str]:
    """Registered model names, sorted."""
    return sorted(_REGISTRY)


#: Models of the other data kinds, built whole by their kind (not a body plus a per-point
#: head): name -> config class. Their builders live with the kind (``training/*_kind.py``).
WHOLE_MODELS: dict[str, type] = {}


def register_whole_model(name: str, config_cls: type) -> None:
    """Make ``name`` a valid ``model.name`` whose options validate into ``config_cls``."""
    if name in _REGISTRY or name in WHOLE_MODELS:
        raise ValueError(f"model {name!r} is already registered")
    WHOLE_MODELS[name] = config_cls


def all_model_names() -> list[str]:
    """Every valid ``model.name``: the per-point bodies and the whole models, sorted."""
    return sorted({*_REGISTRY, *WHOLE_MODELS})


def _entry(name: str, where: str) -> _Entry:
    if name not in _REGISTRY:
        raise UserError(f"{where}: unknown model {name!r}" + did_you_mean(name, _REGISTRY))
    return _REGISTRY[name]


def resolve_options(name: str, options: Mapping[str, Any] | Any, *, where: str = "config") -> Any:
    """Validate ``options`` (a mapping or the config object) into ``name``'s config class."""
    config_cls = WHOLE_MODELS[name] if name in WHOLE_MODELS else _entry(name, where).config_cls
    if isinstance(options, config_cls):
        return options
    return from_dict(config_cls, options or {}, where=where, prefix="model.options.")


class PointCloudModel(nn.Module):
    """A body and a per-point head: ``forward(x, mask, energy)`` -> ``{"pred", "aux_loss"}``.

    ``x``: ``(B, N, F)`` scaled features; ``mask``: ``(B, N)`` real points; ``energy``:
    ``(B, N)`` raw point energy in GeV (the energy bypass). ``pred`` is the head's output
    with padded rows set to zero; ``aux_loss`` the body's regulariser (unweighted).
    Further keyword arguments (batch tensors) are passed to the body when it lists them
    in ``inputs`` and ignored otherwise; :attr:`inputs` names those the body needs.
    """

    def __init__(self, body: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.body = body
        self.head = head
        self.inputs: tuple[str, ...] = tuple(getattr(body, "inputs", ()))

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor, energy: torch.Tensor, **extras: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        kwargs = {}
        for name in self.inputs:
            if name == "energy":
                kwargs[name] = energy
            elif name in extras:
                kwargs[name] = extras[name]
            else:
                raise UserError(
                    f"model {type(self.body).__name__}: the batch has no array {name!r} "
                    "(preprocess with it enabled, see data.schema)"
                )
        feats, aux = self.body(x, mask, **kwargs)
        pred = self.head(feats, energy)
        keep = mask if pred.dim() == 2 else mask.unsqueeze(-1)
        return {"pred": torch.where(keep, pred, torch.zeros_like(pred)), "aux_loss": aux}


def build_model(
    name: str,
    options: Mapping[str, Any] | Any,
    *,
    in_features: int,
    head: HeadSpec,
    feature_names: Sequence[str] | None = None,
    where: str = "config",
) -> PointCloudModel:
    """Build model ``name`` with ``options`` for ``in_features`` inputs and the given head.

    ``feature_names``: the names of the ``in_features`` columns (needed by models that
    compute geometry from named features, e.g. the transformer's pairwise bias).
    """
    entry = _entry(name, where)
    cfg = resolve_options(name, options, where=where)
    if feature_names is not None and len(feature_names) != in_features:
        raise UserError(
            f"{where}: {len(feature_names)} feature names for {in_features} input features"
        )
    if entry.feature_names:
        body = entry.build_body(in_features, cfg, feature_names=feature_names)
    else:
        body = entry.build_body(in_features, cfg)
    out_channels = body.out_channels
    if not isinstance(out_channels, int):
        raise TypeError(f"{where}: the body of model {name!r} has no integer out_channels")
    return PointCloudModel(body, make_head(out_channels, head))


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def options_dict(
    name: str, options: Mapping[str, Any] | Any, *, where: str = "config"
) -> dict[str, Any]:
    """The fully resolved options of ``name`` as a new plain mapping (every default filled).

    :class:`~jetpointnet.training.config.ModelConfig` resolves its options with it when
    built, so the run folder stores them; ``options`` itself is never changed.
    """
    return to_dict(resolve_options(name, options, where=where))


register_model("pointnet", PointNetConfig, lambda f, cfg: PointNet(f, cfg))
register_model("edgeconv", EdgeConvConfig, EdgeConv, feature_names=True)
register_model("transformer", TransformerConfig, Transformer, feature_names=True)
register_model("cnn", CNNConfig, CNN)
register_model("gnn", GNNConfig, GNN)
register_whole_model("event_pflow", EventPflowConfig)
register_whole_model("particlenet", ParticleNetConfig)
register_whole_model("part", ParTConfig)
register_whole_model("alp_cnn", ALPCNNConfig)
register_whole_model("arma_gnn", ARMAGNNConfig)
