"""Data kind "event": how ``train`` streams, builds and runs event-level particle flow.

The three pieces a kind provides (/work/contracts/kinds.md): :func:`make_streams` (the
:class:`~jetpointnet.training.event_stream.EventStream` of the train and val splits),
:func:`build_event_model` (a model of
:data:`~jetpointnet.models.event_pflow.EVENT_MODELS` from ``model.name`` and
``model.options``, sized by ``metadata.json``'s ``cell_features``/``track_features``) and
:func:`event_forward` (the batch's model inputs in, the output dict plus a zero
``aux_loss`` out; ``pred`` is the output dict itself, which the ``event`` task reads).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from jetpointnet.config import from_dict
from jetpointnet.errors import UserError, did_you_mean
from jetpointnet.io.prep_folder import split_files
from jetpointnet.models.event_pflow import EVENT_MODELS
from jetpointnet.training.config import TrainConfig
from jetpointnet.training.event_stream import EventStream
from jetpointnet.training.event_task import EventTask
from jetpointnet.training.kinds import Kind, register_kind

__all__ = [
    "MODEL_INPUTS",
    "build_event_model",
    "check_event_metadata",
    "event_forward",
    "make_streams",
]

#: The batch arrays the model reads, in the order of its ``forward`` (and of an ONNX graph).
MODEL_INPUTS = ("cell_x", "cell_mask", "cell_energy", "cell_eta", "cell_phi",
                "track_x", "track_mask", "track_pt", "track_eta", "track_phi",
                "track_calo_eta", "track_calo_phi")  # fmt: skip


def check_event_metadata(metadata: Mapping[str, Any], *, where: str) -> None:
    """A folder or run of another kind, or without the feature lists, is a UserError."""
    kind = metadata.get("kind", "track")
    if kind != "event":
        raise UserError(f"{where}: data of kind '{kind}', not 'event' (event-level particle "
                        "flow needs `preprocess --kind event` data and an event run)")  # fmt: skip
    for key in ("cell_features", "track_features"):
        if not metadata.get(key):
            raise UserError(f"{where}: metadata lists no '{key}' (re-run preprocess --kind event)")


def _entry(name: str, where: str) -> tuple[type, type[nn.Module]]:
    if name not in EVENT_MODELS:
        raise UserError(f"{where}: unknown event model {name!r}" + did_you_mean(name, EVENT_MODELS))
    return EVENT_MODELS[name]


def build_event_model(cfg: TrainConfig, metadata: Mapping[str, Any], task: object = None,
                      *, where: str = "config", data_dir: Path | None = None,
                      ) -> tuple[nn.Module, int]:  # fmt: skip
    """The model of ``cfg.model`` for the data of ``metadata``; also its cell-feature count.

    (``cfg.model.options`` is already resolved: :class:`ModelConfig` does it when built.)
    The ``task`` must be the ``event`` task.
    """
    check_event_metadata(metadata, where=where)
    if task is not None and not isinstance(task, EventTask):
        raise UserError(f"{where}: data of kind 'event' is learned by task 'event', not "
                        f"{getattr(task, 'name', task)!r} (set task.name: event)")  # fmt: skip
    config_cls, model_cls = _entry(cfg.model.name, where)
    opts: object = from_dict(
        config_cls, cfg.model.options or {}, where=where, prefix="model.options."
    )
    n_cell, n_track = len(metadata["cell_features"]), len(metadata["track_features"])
    k, kt = getattr(opts, "n_neutral", None), metadata.get("n_neutral")
    if k is not None and kt is not None and int(kt) > k:
        raise UserError(f"{where}: model.options.n_neutral is {k}, fewer neutral slots than the "
                        f"data's n_neutral {kt} (raise it, or preprocess with max_neutral <= {k})")  # fmt: skip
    try:
        model = model_cls(n_cell, n_track, opts)
    except ValueError as exc:
        raise UserError(f"{where}: {exc}") from None
    return model, n_cell


def event_forward(net: nn.Module, batch: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """``net`` on a batch: ``{"pred": outputs, "aux_loss": 0, **outputs}``."""
    out = net(*(batch[k] for k in MODEL_INPUTS))
    return {"pred": out, "aux_loss": batch["cell_energy"].new_zeros(()), **out}


def make_streams(cfg: TrainConfig, data_dir: Path, metadata: Mapping[str, Any], *,
                 model: nn.Module | None = None, rank: int = 0,
                 world_size: int = 1) -> tuple[EventStream, EventStream]:  # fmt: skip
    """The training stream (shuffled per ``(train.seed, epoch)``) and the validation stream."""
    check_event_metadata(metadata, where=str(Path(data_dir) / "metadata.json"))
    tc = cfg.train
    bs = cfg.data.batch_size
    train = EventStream(split_files(data_dir, cfg.data.train_split), shuffle=True,
                        max_samples=tc.samples_per_epoch, batch_size=bs, seed=tc.seed,
                        rank=rank, world_size=world_size)  # fmt: skip
    val = EventStream(split_files(data_dir, cfg.data.val_split), shuffle=False,
                      max_samples=tc.val_samples, batch_size=bs, seed=tc.seed, rank=rank,
                      world_size=world_size)  # fmt: skip
    return train, val


register_kind(Kind(name="event", make_streams=make_streams, build_model=build_event_model,
                   forward=event_forward))  # fmt: skip
