"""Benchmark of the MLTree writer: a synthetic chunk shaped like dijet events, both formats.

Per event (Poisson means): 30 clusters, 3,000 clustered cells, 2 truth contributors per
cell, 50 tracks, 600 truth particles; every EventTree branch of the layout and a CellGeo
tree of 187,652 cells (ATLAS's count). Prints the one-off ROOT costs (import, C++ declare,
the first file's JIT), then per format and compression the write time (best of
``--repeat``), MB/s of in-memory payload, clustered cells/s, the file size, the uproot
read-back time, and at the end the peak RSS. Asserts nothing about time.

    python benchmarks/bench_writer.py [--events 100] [--repeat 3] [--seed 1]
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
from jetpointnet.io.mltree_layout import CELL_GEO_BRANCHES, EVENT_BRANCHES, EVENT_TREE
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    start = time.perf_counter()
    chunk, geometry, n_cells, payload = make_chunk(args.events, args.seed)
    print(
        f"chunk: {args.events} events, {n_cells:,} clustered cells, payload "
        f"{payload / 1e6:.1f} MB (built in {time.perf_counter() - start:.1f} s)"
    )

    start = time.perf_counter()
    _ttree_filler.import_root()
    print(f"ROOT import: {time.perf_counter() - start:.2f} s")
    print(f"C++ filler declare: {_ttree_filler.declare_filler():.2f} s")

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.root"
        start = time.perf_counter()
        write_mltree(out, chunk, geometry, fmt="ttree", overwrite=True)
        print(
            f"first TTree file (includes JIT of every branch type): "
            f"{time.perf_counter() - start:.2f} s"
        )
        print(
            f"{'format':8} {'compr.':7} {'write s':>8} {'MB/s':>7} {'Mcells/s':>9} "
            f"{'file MB':>8} {'read s':>7}"
        )
        for fmt in ("ttree", "rntuple"):
            for compression in ("lz4", "zstd", "zlib"):
                times = []
                for _ in range(args.repeat):
                    start = time.perf_counter()
                    write_mltree(
                        out, chunk, geometry, fmt=fmt, compression=compression, overwrite=True
                    )
                    times.append(time.perf_counter() - start)
                best = min(times)
                start = time.perf_counter()
                read_tree_arrays(out, EVENT_TREE)
                read = time.perf_counter() - start
                print(
                    f"{fmt:8} {compression:7} {best:8.2f} {payload / best / 1e6:7.1f} "
                    f"{n_cells / best / 1e6:9.2f} {out.stat().st_size / 1e6:8.1f} {read:7.2f}"
                )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
