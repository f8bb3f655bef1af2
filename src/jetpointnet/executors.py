"""Where the work units of a stage run: this process, local worker processes or Dask.

``preprocess`` and ``simulate`` cut their work into independent tasks whose outputs are
written atomically by the task itself, so a task may run anywhere that sees the output
folder. :func:`run_parallel` runs them with the executor the user chose: ``local`` (one
worker: in this process; more: a ``ProcessPoolExecutor``) or ``dask`` (the tasks are
submitted to a Dask cluster: the scheduler at ``scheduler``, e.g. one that dask-jobqueue
started on a batch system, or else a local cluster of ``workers`` processes). This module
only uses Dask's standard client; it schedules nothing itself.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Literal

from jetpointnet.errors import UserError, did_you_mean, missing_extra

__all__ = [
    "EXECUTORS",
    "Executor",
    "check_executor",
    "in_local_pool",
    "keep_freed_memory",
    "run_dask",
    "run_parallel",
]

Executor = Literal["local", "dask"]
EXECUTORS: tuple[str, ...] = ("local", "dask")
_DASK_HINT = "--executor dask needs dask.distributed"


def check_executor(executor: str, scheduler: str | None) -> None:
    """Refuse an unknown executor, a scheduler without ``dask`` and a malformed address."""
    if executor not in EXECUTORS:
        raise UserError(
            f"--executor {executor!r}: unknown{did_you_mean(executor, EXECUTORS)}; "
            f"choose from {', '.join(EXECUTORS)}"
        )
    if scheduler is None:
        return
    if executor != "dask":
        raise UserError(f"--scheduler {scheduler}: needs --executor dask")
    try:
        from distributed.comm.addressing import parse_address, parse_host_port
    except ImportError:
        raise missing_extra(_DASK_HINT, "dask") from None
    try:
        scheme, location = parse_address(scheduler)
        if scheme in ("tcp", "tls"):
            parse_host_port(location)
    except ValueError as e:
        raise UserError(f"--scheduler {scheduler}: {e} (expected tcp://HOST:PORT)") from None


def run_parallel(
    fn: Callable[..., list[dict[str, Any]]],
    tasks: Sequence[tuple[Any, ...]],
    *,
    total: int,
    workers: int,
    executor: Executor,
    scheduler: str | None,
    progress: bool,
    desc: str,
) -> Iterable[Any]:
    """Run ``fn(*task)`` for every task; yield the per-chunk results of each as it completes.

    ``fn`` returns a list, one result per chunk of its task (``total`` chunks in all, the
    length of the progress bar). ``local`` with one worker runs in this process; more
    workers use a ``ProcessPoolExecutor``; ``dask`` submits the same function to a Dask
    cluster (:func:`run_dask`). Results come in completion order, not task order.
    """
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc, unit="chunk", disable=not progress, leave=False)
    try:
        if not tasks:
            return
        if executor == "dask":
            results = run_dask(fn, tasks, workers=workers, scheduler=scheduler)
        elif workers <= 1:
            keep_freed_memory()
            results = (fn(*task) for task in tasks)
        else:
            results = _run_pool(fn, tasks, workers=workers)
        for result in results:
            bar.update(len(result))
            yield from result
    finally:
        bar.close()


_IN_LOCAL_POOL = False


def _mark_pool_worker() -> None:
    global _IN_LOCAL_POOL
    _IN_LOCAL_POOL = True
    keep_freed_memory()


# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
_heap_tuned = False


def keep_freed_memory() -> None:
    """Let this process reuse the memory it frees instead of handing it back to the kernel.

    A chunk's arrays (tens of MB each) are freed and allocated again for the next chunk;
    glibc's defaults return them to the kernel and the next chunk pays for fresh,
    zeroed pages. Heap arrays up to 32 MB (glibc's largest mmap threshold), 256 MB kept
    before trimming and 64 MB of top pad: preprocessing 600 JZ3 events, ~1 s less system
    time, 4-12 % less wall time, peak RSS about the same (BENCHMARKS.md, preprocess).
    glibc (Linux) only; a no-op elsewhere and after the first call.
    """
    global _heap_tuned
    if _heap_tuned or not sys.platform.startswith("linux"):
        return
    _heap_tuned = True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and other libcs have no mallopt
        return
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    for param, value in (
        (_M_MMAP_THRESHOLD, 32 << 20),
        (_M_TRIM_THRESHOLD, 256 << 20),
        (_M_TOP_PAD, 64 << 20),
    ):
        mallopt(param, value)


def in_local_pool() -> bool:
    """True in a worker process of :func:`run_parallel`'s local pool (it lives for one run).

    Such a worker may keep its open input file between tasks: a task that starts in the
    file the previous one read then skips uproot's first-read set-up (~0.3 s per file).
    """
    return _IN_LOCAL_POOL


def _run_pool(fn, tasks, *, workers):
    with ProcessPoolExecutor(max_workers=workers, initializer=_mark_pool_worker) as pool:
        futures = [pool.submit(fn, *task) for task in tasks]
        try:
            for fut in as_completed(futures):
                yield fut.result()
        finally:
            for fut in futures:
                fut.cancel()


def run_dask(
    fn: Callable[..., Any], tasks: Sequence[tuple[Any, ...]], *, workers: int, scheduler: str | None
) -> Iterator[Any]:
    """``fn(*task)`` on a Dask cluster, one Dask task each; yield the results as they complete.

    ``scheduler``: the address of a running scheduler (``tcp://HOST:PORT``), whose workers
    must import jetpointnet and see the same output paths; ``None``: a local cluster of
    ``workers`` single-threaded processes, closed at the end. A task that fails raises
    here; leaving the generator early (an error, Ctrl-C) releases the remaining tasks.
    """
    try:
        from distributed import Client, LocalCluster
        from distributed import as_completed as dask_completed
    except ImportError:
        raise missing_extra(_DASK_HINT, "dask") from None
    if scheduler:
        cluster = None
        try:
            client = Client(scheduler)
        except (OSError, ValueError) as e:
            raise UserError(f"--scheduler {scheduler}: cannot connect ({e})") from None
    else:
        cluster = LocalCluster(
            n_workers=max(workers, 1), threads_per_worker=1, processes=True, dashboard_address=":0"
        )
        client = Client(cluster)
    try:
        futures = [client.submit(fn, *task, pure=False) for task in tasks]
        for fut in dask_completed(futures):
            yield fut.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
