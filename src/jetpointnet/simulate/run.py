"""``jetpointnet simulate``: chunks of events -> MLTree ROOT files, in parallel, resumable.

Events are split into chunks of ``events_per_file``; chunk ``i`` is one output file named
``{label}_seed{seed}_{i:04d}.root`` and is simulated from seeds derived from (seed, i) only,
so the files are the same whatever the number of workers. Each file is written under a
temporary name and renamed when complete, then its settings and statistics are recorded
in ``_chunks/NAME.json``: re-running the same command skips the chunks written under the
same settings (resume) while other settings refuse to touch existing files unless
``overwrite`` is set (which first invalidates every record, so that an interrupted
overwrite never labels old files as new). ``simulate.json`` (the settings) and
``simulate_stats.json`` (summed over all chunks, resumed or not) are written last. The
folder is locked for the job (:mod:`jetpointnet.io.lock`); workers exit with the parent.

``executor="dask"`` submits one Dask task per file (:func:`jetpointnet.executors.run_dask`:
a local cluster of ``workers`` processes, or the cluster of ``scheduler``); the files and
their records are the same as with local workers, and the same rules of resume apply.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing as mp
import os
import queue
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from jetpointnet import __version__
from jetpointnet.config import to_dict
from jetpointnet.errors import UserError, did_you_mean
from jetpointnet.executors import Executor, check_executor, run_dask
from jetpointnet.io.atomic import remove_stale_partials
from jetpointnet.io.lock import output_lock
from jetpointnet.io.mltree_writer import DEFAULT_COMPRESSION, parse_compression
from jetpointnet.io.sample_files import read_json_object, write_json
from jetpointnet.simulate.generators import (
    JZ_SLICES,
    MC_CHANNEL,
    SourceOptions,
    check_source_options,
    make_source,
)
from jetpointnet.simulate.geometry import CELL_ORDERS

__all__ = ["SimulateConfig", "chunk_events", "output_name", "simulate"]

MANIFEST = "simulate.json"
CHUNKS = "_chunks"  # per-chunk settings and statistics, each written after its file
RUN_NUMBER = 284500  # the MC16 / Run-2 reference run number used by ATLAS simulation


@dataclass
class SimulateConfig:
    """Options of ``jetpointnet simulate`` (energies in GeV)."""

    preset: str
    events: int
    seed: int
    out: Path
    workers: int = 1
    events_per_file: int = 1000
    pileup: float = 0.0
    max_contributors: int | None = None
    particle: str = "pi+"
    energy: float | None = None
    energy_range: tuple[float, float] | None = None
    eta_range: tuple[float, float] = (-2.5, 2.5)
    slice_radius: float = 0.6  # anti-kt R of the truth jet that defines a JZ slice
    alp_mass: float | None = None  # GeV, presets h2aa and alp
    alp_ctau: float | None = None  # mm, proper decay length of the ALP (h2aa)
    decay_length: tuple[float, float] = (0.0, 0.0)  # mm, lab decay length range (alp gun)
    format: Literal["ttree", "rntuple"] = "ttree"
    overwrite: bool = False
    split_clusters: bool = True  # ATLAS's cluster splitter (False: no shared cells)
    compression: str = DEFAULT_COMPRESSION  # zstd:1; see io.mltree_writer
    cell_order: Literal["ascending", "shuffled"] = "ascending"  # of the CellGeo vectors
    event_truth: bool = True  # the optional EVENT_TRUTH_BRANCHES (io.mltree_layout)
    executor: Executor = "local"  # or "dask": one Dask task per file (jetpointnet.executors)
    scheduler: str | None = None  # with "dask": tcp://HOST:PORT; None: a local cluster

    def source_options(self) -> SourceOptions:
        eta_lo, eta_hi = self.eta_range  # a tuple, also when given as a list
        d_lo, d_hi = self.decay_length
        return SourceOptions(
            preset=self.preset, particle=self.particle, energy=self.energy,
            energy_range=self.energy_range, eta_range=(eta_lo, eta_hi), pileup=self.pileup,
            slice_radius=self.slice_radius, alp_mass=self.alp_mass, alp_ctau=self.alp_ctau,
            decay_length=(float(d_lo), float(d_hi)),
        )  # fmt: skip

    def label(self) -> str:
        if self.preset != "gun":
            large_r = self.preset in JZ_SLICES and self.slice_radius == 1.0
            return self.preset + ("-r10" if large_r else "")
        name = self.particle.replace("+", "plus").replace("-", "minus")
        return f"gun-{name}"


def output_name(cfg: SimulateConfig, chunk: int) -> str:
    return f"{cfg.label()}_seed{cfg.seed}_{chunk:04d}.root"


def _validate(cfg: SimulateConfig) -> None:
    if cfg.events <= 0:
        raise UserError(f"--events must be positive, got {cfg.events}")
    if cfg.events_per_file <= 0:
        raise UserError(f"--events-per-file must be positive, got {cfg.events_per_file}")
    if cfg.workers <= 0:
        raise UserError(f"--workers must be positive, got {cfg.workers}")
    if cfg.max_contributors is not None and cfg.max_contributors <= 0:
        raise UserError(f"--max-contributors must be positive, got {cfg.max_contributors}")
    if cfg.seed < 0:
        raise UserError(f"--seed must be >= 0, got {cfg.seed}")
    check_executor(cfg.executor, cfg.scheduler)
    parse_compression(cfg.compression)
    if cfg.cell_order not in CELL_ORDERS:
        raise UserError(
            f"cell order {cfg.cell_order!r}: unknown{did_you_mean(cfg.cell_order, CELL_ORDERS)}"
            f"; choose from {', '.join(CELL_ORDERS)}"
        )
    if cfg.out.exists() and not cfg.out.is_dir():
        raise UserError(f"{cfg.out}: exists and is not a folder")
    check_source_options(cfg.source_options())  # no Pythia started: each chunk starts its own


def _manifest(cfg: SimulateConfig) -> dict:
    d = to_dict(cfg)
    for k in ("out", "workers", "overwrite", "executor", "scheduler"):
        d.pop(k)
    if d.get("slice_radius") == 0.6:  # the default: folders of earlier versions still resume
        d.pop("slice_radius")
    if cfg.preset not in ("h2aa", "alp"):  # likewise the ALP options (unset elsewhere)
        for k in ("alp_mass", "alp_ctau", "decay_length"):
            d.pop(k, None)
    return {"jetpointnet": __version__, "config": d}


def chunk_events(cfg: SimulateConfig) -> list[tuple[int, int]]:
    """(first event, number of events) of each chunk."""
    m = cfg.events_per_file
    return [(i, min(m, cfg.events - i)) for i in range(0, cfg.events, m)]


def _simulate_chunk(
    cfg: SimulateConfig, chunk: int, first: int, count: int, progress_q=None
) -> tuple[str, dict]:
    """Simulate one chunk, write its file, then its record; returns (path, statistics)."""
    if progress_q == _WORKER_QUEUE:
        progress_q = _queue
    from jetpointnet.io.mltree_writer import write_mltree
    from jetpointnet.simulate.assemble import stack_events
    from jetpointnet.simulate.detector import STAGES, simulate_event
    from jetpointnet.simulate.geometry import build_geometry
    from jetpointnet.simulate.material import material_table
    from jetpointnet.simulate.params import DETECTOR

    params = dataclasses.replace(DETECTOR, split_clusters=cfg.split_clusters)
    t_geo = time.perf_counter()
    geo = build_geometry()
    mat = material_table()
    t0 = time.perf_counter()
    t_geo = t0 - t_geo
    generator = make_source(cfg.source_options(), seed=cfg.seed * 100_003 + chunk)
    t_init = time.perf_counter() - t0
    stages: dict[str, float] = dict.fromkeys(STAGES, 0.0)
    source = iter(generator)
    rng = np.random.default_rng([cfg.seed, chunk, 0xCA10])
    records, tried = [], 0
    t_gen = t_det = 0.0
    pending = 0
    for i in range(count):
        a = time.perf_counter()
        truth = next(source)
        b = time.perf_counter()
        rec = simulate_event(
            truth, geo, mat, rng, params=params, max_contributors=cfg.max_contributors,
            event_truth=cfg.event_truth, timings=stages,
        )  # fmt: skip
        if cfg.event_truth:  # the hard scatter's record is still the generator's current one
            barcodes = truth.barcode  # the status-2 bosons (appended last) have parents too
            if truth.decayed is not None and truth.decayed.size:
                barcodes = np.concatenate([barcodes, truth.decayed.barcode])
            parent, parent_pdg = generator.parents(barcodes)
            rec.values.update(truthPartParentBarcode=parent, truthPartParentPdgId=parent_pdg)
        t_det += time.perf_counter() - b
        t_gen += b - a
        tried += truth.n_tried
        number = first + i + 1
        rec.values.update(
            runNumber=RUN_NUMBER, eventNumber=number, lumiBlock=1 + (first + i) // 1000,
            mcEventNumber=number, mcChannelNumber=MC_CHANNEL[cfg.preset], mcEventWeight=truth.weight,
            actualInteractionsPerCrossing=float(truth.n_pileup),
            averageInteractionsPerCrossing=float(cfg.pileup), NPV=1 + truth.n_pileup,
        )  # fmt: skip
        records.append(rec)
        pending += 1
        if progress_q is not None and (pending >= 10 or i == count - 1):
            progress_q.put(pending)
            pending = 0
    c = time.perf_counter()
    events = stack_events(records)
    path = cfg.out / output_name(cfg, chunk)
    geometry = geo.mltree_branches(order=cfg.cell_order)
    write_mltree(
        path, events, geometry, fmt=cfg.format, overwrite=True, compression=cfg.compression
    )
    t_write = time.perf_counter() - c
    stats = {"events": count, "generated": tried, "time_generator": t_gen, "time_detector": t_det,
             "time_write": t_write, "time_total": time.perf_counter() - t0,
             "time_geometry": t_geo, "time_generator_init": t_init,
             **{f"time_{k}": v for k, v in stages.items()}}  # fmt: skip
    write_json(_chunk_record(cfg, chunk), {"config": _manifest(cfg)["config"], "stats": stats})
    return str(path), stats


def _chunk_record(cfg: SimulateConfig, chunk: int) -> Path:
    return cfg.out / CHUNKS / f"{Path(output_name(cfg, chunk)).stem}.json"


def _done(cfg: SimulateConfig, chunk: int, manifest: dict, legacy: bool) -> bool | None:
    """True: chunk written under ``manifest``'s settings; False: under others; None: absent.

    Each chunk's settings are recorded next to it (``_chunks/NAME.json``, written after
    the file); files of an older version without one count only when ``legacy`` (the
    folder's ``simulate.json`` holds the same settings).
    """
    path = cfg.out / output_name(cfg, chunk)
    if not path.exists():
        return None
    record = _chunk_record(cfg, chunk)
    if record.exists():
        return read_json_object(record).get("config") == manifest["config"]
    return legacy


def simulate(cfg: SimulateConfig, *, progress: bool = True) -> list[Path]:
    """Run the simulation; return the output files in chunk order."""
    cfg.out = Path(cfg.out)
    _validate(cfg)
    with output_lock(cfg.out, "simulate"):
        return _simulate(cfg, progress)


def _simulate(cfg: SimulateConfig, progress: bool) -> list[Path]:
    remove_stale_partials(cfg.out, locked=True)
    remove_stale_partials(cfg.out / CHUNKS, locked=True)
    chunks = chunk_events(cfg)
    paths = [cfg.out / output_name(cfg, i) for i in range(len(chunks))]
    manifest_path = cfg.out / MANIFEST
    manifest = _manifest(cfg)
    legacy = (
        manifest_path.exists()
        and read_json_object(manifest_path).get("config") == manifest["config"]
    )
    state = [_done(cfg, i, manifest, legacy) for i in range(len(chunks))]
    if cfg.overwrite:
        # Invalidate first: a run killed from here on leaves no file labelled as done.
        manifest_path.unlink(missing_ok=True)
        for i in range(len(chunks)):
            _chunk_record(cfg, i).unlink(missing_ok=True)
        todo = list(range(len(chunks)))
    else:
        other = [paths[i] for i, st in enumerate(state) if st is False]
        if other:
            raise UserError(
                f"{other[0]}: exists, from other settings (pass --overwrite to replace it)"
            )
        todo = [i for i, st in enumerate(state) if st is None]
    (cfg.out / CHUNKS).mkdir(exist_ok=True)
    from tqdm import tqdm

    done_events = sum(chunks[i][1] for i in range(len(chunks)) if i not in todo)
    bar = tqdm(total=cfg.events, initial=done_events, unit="ev", desc=f"simulate {cfg.label()}",
               disable=not progress, dynamic_ncols=True)  # fmt: skip
    try:
        if cfg.executor == "dask" and todo:
            _run_on_dask(cfg, todo, chunks, bar)
        elif cfg.workers == 1 or len(todo) == 1:
            for i in todo:
                _simulate_chunk(cfg, i, *chunks[i], progress_q=_BarQueue(bar))
        else:
            _run_pool(cfg, todo, chunks, bar)
    finally:
        bar.close()
    write_json(manifest_path, manifest)  # after the data it describes
    _write_stats(cfg, len(chunks))
    return paths


def _run_pool(cfg: SimulateConfig, todo: list[int], chunks: list[tuple[int, int]], bar) -> None:
    """The chunks ``todo`` on ``cfg.workers`` processes that die with this one."""
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    with ProcessPoolExecutor(
        max_workers=cfg.workers, mp_context=ctx, initializer=_worker_init,
        initargs=(q, os.getpid()),
    ) as pool:  # fmt: skip
        futs = [pool.submit(_simulate_chunk, cfg, i, *chunks[i], _WORKER_QUEUE) for i in todo]
        remaining = set(futs)
        while remaining:
            with contextlib.suppress(queue.Empty):
                bar.update(q.get(timeout=0.2))
            for f in [f for f in remaining if f.done()]:
                remaining.discard(f)
                f.result()
        with contextlib.suppress(queue.Empty):
            while True:
                bar.update(q.get(timeout=0.05))


def _run_on_dask(cfg: SimulateConfig, todo: list[int], chunks: list[tuple[int, int]], bar) -> None:
    """The chunks ``todo`` as Dask tasks, one per file; the bar advances per finished file."""
    remote = dataclasses.replace(cfg, out=cfg.out.absolute())  # workers have their own cwd
    tasks = [(remote, i, *chunks[i]) for i in todo]
    for path, stats in run_dask(
        _simulate_chunk, tasks, workers=cfg.workers, scheduler=cfg.scheduler
    ):
        if not _appears(Path(path)):
            raise UserError(
                f"{path}: written by a Dask worker but not found here; the output folder must "
                "be on a file system that this machine and the workers share"
            )
        bar.update(stats["events"])


def _appears(path: Path, *, wait: float = 60.0) -> bool:
    """True once ``path`` is a file here; a network file system may show it seconds late."""
    deadline = time.monotonic() + wait
    while not path.is_file():
        if time.monotonic() > deadline:
            return False
        time.sleep(1.0)
    return True


_WORKER_QUEUE = "worker"  # stands for the queue a worker got from _worker_init
_queue = None


def _worker_init(progress_q, parent: int) -> None:
    """In each worker: keep the progress queue; exit as soon as the parent is gone."""
    global _queue
    _queue = progress_q

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True).start()


class _BarQueue:
    """Progress sink with the queue's ``put`` for the in-process path."""

    def __init__(self, bar) -> None:
        self.bar = bar

    def put(self, n: int) -> None:
        self.bar.update(n)


def _write_stats(cfg: SimulateConfig, n_chunks: int) -> None:
    """``simulate_stats.json``: the sum over every chunk's statistics, resumed runs too."""
    stats = []
    for i in range(n_chunks):
        record = _chunk_record(cfg, i)
        if record.exists() and "stats" in read_json_object(record):
            stats.append(read_json_object(record)["stats"])
    if not stats:
        return
    keys = dict.fromkeys(k for s in stats for k in s)  # records of older versions lack some
    total = {k: float(sum(s.get(k, 0.0) for s in stats)) for k in keys}
    total["chunks"] = float(len(stats))
    write_json(cfg.out / "simulate_stats.json", total)
