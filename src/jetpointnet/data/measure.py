"""``preprocess --measure-radius``: adaptive-radius parameters from single-particle files.

Builds stage-1 samples in a wide cone (Delta-R < 1.0) on pion-gun (or rho) events, measures
per track the Delta-R holding ``radius.fraction`` of the particle's true deposit, fits
R(p) (:mod:`jetpointnet.data.radius`) and writes the parameters as JSON.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from jetpointnet.data.config import PreprocessConfig
from jetpointnet.data.geometry import CellTable
from jetpointnet.data.radius import containment_radius, fit_radius
from jetpointnet.data.samples import EVENT_BRANCHES_OPTIONAL, EVENT_BRANCHES_REQUIRED, build_samples
from jetpointnet.errors import UserError
from jetpointnet.io.mltree_reader import inspect_mltree, read_events, read_geometry
from jetpointnet.io.sample_files import write_json

__all__ = ["MEASURE_CONE", "measure_radius"]

#: Delta-R of the cone in which containment is measured.
MEASURE_CONE = 1.0


def measure_radius(
    inputs: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    config: PreprocessConfig,
    geometry: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Measure, fit and write the radius parameters to ``out``; returns them."""
    from tqdm.auto import tqdm

    from jetpointnet.io.mltree_inputs import expand_inputs

    fraction = config.radius.fraction
    if not 0 < fraction < 1:
        raise UserError(f"radius.fraction must be in (0, 1), got {fraction}")
    paths = expand_inputs([str(p) for p in inputs])
    ps, rs = [], []
    step = config.events_per_chunk
    for path in paths:
        info = inspect_mltree(path, event_tree=config.event_tree)
        table = CellTable.from_geometry(read_geometry(geometry or path, tree=config.geometry_tree))
        for start in tqdm(range(0, info.num_entries, step), desc=path.name, disable=not progress):
            events = read_events(
                path,
                EVENT_BRANCHES_REQUIRED,
                optional=EVENT_BRANCHES_OPTIONAL,
                entry_start=start,
                entry_stop=min(start + step, info.num_entries),
                event_tree=config.event_tree,
            )
            samples, _ = build_samples(
                events, table, selection=config.selection, radius=MEASURE_CONE, source=str(path)
            )
            p, r = containment_radius(samples, fraction=fraction)
            ps.append(p)
            rs.append(r)
    p = np.concatenate(ps) if ps else np.zeros(0)
    r = np.concatenate(rs) if rs else np.zeros(0)
    params = fit_radius(p, r)
    params.update(fraction=fraction, cone=MEASURE_CONE, sources=[str(x) for x in paths])
    write_json(Path(out), params)
    return params
