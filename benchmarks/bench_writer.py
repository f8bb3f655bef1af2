"""Benchmark of the MLTree writer per format and compression, on our files or a synthetic chunk.

``--input FILE``: rewrite the events and CellGeo of an existing MLTree file (e.g. one that
``jetpointnet simulate`` wrote): the figures of our real files, whose values compress like
data. Without it, a synthetic chunk shaped like dijet events (Poisson means per event: 30
clusters, 3,000 clustered cells, 2 truth contributors per cell, 50 tracks, 600 truth
particles; random values, which compress worse than data) and a CellGeo tree of 187,652
cells (ATLAS's count).

Prints the one-off ROOT costs (import, C++ declare, the first file's JIT), then per format
and compression the write time (best of ``--repeat``), MB/s of in-memory payload, events/s,
clustered cells/s, the file size, and the uproot read-back time of every EventTree branch
(best of ``--repeat``), and at the end the peak RSS. Asserts nothing about time.

    python benchmarks/bench_writer.py [--input FILE] [--events 100] [--repeat 3] [--seed 1]
        [--formats ttree,rntuple] [--codecs zlib,lz4,zstd]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import awkward as ak
import numpy as np

from jetpointnet.io import _ttree_filler
from jetpointnet.io.mltree_layout import (
    CELL_GEO_BRANCHES,
    CELL_GEO_TREE,
    EVENT_BRANCHES,
    EVENT_TREE,
)
from jetpointnet.io.mltree_writer import read_tree_arrays, write_mltree

MEANS = {"truth": 600, "track": 50, "cluster": 30}
CELLS_PER_CLUSTER = 100
CONTRIBUTORS_PER_CELL = 2
GEOMETRY_CELLS = 187_652


def _values(rng: np.random.Generator, dtype: type, size: int) -> np.ndarray:
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        return rng.integers(0, 1 << 20, size).astype(dtype)
    return rng.normal(10.0, 5.0, size).astype(dtype)  # float32 noise: compresses like data


def make_chunk(events: int, seed: int) -> tuple[dict, dict, int, int]:
    """(events, geometry, clustered cells, payload bytes) for a synthetic chunk."""
    rng = np.random.default_rng(seed)
    per_event = {key: rng.poisson(mean, events) for key, mean in MEANS.items()}
    cells = rng.poisson(CELLS_PER_CLUSTER, int(per_event["cluster"].sum()))
    contributors = rng.poisson(CONTRIBUTORS_PER_CELL, int(cells.sum()))
    chunk: dict = {}
    payload = 0
    for name, (dtype, depth) in EVENT_BRANCHES.items():
        family = next((key for key in MEANS if name.lower().startswith(key)), "cluster")
        counts = [per_event[family], cells, contributors][:depth]
        flat = _values(rng, dtype, int(counts[-1].sum()) if depth else events)
        payload += flat.nbytes + sum(8 * (len(c) + 1) for c in counts)
        value = flat
        for level in reversed(counts):
            value = ak.unflatten(value, level)
        chunk[name] = value
    geometry = {name: _values(rng, t, GEOMETRY_CELLS) for name, t in CELL_GEO_BRANCHES.items()}
    payload += sum(v.nbytes for v in geometry.values())
    return chunk, geometry, int(cells.sum()), payload


def load_file(path: Path) -> tuple[dict, dict, int, int]:
    """(events, geometry, clustered cells, payload bytes) read from an MLTree file."""
    events = read_tree_arrays(path, EVENT_TREE)
    geometry = {
        name: np.asarray(ak.flatten(values, axis=None))
        for name, values in read_tree_arrays(path, CELL_GEO_TREE).items()
    }
    payload = sum(ak.to_packed(ak.Array(v)).layout.nbytes for v in events.values())
    payload += sum(v.nbytes for v in geometry.values())
    n_cells = int(ak.sum(ak.num(events["cluster_cell_ID"], axis=2)))
    return events, geometry, n_cells, payload


def _best_of(repeat: int, action) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--input", type=Path, default=None, help="an MLTree file to rewrite")
    parser.add_argument("--formats", default="ttree,rntuple")
    parser.add_argument("--codecs", default="zlib,lz4,zstd", help="write_mltree compressions")
    args = parser.parse_args()

    start = time.perf_counter()
    if args.input is not None:
        chunk, geometry, n_cells, payload = load_file(args.input)
        source = f"{args.input.name}"
    else:
        chunk, geometry, n_cells, payload = make_chunk(args.events, args.seed)
        source = "synthetic"
    n_events = len(chunk["eventNumber"])
    print(
        f"chunk ({source}): {n_events} events, {n_cells:,} clustered cells, "
        f"{len(geometry['cell_geo_ID']):,} CellGeo cells, payload {payload / 1e6:.1f} MB "
        f"(built in {time.perf_counter() - start:.1f} s)"
    )

    start = time.perf_counter()
    _ttree_filler.import_root()
    print(f"ROOT import: {time.perf_counter() - start:.2f} s")
    print(f"C++ filler declare: {_ttree_filler.declare_filler():.2f} s")

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.root"
        geo_only, empty = Path(tmp) / "geometry.root", {"eventNumber": np.zeros(0, np.int64)}
        start = time.perf_counter()
        write_mltree(out, chunk, geometry, fmt="ttree", overwrite=True)
        print(
            f"first TTree file (includes JIT of every branch type): "
            f"{time.perf_counter() - start:.2f} s"
        )
        print(
            f"{'format':8} {'compr.':8} {'write s':>8} {'MB/s':>7} {'events/s':>9} "
            f"{'Mcells/s':>9} {'file MB':>8} {'CellGeo MB':>10} {'kB/event':>8} {'read s':>7} "
            f"{'read MB/s':>9}"
        )
        for fmt in args.formats.split(","):
            for compression in args.codecs.split(","):
                best = _best_of(
                    args.repeat,
                    lambda fmt=fmt, compression=compression: write_mltree(
                        out, chunk, geometry, fmt=fmt, compression=compression, overwrite=True
                    ),
                )
                read = _best_of(args.repeat, lambda: read_tree_arrays(out, EVENT_TREE))
                size = out.stat().st_size
                write_mltree(geo_only, empty, geometry, fmt=fmt, compression=compression,
                             overwrite=True)  # fmt: skip
                geo_size = geo_only.stat().st_size
                print(
                    f"{fmt:8} {compression:8} {best:8.2f} {payload / best / 1e6:7.1f} "
                    f"{n_events / best:9.0f} {n_cells / best / 1e6:9.2f} {size / 1e6:8.1f} "
                    f"{geo_size / 1e6:10.1f} {(size - geo_size) / n_events / 1e3:8.1f} "
                    f"{read:7.2f} {payload / read / 1e6:9.1f}"
                )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
