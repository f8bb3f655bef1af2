"""The cloud taggers by name: a model name maps to its config dataclass and class.

A tagger is an ``nn.Module`` whose ``forward(x, mask, **inputs)`` takes constituent
features ``x`` ``(B, N, F)``, the real-constituent ``mask`` ``(B, N)`` and the further
batch tensors named in its class attribute ``inputs`` (``p4``: ``(B, N, 4)`` GeV), and
returns logits ``(B, K)``. This table is separate from the per-point
:mod:`jetpointnet.models.registry` (body + per-point head), whose models do not fit a
per-cloud output.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from torch import nn

from jetpointnet.config import from_dict
from jetpointnet.errors import UserError, did_you_mean
from jetpointnet.models.part import ParT, ParTConfig
from jetpointnet.models.particlenet import ParticleNet, ParticleNetConfig

__all__ = ["TAGGERS", "build_tagger", "resolve_tagger_options"]


@dataclass(frozen=True)
class _Tagger:
    config_cls: type
    build: Callable[..., nn.Module]  # (in_features, n_outputs, cfg, feature_names) -> module


TAGGERS: dict[str, _Tagger] = {
    "particlenet": _Tagger(
        ParticleNetConfig, lambda f, k, cfg, names: ParticleNet(f, k, cfg, feature_names=names)
    ),
    "part": _Tagger(ParTConfig, lambda f, k, cfg, names: ParT(f, k, cfg)),
}


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
