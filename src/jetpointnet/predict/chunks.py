"""Stage 1 + stage 2 of one chunk of events, in memory, for prediction.

The run's own preprocessing configuration (the ``config`` block of its copy of
``metadata.json``) and L (``length``) are applied by the library functions of
:mod:`jetpointnet.data` (:func:`~jetpointnet.data.samples.build_samples`,
:func:`~jetpointnet.data.arrays.build_arrays`), so the model sees exactly the features,
scalings and truncation it was trained with.

Each point's cell is the stage-2 array ``cell_id`` (0 for track points). The focused
particle's true energy (``y_energy``) is kept as the truth column when the file has truth.

Models that read stage-2 extra arrays (``cnn``: ``d_eta``, ``d_phi``, ``sampling``;
``gnn``: ``neighbours``) get them computed here exactly as stage 2 writes them for
training (``arrays.extra``, :mod:`jetpointnet.data.extras`): :func:`prepare_chunk`
builds those named in ``extras``; ``neighbours`` needs the geometry's CellGeo link table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import awkward as ak
import numpy as np

from jetpointnet.config import from_dict
from jetpointnet.data.arrays import build_arrays
from jetpointnet.data.config import PreprocessConfig
from jetpointnet.data.extras import NeighbourTable
from jetpointnet.data.geometry import CellTable
from jetpointnet.data.radius import make_radius
from jetpointnet.data.samples import build_samples
from jetpointnet.data.schema import PointType
from jetpointnet.errors import UserError

__all__ = ["ChunkArrays", "data_config_from_metadata", "prepare_chunk"]


@dataclass
class ChunkArrays:
    """Stage-2 arrays (ragged layout) of one chunk plus what the output needs per point.

    ``arrays``: the data contract's arrays (``X`` has all the run's stage-2 features; the
    extra arrays asked for are there too, per point). ``cell_id``: per point, the cell
    identifier (0 for track points). ``sample_event``: per sample, the index of its event
    within the chunk (for observer branches).
    """

    arrays: dict[str, np.ndarray]
    cell_id: np.ndarray
    sample_event: np.ndarray

    @property
    def n_samples(self) -> int:
        return len(self.arrays["n_points"])

    def extras(self, names: Sequence[str]) -> dict[str, np.ndarray]:
        """The ragged extra arrays ``names`` (per point, like ``X``)."""
        return {name: self.arrays[name] for name in names}


def data_config_from_metadata(metadata: dict, *, where: str) -> tuple[PreprocessConfig, int]:
    """The preprocessing config and L stored in a run's ``metadata.json`` copy."""
    if "config" not in metadata or "length" not in metadata:
        raise UserError(f"{where}: metadata has no 'config'/'length' (re-run preprocess)")
    cfg = from_dict(PreprocessConfig, metadata["config"], where=where)
    return cfg, int(metadata["length"])


def prepare_chunk(
    events: dict[str, ak.Array],
    table: CellTable,
    *,
    config: PreprocessConfig,
    length: int,
    entry_start: int,
    file_index: int,
    source: str,
    extras: Sequence[str] = (),
    neighbours: NeighbourTable | None = None,
) -> ChunkArrays:
    """Samples and ragged stage-2 arrays of a chunk of events (entries from ``entry_start``).

    ``extras``: the optional stage-2 arrays to build (the model's, not the run's
    ``arrays.extra`` list, which may hold more); ``neighbours``: the CellGeo link table,
    needed when ``extras`` has ``neighbours``.
    """
    samples, _ = build_samples(
        events,
        table,
        selection=config.selection,
        radius=make_radius(config.radius),
        entry_start=entry_start,
        file_index=file_index,
        source=source,
    )
    acfg = dataclasses.replace(config.arrays, layout="ragged", extra=list(extras))
    keep = np.asarray(ak.to_numpy(samples.n_cells)) >= acfg.min_cells
    samples = samples[keep]
    arrays, _ = build_arrays(samples, config=acfg, length=length, neighbours=neighbours)
    is_cell = arrays["point_type"] == PointType.CELL
    cell_id = np.where(is_cell, arrays["cell_id"], 0).astype(np.uint64)
    sample_event = arrays["entry"] - entry_start
    return ChunkArrays(arrays=arrays, cell_id=cell_id, sample_event=sample_event)
