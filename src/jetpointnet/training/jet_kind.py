"""The data kind ``jet`` for ``train``: its streams, its model and its forward pass.

A preprocessed folder whose ``metadata.json`` says ``"kind": "jet"``
(/work/contracts/jet.md) is trained with:

- streams: :class:`~jetpointnet.training.jet_stream.JetStream` over ``data.train_split``
  (shuffled per ``(train.seed, epoch)``, ``train.samples_per_epoch`` jets) and
  ``data.val_split`` (fixed order, ``train.val_samples`` jets);
- the model ``model.name`` from :data:`jetpointnet.models.taggers.TAGGERS`
  (``particlenet``, ``part``) with ``model.options``, on the ``data.features`` columns
  (all when empty), with as many logits as the task asks for;
- the task ``tagging`` (:class:`~jetpointnet.training.tagging.TaggingTask`), bound to
  metadata's ``classes``.

Importing this module registers the kind and the task.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from jetpointnet.config import to_dict
from jetpointnet.errors import UserError
from jetpointnet.io.prep_folder import split_files
from jetpointnet.models.taggers import build_tagger, resolve_tagger_options, tagger_forward
from jetpointnet.training.config import TrainConfig
from jetpointnet.training.dataset import feature_indices, feature_names
from jetpointnet.training.jet_stream import BATCH_ORDERS, JetStream
from jetpointnet.training.kinds import Kind, register_kind
from jetpointnet.training.tagging import TaggingTask
from jetpointnet.training.tasks import register_task

__all__ = ["build_jet_model", "jet_forward", "make_jet_streams", "object_classes"]


def object_classes(metadata: dict, *, where: str, kind: str = "jet") -> list[str]:
    """metadata.json ``classes`` (2 or more names; a UserError otherwise)."""
    classes = metadata.get("classes")
    if not isinstance(classes, list) or len(classes) < 2:
        raise UserError(
            f"{where}: metadata.json of kind {kind!r} needs 'classes' (2 or more names)"
        )
    return [str(c) for c in classes]


def make_jet_streams(
    cfg: TrainConfig,
    data_dir: Path,
    metadata: dict,
    *,
    rank: int,
    world_size: int,
    model: nn.Module | None = None,
    kind: str = "jet",
    **arrays: Any,
) -> tuple[JetStream, JetStream]:
    """The training and validation streams of a jet folder (or another per-object kind).

    ``arrays``: ``observers`` and ``cloud_arrays`` of :class:`JetStream` (default: a jet's).
    """
    common: dict[str, Any] = {
        "batch_size": cfg.data.batch_size,
        "n_classes": len(object_classes(metadata, where=str(data_dir), kind=kind)),
        "seed": cfg.train.seed,
        "features": feature_indices(metadata, cfg.data.features, where="config"),
        "rank": rank,
        "world_size": world_size,
        **arrays,
    }
    train = JetStream(
        split_files(data_dir, cfg.data.train_split),
        shuffle=True,
        buffer_size=cfg.data.shuffle_buffer,
        max_samples=cfg.train.samples_per_epoch,
        equal_shares=True,
        batch_order=cfg.data.batch_order,
        **common,
    )
    val = JetStream(
        split_files(data_dir, cfg.data.val_split),
        shuffle=False,
        max_samples=cfg.train.val_samples,
        **common,
    )
    return train, val


def build_jet_model(
    cfg: TrainConfig,
    metadata: dict,
    task,
    *,
    data_dir: Path | None = None,
    kind: str = "jet",
    fill: Mapping[str, Any] | None = None,
) -> tuple[nn.Module, int]:
    """The tagger of ``cfg.model`` for the data's features; binds ``task`` to the classes.

    ``cfg.model.options`` is replaced by the fully resolved options (for the run's
    config.yaml), with the entries of ``fill`` (shapes of the data, set by other
    per-object kinds) written in; ``data_dir`` is not needed (the features are named
    in the metadata).
    """
    if not isinstance(task, TaggingTask):
        raise UserError(
            f"config: data of kind {kind!r} needs task.name 'tagging', not {task.name!r}"
        )
    task.bind(object_classes(metadata, where="metadata.json", kind=kind), where="config")
    names = feature_names(metadata, cfg.data.features)
    if not names:
        raise UserError(f"metadata.json of kind {kind!r} lists no 'features'")
    feature_indices(metadata, cfg.data.features, where="config")  # checks the names
    options = resolve_tagger_options(cfg.model.name, cfg.model.options, where="config")
    for key, value in (fill or {}).items():
        setattr(options, key, value)
    cfg.model.options = to_dict(options)
    model = build_tagger(
        cfg.model.name,
        options,
        in_features=len(names),
        n_outputs=task.n_outputs,
        feature_names=names,
    )
    return model, len(names)


def jet_forward(net: nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``{"pred": logits (B, K), "aux_loss": 0}`` for a batch of jets (or photon objects)."""
    pred = tagger_forward(net, batch)
    return {"pred": pred, "aux_loss": pred.new_zeros(())}


register_task(TaggingTask)
register_kind(
    Kind(
        name="jet",
        make_streams=make_jet_streams,
        build_model=build_jet_model,
        forward=jet_forward,
        batch_orders=BATCH_ORDERS,
    )
)
