"""Target particles in the ``particles.parquet`` schema (:mod:`jetpointnet.io.particles`).

* :func:`target_particles`: the targets of whole events (region_index 0) straight from an
  MLTree chunk, as ``jets --algorithm target`` uses them;
* :func:`particles_from_samples`: the targets of an event folder's arrays (one sample =
  one event or region, region_index as in the sample).

Both give charged rows the track's perigee momentum with the class mass and neutral rows
massless four-vectors at their true energy and direction; existence 1.
"""

from __future__ import annotations

import numpy as np

from jetpointnet.data.event_inputs import event_view
from jetpointnet.data.event_targets import CLASSES, class_mass, event_targets
from jetpointnet.data.geometry import CellTable
from jetpointnet.io.particles import PARTICLE_COLUMNS, empty_particles

__all__ = [
    "concat_tables",
    "folder_target_particles",
    "particles_from_samples",
    "target_particles",
]


def _rows(links: dict, n: int, cls, e, pt, eta, phi, m, track) -> dict[str, np.ndarray]:
    out = {k: np.full(n, v) for k, v in links.items()}
    out.update({"class": np.asarray([CLASSES[int(c)] for c in cls], dtype=object),
                "E": e, "pt": pt, "eta": eta, "phi": phi, "m": m, "track_index": track,
                "existence": np.ones(n)})  # fmt: skip
    return out


def _charged(links, cls, pt, eta, phi, track) -> dict[str, np.ndarray]:
    m = class_mass(cls)
    p = pt * np.cosh(eta)
    return _rows(links, len(cls), cls, np.sqrt(p * p + m * m), pt, eta, phi, m, track)


def _neutral(links, cls, e, eta, phi) -> dict[str, np.ndarray]:
    n = len(cls)
    return _rows(links, n, cls, e, e / np.cosh(eta), eta, phi, np.zeros(n), np.full(n, -1))


def concat_tables(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Rows of every table, in order, cast to the schema."""
    if not parts:
        return empty_particles()
    out = {}
    for k, t in PARTICLE_COLUMNS.items():
        col = np.concatenate([np.asarray(p[k]) for p in parts])
        out[k] = col.astype(object) if t is np.str_ else col.astype(t)
    return out


def target_particles(
    events: dict,
    table: CellTable,
    *,
    file_index: int,
    entry_start: int,
    source: str = "",
    neutral_energy: str = "true",
) -> dict[str, np.ndarray]:
    """The target particles of every event of an MLTree chunk (whole events).

    ``neutral_energy``: "true" (the targets' true energy) or "visible" (their deposit in the
    clustered cells, EM scale when the file has the visible branch: what perfect
    attribution without any calibration would give).
    """
    if neutral_energy not in ("true", "visible"):
        raise ValueError(f"neutral_energy must be true or visible, got {neutral_energy!r}")
    parts = []
    numbers = np.asarray(events["eventNumber"], np.int64)
    for i in range(len(numbers)):
        view = event_view(events, i, table, source=source)
        tg = event_targets(view.target_input)
        links = {"file_index": file_index, "entry": entry_start + i,
                 "event_number": int(numbers[i]), "region_index": 0}  # fmt: skip
        tr = np.arange(len(view.track_pt))
        parts.append(_charged(links, tg.charged_class, view.track_pt, view.track_eta,
                              view.track_phi, tr))  # fmt: skip
        e = tg.neutral_e if neutral_energy == "true" else tg.neutral_e_vis
        parts.append(_neutral(links, tg.neutral_class, e, tg.neutral_eta, tg.neutral_phi))
    return concat_tables(parts)


def particles_from_samples(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The target particles of the samples of one event-folder chunk (its npz arrays); of
    a sample with a halo, only its core's tracks and neutrals (each particle once)."""
    parts = []
    for s in range(len(arrays["entry"])):
        links = {k: arrays[k][s] for k in ("file_index", "entry", "event_number", "region_index")}
        t = arrays["track_mask"][s] & arrays.get("track_core", arrays["track_mask"])[s]
        parts.append(_charged(links, arrays["charged_class"][s][t], arrays["track_pt"][s][t]
                              .astype(np.float64), arrays["track_eta"][s][t].astype(np.float64),
                              arrays["track_phi"][s][t], arrays["track_index"][s][t]))  # fmt: skip
        n = arrays["neutral_mask"][s] & arrays.get("neutral_core", arrays["neutral_mask"])[s]
        parts.append(_neutral(links, arrays["neutral_class"][s][n],
                              arrays["neutral_e"][s][n].astype(np.float64),
                              arrays["neutral_eta"][s][n].astype(np.float64),
                              arrays["neutral_phi"][s][n]))  # fmt: skip
    return concat_tables(parts)


def folder_target_particles(folder, *, split: str = "test") -> dict[str, np.ndarray]:
    """The target particles of every sample of one split of an event folder."""
    from jetpointnet.errors import UserError
    from jetpointnet.io.prep_folder import read_metadata, split_files
    from jetpointnet.io.sample_files import read_npz

    if read_metadata(folder).get("kind") != "event":
        raise UserError(f"{folder}: not an event folder (preprocess --kind event)")
    return concat_tables([particles_from_samples(read_npz(f)) for f in split_files(folder, split)])
