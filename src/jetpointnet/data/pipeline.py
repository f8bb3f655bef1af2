"""``preprocess``: MLTree files -> stage-1 samples -> stage-2 arrays, chunked and resumable.

Work units are (file, event range) chunks. Stage 1 writes, per chunk,
``DIR/samples/{split}/<name>.arrow`` (Arrow IPC) for every split that received samples, then the
marker ``DIR/samples/_chunks/<name>.json`` (its counts); a chunk with a marker is done
and a re-run skips it. Stage 2 needs L, a quantile of the training samples' lengths over
all chunks, so it starts when stage 1 has finished; it writes
``DIR/arrays/{split}/<name>.npz`` and skips files that exist. Every file is written
under a temporary name and renamed, and its bytes depend only on the inputs and the
configuration, so an interrupted run resumed gives the same files as an uninterrupted
one. ``<name>`` is ``<file stem>_<chunk index:05d>``.

``DIR/metadata.json`` (written last) holds: ``package_version``, ``layout``,
``features``, ``scaling``, ``length`` (L), ``length_quantile``, ``counts`` (per split:
``samples``, ``points``, ``events``, ``files``, ``bytes``), ``drops`` (tracks and cells
dropped in stage 1, per reason), ``truncation`` (``samples_truncated``,
``points_dropped``, ``too_few_cells``), ``sources`` (``path``, ``size``, ``sha256``,
``entries``), ``radius`` and ``config`` (the resolved configuration).
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from jetpointnet import __version__
from jetpointnet.config import to_dict
from jetpointnet.data.config import PreprocessConfig
from jetpointnet.data.samples import DROP_REASONS
from jetpointnet.data.splits import SPLITS
from jetpointnet.errors import UserError
from jetpointnet.executors import Executor, in_local_pool, run_parallel
from jetpointnet.io.sample_files import read_sample_columns

# Executor, run_parallel and in_local_pool live in jetpointnet.executors (simulate runs its
# files there too).
__all__ = [
    "Executor",
    "PreprocessResult",
    "group_tasks",
    "in_local_pool",
    "metadata_record",
    "run_parallel",
]


@dataclass
class PreprocessResult:
    """What a :func:`jetpointnet.data.preprocess.preprocess` run produced."""

    out: Path
    metadata: dict[str, Any] = field(default_factory=dict)
    chunks_run: int = 0
    chunks_skipped: int = 0


def group_tasks(items: Sequence[Any], key: Callable[[Any], Any], *, workers: int) -> list[list]:
    """Runs of consecutive ``items`` sharing ``key`` (their input files), one task each.

    A worker reads the chunks of a task with one open file and one geometry
    (:class:`~jetpointnet.io.mltree_inputs.ChunkReader`). One worker gets whole runs;
    ``workers`` > 1 get ``4 * workers`` near-equal pieces (cut again where ``key``
    changes), so that the pool stays balanced.
    """
    n = len(items)
    pieces = 1 if workers <= 1 else max(1, min(n, 4 * workers))
    bounds = [round(k * n / pieces) for k in range(pieces + 1)]
    groups: list[list] = []
    for lo, hi in itertools.pairwise(bounds):
        for k in range(lo, hi):
            if k > lo and key(items[k - 1]) == key(items[k]):
                groups[-1].append(items[k])
            else:
                groups.append([items[k]])
    return groups


def length_from_counts(n_points: np.ndarray, *, quantile: float, fixed: int | None) -> int:
    """L: ``fixed`` if set, else the ``quantile`` of the sample lengths (rounded up, >= 1)."""
    if fixed is not None:
        if fixed < 1:
            raise UserError(f"arrays.max_length must be >= 1, got {fixed}")
        return int(fixed)
    if len(n_points) == 0:
        return 1
    return max(1, math.ceil(float(np.quantile(n_points, quantile, method="higher"))))


def config_record(config: PreprocessConfig, inputs: Sequence[Path], geometry: Path | None) -> dict:
    """What identifies a run's outputs: resolved config, inputs and geometry."""
    return {
        "config": to_dict(config),
        "inputs": [str(p) for p in inputs],
        "geometry": str(geometry) if geometry is not None else None,
    }


def output_name(out: Path, stage: str, split: str, name: str, suffix: str) -> Path:
    """``DIR/<stage>/<split>/<name><suffix>``."""
    return out / stage / split / f"{name}{suffix}"


def splits() -> tuple[str, ...]:
    """Split names, in order (0 train, 1 val, 2 test)."""
    return SPLITS


def cpu_count() -> int:
    """Usable CPU cores of this process."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover (macOS)
        return os.cpu_count() or 1


def metadata_record(
    out: Path, config: PreprocessConfig, records: list[dict], length: int
) -> dict[str, Any]:
    """metadata.json from the chunk markers and the stage-1 lengths (resume-independent)."""
    acfg = config.arrays
    drops = {reason: 0 for reason in DROP_REASONS}
    counts = {
        s: {"samples": 0, "points": 0, "events": 0, "files": 0, "bytes": 0, "stage1_samples": 0}
        for s in SPLITS
    }
    trunc = {"samples_truncated": 0, "points_dropped": 0, "too_few_cells": 0}
    for r in records:
        for k, v in r["drops"].items():
            drops[k] = drops.get(k, 0) + v
        for s in SPLITS:
            counts[s]["events"] += r["events"][s]
            counts[s]["stage1_samples"] += r["samples"][s]
        for split, fname in r["files"].items():
            cols = read_sample_columns(out / "samples" / split / fname, ["n_points", "n_cells"])
            ok = cols["n_cells"] >= acfg.min_cells
            n = cols["n_points"][ok].astype(np.int64)
            trunc["too_few_cells"] += int((~ok).sum())
            trunc["samples_truncated"] += int((n > length).sum())
            trunc["points_dropped"] += int(np.maximum(n - length, 0).sum())
            c = counts[split]
            c["samples"] += len(n)
            c["points"] += int(np.minimum(n, length).sum())
            c["files"] += 1
            c["bytes"] += output_name(out, "arrays", split, Path(fname).stem, ".npz").stat().st_size
    return {
        "package_version": __version__,
        "layout": acfg.layout,
        "features": list(acfg.features),
        "extra": list(acfg.extra),
        "scaling": {k: to_dict(v) for k, v in acfg.scaling.items() if k in acfg.features},
        "length": length,
        "length_quantile": (
            acfg.length_quantile if acfg.max_length is None and acfg.truncate else None
        ),
        "counts": counts,
        "drops": drops,
        "truncation": trunc,
        "radius": to_dict(config.radius),
    }
