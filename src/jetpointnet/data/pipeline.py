"""``preprocess``: MLTree files -> stage-1 samples -> stage-2 arrays, chunked and resumable.

Work units are (file, event range) chunks. Stage 1 writes, per chunk,
``DIR/samples/{split}/<name>.parquet`` for every split that received samples, then the
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

import math
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from jetpointnet.config import to_dict
from jetpointnet.data.config import PreprocessConfig
from jetpointnet.data.splits import SPLITS
from jetpointnet.errors import UserError, missing_extra

__all__ = ["Chunk", "PreprocessResult", "plan_chunks", "run_parallel"]

Executor = Literal["local", "dask"]


@dataclass(frozen=True)
class Chunk:
    """One work unit of stage 1: entries ``[start, stop)`` of one input file."""

    file_index: int
    path: str
    geometry: str
    start: int
    stop: int
    name: str  # output name: <stem>_<index:05d>


@dataclass
class PreprocessResult:
    """What a :func:`jetpointnet.data.preprocess.preprocess` run produced."""

    out: Path
    metadata: dict[str, Any] = field(default_factory=dict)
    chunks_run: int = 0
    chunks_skipped: int = 0


def plan_chunks(
    inputs: Sequence[Path],
    entries: Sequence[int],
    geometries: Sequence[Path],
    *,
    events_per_chunk: int,
) -> list[Chunk]:
    """Chunks of every input; output names are unique even when file stems repeat."""
    if events_per_chunk < 1:
        raise UserError(f"events_per_chunk must be >= 1, got {events_per_chunk}")
    stems: dict[str, int] = {}
    chunks = []
    for i, (path, n, geo) in enumerate(zip(inputs, entries, geometries, strict=True)):
        stem = path.stem
        if stem in stems:
            stem = f"{stem}-{i}"
        stems[stem] = i
        for k, start in enumerate(range(0, n, events_per_chunk)):
            stop = min(start + events_per_chunk, n)
            chunks.append(Chunk(i, str(path), str(geo), start, stop, f"{stem}_{k:05d}"))
    return chunks


def run_parallel(
    fn: Callable[..., dict[str, Any]],
    tasks: Sequence[tuple[Any, ...]],
    *,
    workers: int,
    executor: Executor,
    scheduler: str | None,
    progress: bool,
    desc: str,
) -> Iterable[dict[str, Any]]:
    """Run ``fn(*task)`` for every task and yield the results as they complete.

    ``local`` with one worker runs in this process; more workers use a
    ``ProcessPoolExecutor``; ``dask`` submits the same function to a Dask cluster
    (``scheduler`` address, or a local cluster of ``workers`` processes).
    """
    from tqdm.auto import tqdm

    bar = tqdm(total=len(tasks), desc=desc, unit="chunk", disable=not progress, leave=False)
    try:
        if not tasks:
            return
        if executor == "dask":
            yield from _run_dask(fn, tasks, workers=workers, scheduler=scheduler, bar=bar)
        elif workers <= 1:
            for task in tasks:
                result = fn(*task)
                bar.update()
                yield result
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                futures = [pool.submit(fn, *task) for task in tasks]
                try:
                    for fut in as_completed(futures):
                        result = fut.result()
                        bar.update()
                        yield result
                finally:
                    for fut in futures:
                        fut.cancel()
    finally:
        bar.close()


def _run_dask(fn, tasks, *, workers, scheduler, bar):
    try:
        from distributed import Client, LocalCluster
        from distributed import as_completed as dask_completed
    except ImportError:
        raise missing_extra("--executor dask needs dask.distributed", "dask") from None
    if scheduler:
        cluster = None
        client = Client(scheduler)
    else:
        cluster = LocalCluster(
            n_workers=max(workers, 1), threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    try:
        futures = [client.submit(fn, *task, pure=False) for task in tasks]
        for fut in dask_completed(futures):
            result = fut.result()
            bar.update()
            yield result
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


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
