"""The per-object taggers by name: a model name maps to its config dataclass and class.

A cloud tagger (``particlenet``, ``part``) is an ``nn.Module`` whose
``forward(x, mask, **inputs)`` takes constituent features ``x`` ``(B, N, F)``, the
real-constituent ``mask`` ``(B, N)`` and the further batch tensors named in its class
attribute ``inputs`` (``p4``: ``(B, N, 4)`` GeV), and returns logits ``(B, K)``. A tagger
whose class attribute ``reads_cloud`` is false (``alp_cnn``: ``image``; ``arma_gnn``:
``node_x``, ``node_mask``, ``edges``, ``edge_mask``) takes only its ``inputs``, by name;
:func:`tagger_forward` calls either kind on a batch; their options carry the shape of
those inputs (``image_shape``, ``node_features``), which the photon kind fills from the
data. This table is separate from the per-point :mod:`jetpointnet.models.registry` (body +
per-point head), whose models do not fit a per-cloud output.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from jetpointnet.config import from_dict
from jetpointnet.errors import UserError, did_you_mean
from jetpointnet.models.alp_cnn import ALPCNN, ALPCNNConfig
from jetpointnet.models.arma import ARMAGNN, ARMAGNNConfig
from jetpointnet.models.part import ParT, ParTConfig
from jetpointnet.models.particlenet import ParticleNet, ParticleNetConfig

__all__ = [
    "TAGGERS",
    "build_tagger",
    "resolve_tagger_options",
    "tagger_forward",
    "tagger_inputs",
    "unwrap",
]


@dataclass(frozen=True)
class _Tagger:
    config_cls: type
    build: Callable[..., nn.Module]  # (in_features, n_outputs, cfg, feature_names) -> module


TAGGERS: dict[str, _Tagger] = {
    "particlenet": _Tagger(
        ParticleNetConfig, lambda f, k, cfg, names: ParticleNet(f, k, cfg, feature_names=names)
    ),
    "part": _Tagger(ParTConfig, lambda f, k, cfg, names: ParT(f, k, cfg)),
    "alp_cnn": _Tagger(ALPCNNConfig, lambda f, k, cfg, names: ALPCNN(k, cfg)),
    "arma_gnn": _Tagger(ARMAGNNConfig, lambda f, k, cfg, names: ARMAGNN(k, cfg)),
}


def unwrap(net: nn.Module) -> nn.Module:
    """The tagger inside DDP / torch.compile wrappers (for its ``inputs``)."""
    while True:
        inner = getattr(net, "module", None) or getattr(net, "_orig_mod", None)
        if inner is None:
            return net
        net = inner


def tagger_inputs(net: nn.Module) -> tuple[str, ...]:
    """Every batch tensor ``net`` reads (``x``, ``mask`` first for cloud taggers)."""
    inner = unwrap(net)
    more = tuple(getattr(inner, "inputs", ()))
    return more if not getattr(inner, "reads_cloud", True) else ("x", "mask", *more)


def tagger_forward(net: nn.Module, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """Logits ``(B, K)`` of ``net`` on ``batch`` (a cloud tagger or one reading only ``inputs``)."""
    inner = unwrap(net)
    more = {k: batch[k] for k in getattr(inner, "inputs", ())}
    if not getattr(inner, "reads_cloud", True):
        return net(**more)
    return net(batch["x"], batch["mask"], **more)


def resolve_tagger_options(name: str, options: Mapping[str, Any] | Any, *, where: str) -> Any:
    """Validate ``options`` into the config dataclass of tagger ``name``."""
    if name not in TAGGERS:
        raise UserError(f"{where}: unknown tagging model {name!r}" + did_you_mean(name, TAGGERS))
    entry = TAGGERS[name]
    if isinstance(options, entry.config_cls):
        return options
    return from_dict(entry.config_cls, options or {}, where=where, prefix="model.options.")


def build_tagger(
    name: str,
    options: Mapping[str, Any] | Any,
    *,
    in_features: int,
    n_outputs: int,
    feature_names: Sequence[str] | None,
    where: str = "config",
) -> nn.Module:
    """Tagger ``name`` for ``in_features`` inputs and ``n_outputs`` logits."""
    cfg = resolve_tagger_options(name, options, where=where)
    try:
        return TAGGERS[name].build(in_features, n_outputs, cfg, feature_names)
    except ValueError as exc:
        raise UserError(f"{where}: model.options: {exc}") from None
