"""The data kind ``photon`` for ``train``: displaced-photon tagging (seed 003, issue 15).

A preprocessed folder whose ``metadata.json`` says ``"kind": "photon"``
(/work/contracts/photon.md, section B) holds, per object, the cells ``X``/``mask``/``p4``
and the further arrays named in metadata ``cloud_arrays`` (``image``, ``node_x``,
``node_mask``, ``edges``, ``edge_mask``), with the observers named in ``observers``. It
is trained as kind ``jet`` is (:mod:`jetpointnet.training.jet_kind`: the task
``tagging`` bound to metadata's ``classes``, the streams of
:class:`~jetpointnet.training.jet_stream.JetStream`), with the input picked by the
model:

- ``alp_cnn`` reads ``image`` (its ``image_shape`` option is filled from the data);
- ``arma_gnn`` reads ``node_x``, ``node_mask``, ``edges``, ``edge_mask``
  (``node_features`` filled from the data);
- the cloud zoo (``particlenet``, ``part``) reads the cells ``X``, ``mask``, ``p4``.

Batches carry the observers, the links and only the cloud arrays the model reads.
``data.batch_order: class_sorted`` gives batches of one class each (seed 003's
batch-norm puzzle). Importing this module registers the kind.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from jetpointnet.errors import UserError, did_you_mean
from jetpointnet.io.prep_folder import read_metadata, split_files
from jetpointnet.models.taggers import tagger_inputs
from jetpointnet.training.config import TrainConfig
from jetpointnet.training.jet_kind import (
    build_jet_model,
    jet_forward,
    make_jet_streams,
    object_classes,
)
from jetpointnet.training.jet_stream import BATCH_ORDERS, JetStream, load_jet_chunk
from jetpointnet.training.kinds import Kind, register_kind

__all__ = [
    "build_photon_model",
    "check_photon_folder",
    "make_photon_streams",
    "photon_arrays",
    "photon_observers",
    "read_shapes",
]

#: The options of the image and graph taggers filled from the data: name -> (array, how).
_FILLED = {"alp_cnn": ("image", "image_shape"), "arma_gnn": ("node_x", "node_features")}


def _names(metadata: dict, key: str, *, where: str) -> list[str]:
    names = metadata.get(key)
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise UserError(f"{where}: metadata.json of kind 'photon' needs '{key}' (a list of names)")
    return list(names)


def photon_observers(metadata: dict, *, where: str = "metadata.json") -> list[str]:
    """The per-object observer arrays of a photon folder (metadata ``observers``)."""
    return _names(metadata, "observers", where=where)


def photon_arrays(metadata: dict, model: nn.Module, *, where: str = "config") -> list[str]:
    """The metadata ``cloud_arrays`` that ``model`` reads (a UserError for one not listed)."""
    listed = _names(metadata, "cloud_arrays", where="metadata.json")
    reads = [k for k in tagger_inputs(model) if k not in ("x", "mask", "p4")]
    for name in reads:
        if name not in listed:
            raise UserError(
                f"{where}: the model reads the per-object array '{name}', which metadata.json "
                f"'cloud_arrays' does not list ({listed})" + did_you_mean(name, listed)
            )
    return reads


def read_shapes(path: Path, names: list[str]) -> dict[str, tuple[int, ...]]:
    """Per-object shapes of the arrays ``names`` of one chunk (``shape[1:]``)."""
    try:
        with np.load(path, allow_pickle=False) as f:
            out = {}
            for name in names:
                if name not in f.files:
                    raise UserError(f"{path}: missing array '{name}'" + did_you_mean(name, f.files))
                out[name] = tuple(int(s) for s in f[name].shape[1:])
            return out
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise UserError(f"{path}: not a readable npz file ({exc})") from None


def check_photon_folder(data_dir: str | Path, *, splits: tuple[str, ...] = ("train",)) -> None:
    """Read the first chunk of each split as training does; a UserError on what it lacks.

    Checks the metadata (``classes``, ``observers``, ``cloud_arrays``) and, in the chunk,
    every contract array with its per-object shape: ``image`` (D, H, W), ``node_x``
    (M, F) with ``node_mask`` (M,), ``edges`` (E, 2) with ``edge_mask`` (E,).
    """
    data_dir = Path(data_dir)
    metadata = read_metadata(data_dir)
    object_classes(metadata, where=str(data_dir), kind="photon")
    observers = photon_observers(metadata, where=str(data_dir / "metadata.json"))
    arrays = _names(metadata, "cloud_arrays", where=str(data_dir / "metadata.json"))
    for split in splits:
        first = split_files(data_dir, split)[0]
        chunk = load_jet_chunk(first, observers=observers, cloud_arrays=arrays)
        bad = _shape_problems({k: tuple(chunk[k].shape[1:]) for k in arrays})
        if bad:
            raise UserError(f"{first}: per-object shapes {', '.join(bad)} break the photon format")


def _shape_problems(shape: dict[str, tuple[int, ...]]) -> list[str]:
    """The contract arrays among ``shape`` (per-object shapes) whose shape is wrong."""
    want = {
        "image": len(shape.get("image", (0, 0, 0))) == 3,
        "node_x": len(shape.get("node_x", (0, 0))) == 2,
        "node_mask": shape.get("node_mask") == shape.get("node_x", (None,))[:1],
        "edges": len(shape.get("edges", (0, 2))) == 2 and shape.get("edges", (0, 2))[1] == 2,
        "edge_mask": shape.get("edge_mask") == shape.get("edges", (None,))[:1],
    }
    return [f"{k} {shape[k]}" for k, ok in want.items() if k in shape and not ok]


def _fill(cfg: TrainConfig, data_dir: Path | None) -> dict[str, Any]:
    """The data-shaped options of the image/graph taggers, from the first training chunk.

    Without ``data_dir`` (a run being reloaded) the run's resolved options hold them.
    """
    if cfg.model.name not in _FILLED or data_dir is None:
        return {}
    array, option = _FILLED[cfg.model.name]
    first = split_files(data_dir, cfg.data.train_split)[0]
    shape = read_shapes(first, [array])[array]
    value: Any = list(shape) if option == "image_shape" else shape[-1]
    if array == "image" and len(shape) != 3:
        raise UserError(f"{first}: 'image' has per-object shape {shape}, not (layers, eta, phi)")
    given = cfg.model.options.get(option)
    if given is not None and given != value:
        raise UserError(
            f"config: model.options.{option} is {given}, but {first} holds {array} of "
            f"per-object shape {shape}"
        )
    return {option: value}


def build_photon_model(
    cfg: TrainConfig, metadata: dict, task, *, data_dir: Path | None = None
) -> tuple[nn.Module, int]:
    """The tagger of ``cfg.model`` for a photon folder; binds ``task`` to the classes."""
    photon_observers(metadata)
    return build_jet_model(
        cfg, metadata, task, data_dir=data_dir, kind="photon", fill=_fill(cfg, data_dir)
    )


def make_photon_streams(
    cfg: TrainConfig,
    data_dir: Path,
    metadata: dict,
    *,
    model: nn.Module,
    rank: int,
    world_size: int,
) -> tuple[JetStream, JetStream]:
    """Training and validation streams carrying the observers and the model's arrays."""
    return make_jet_streams(
        cfg,
        data_dir,
        metadata,
        rank=rank,
        world_size=world_size,
        model=model,
        kind="photon",
        observers=photon_observers(metadata, where=str(data_dir / "metadata.json")),
        cloud_arrays=photon_arrays(metadata, model),
    )


register_kind(
    Kind(
        name="photon",
        make_streams=make_photon_streams,
        build_model=build_photon_model,
        forward=jet_forward,
        batch_orders=BATCH_ORDERS,
    )
)
