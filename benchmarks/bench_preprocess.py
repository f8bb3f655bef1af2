"""Benchmark ``jetpointnet preprocess`` on simulated dijet-jz3 events (prints figures only).

Measures, in one run: points/s, samples/s and events/s per worker for stage 1 and stage 2,
peak RSS per worker, bytes on disk per sample for the ragged and padded layouts (and
compressed ragged), the ratio of preprocessing time to the I/O floor (reading the same
branches with uproot + writing the same arrays uncompressed), and the speed-up from 1 to 2
workers. Asserts nothing about time. On shared machines the absolute times are noisy:
``--repeat N`` measures both stages (1 and 2 workers) and the floor N times in turn and
prints each repeat's ratios, from wall time and from CPU time (user + sys of all the
processes; less sensitive to other load than wall time).

    python benchmarks/bench_preprocess.py --events 2000            # simulates first
    python benchmarks/bench_preprocess.py --input 'data/*.root'    # existing MLTree files
"""

from __future__ import annotations

import argparse
import glob
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _simulate(events: int, seed: int, cache: Path) -> list[Path]:
    from jetpointnet.simulate.run import SimulateConfig, simulate

    out = cache / f"dijet-jz3-{events}-{seed}"
    t0 = time.perf_counter()
    files = simulate(
        SimulateConfig(
            preset="dijet-jz3",
            events=events,
            seed=seed,
            out=out,
            workers=2,
            events_per_file=max(events, 1),
        ),
        progress=True,
    )
    print(f"simulated {events} dijet-jz3 events in {time.perf_counter() - t0:.0f} s -> {out}")
    return files


_WRAP = (
    "import json, resource, sys\n"
    "from jetpointnet.cli import main\n"
    "rc = main(sys.argv[2:])\n"
    "peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,\n"
    "           resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "open(sys.argv[1], 'w').write(json.dumps(peak))\n"
    "sys.exit(rc)\n"
)


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _cli(args: list[str]) -> tuple[float, float, float]:
    """Run the CLI in a fresh child: (wall s, peak RSS in MB of its largest process,
    CPU s of the child and its workers)."""
    report = Path(tempfile.mkstemp(suffix=".json")[1])
    cpu0 = _children_cpu()
    t0 = time.perf_counter()
    cmd = [sys.executable, "-c", _WRAP, str(report), "preprocess", "--no-progress", *args]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    cpu = _children_cpu() - cpu0
    peak_kb = float(report.read_text())
    report.unlink()
    return wall, peak_kb / 1024.0, cpu


def _io_floor(files: list[Path], out: Path, chunk: int) -> tuple[float, float]:
    """Seconds (wall, CPU) to read the stage-1 branches of all events and write the
    stage-2 arrays uncompressed."""
    from jetpointnet.data.samples import EVENT_BRANCHES_OPTIONAL, EVENT_BRANCHES_REQUIRED
    from jetpointnet.io.mltree_reader import EventFile, inspect_mltree
    from jetpointnet.io.sample_files import read_npz, write_npz

    t0, c0 = time.perf_counter(), time.process_time()
    for f in files:
        n = inspect_mltree(f).num_entries
        with EventFile(f) as ef:
            for start in range(0, n, chunk):
                ef.read(
                    EVENT_BRANCHES_REQUIRED,
                    optional=EVENT_BRANCHES_OPTIONAL,
                    entry_start=start,
                    entry_stop=min(start + chunk, n),
                )
    t_read, c_read = time.perf_counter() - t0, time.process_time() - c0
    t_plain = _plain_uproot_read(files, chunk)
    arrays = [read_npz(p) for p in sorted((out / "arrays").rglob("*.npz"))]
    tmp = Path(tempfile.mkdtemp())
    t0, c0 = time.perf_counter(), time.process_time()
    for i, a in enumerate(arrays):
        write_npz(tmp / f"{i}.npz", a)
    t_write, c_write = time.perf_counter() - t0, time.process_time() - c0
    shutil.rmtree(tmp)
    print(
        f"I/O floor: read {t_read:.2f} s + write {t_write:.2f} s "
        f"(CPU {c_read:.2f} s + {c_write:.2f} s); the same read through uproot's own "
        f"tree.arrays {t_plain:.2f} s (not in the floor)"
    )
    return t_read + t_write, c_read + c_write


def _plain_uproot_read(files: list[Path], chunk: int) -> float:
    """Seconds to read the same branches and ranges with ``tree.arrays`` alone: the floor
    reads through jetpointnet's reader, whose nested-vector join is faster than uproot's."""
    import uproot

    from jetpointnet.data.samples import EVENT_BRANCHES_OPTIONAL, EVENT_BRANCHES_REQUIRED
    from jetpointnet.io.mltree_layout import EVENT_TREE

    t0 = time.perf_counter()
    for f in files:
        with uproot.open(f) as root_file:
            tree = root_file[EVENT_TREE]
            have = set(tree.keys())
            names = [b for b in (*EVENT_BRANCHES_REQUIRED, *EVENT_BRANCHES_OPTIONAL) if b in have]
            for start in range(0, tree.num_entries, chunk):
                tree.arrays(names, library="ak", entry_start=start, entry_stop=start + chunk)
    return time.perf_counter() - t0


def _layout_sizes(out: Path, length: int) -> dict[str, float]:
    """Bytes per sample for ragged, padded and compressed ragged (same samples, same L)."""
    from jetpointnet.data.arrays import build_arrays
    from jetpointnet.data.config import ArraysConfig
    from jetpointnet.io.prep_folder import stage_files
    from jetpointnet.io.sample_files import read_samples, write_npz

    tmp = Path(tempfile.mkdtemp())
    sizes = {"ragged": 0, "padded": 0, "ragged+zip": 0}
    n = 0
    for i, src in enumerate(stage_files(out, stage="samples")):
        s = read_samples(src)
        for name, cfg, compress in (
            ("ragged", ArraysConfig(), False),
            ("padded", ArraysConfig(layout="padded"), False),
            ("ragged+zip", ArraysConfig(), True),
        ):
            a, _ = build_arrays(s, config=cfg, length=length)
            dst = write_npz(tmp / f"{name}-{i}.npz", a, compress=compress)
            sizes[name] += dst.stat().st_size
        n += len(a["n_points"])
    shutil.rmtree(tmp)
    return {k: v / max(n, 1) for k, v in sizes.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--input", help="existing MLTree file(s) (glob) instead of simulating")
    ap.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "jpn-bench"))
    ap.add_argument("--events-per-chunk", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=1, help="repeats of the timed runs")
    args = ap.parse_args()

    cache = Path(args.cache)
    files = (
        [Path(p) for p in sorted(glob.glob(args.input))]
        if args.input
        else _simulate(args.events, args.seed, cache)
    )
    inp = [a for f in files for a in ("--input", str(f))]
    work = Path(tempfile.mkdtemp(prefix="jpn-bench-"))
    chunk = ["--set", f"events_per_chunk={args.events_per_chunk}"]

    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import jetpointnet.data.preprocess"], check=True)
    startup = time.perf_counter() - t0
    print(f"interpreter + import start-up: {startup:.2f} s (included in the times below)")
    out1 = work / "w1"
    t1, rss1, _ = _cli([*inp, "--out", str(out1), *chunk, "--stage", "samples"])
    t2, rss2, _ = _cli([*inp, "--out", str(out1), *chunk, "--stage", "arrays"])
    from jetpointnet.io.prep_folder import read_metadata

    meta = read_metadata(out1)
    c = meta["counts"]
    events = sum(v["events"] for v in c.values())
    samples1 = sum(v["stage1_samples"] for v in c.values())
    points_out = sum(v["points"] for v in c.values())
    samples2 = sum(v["samples"] for v in c.values())
    runs = []
    for k in range(args.repeat):
        for d in ("a1", "a2"):
            shutil.rmtree(work / d, ignore_errors=True)
        all1 = _cli([*inp, "--out", str(work / "a1"), *chunk, "--workers", "1"])
        all2 = _cli([*inp, "--out", str(work / "a2"), *chunk, "--workers", "2"])
        floor = _io_floor(files, out1, args.events_per_chunk)
        runs.append((all1, all2, floor))
        print(
            f"repeat {k + 1}: time / I/O floor {all1[0] / floor[0]:.2f} (wall), "
            f"{all1[2] / floor[1]:.2f} (CPU); speed-up 1 -> 2 workers {all1[0] / all2[0]:.2f}; "
            f"CPU 2 workers / 1 worker {all2[2] / all1[2]:.2f}"
        )
    (t_all1, _, cpu1), (t_all2, rss_w2, _), (floor_wall, floor_cpu) = runs[-1]
    sizes = _layout_sizes(out1, meta["length"])
    in_bytes = sum(f.stat().st_size for f in files)
    print(
        f"\ninput: {len(files)} file(s), {in_bytes / 1e6:.1f} MB, {events} events; "
        f"L = {meta['length']}; samples stage 1 {samples1}, stage 2 {samples2}; "
        f"output points {points_out}"
    )
    print(
        "stage 1 (1 worker): "
        f"{points_out / t1:,.0f} points/s, {samples1 / t1:,.0f} samples/s, "
        f"{events / t1:,.1f} events/s, {t1:.1f} s, peak RSS {rss1:.0f} MB"
    )
    print(
        "stage 2 (1 worker): "
        f"{points_out / t2:,.0f} points/s, {samples2 / t2:,.0f} samples/s, "
        f"{events / t2:,.1f} events/s, {t2:.1f} s, peak RSS {rss2:.0f} MB"
    )
    print(
        f"both stages, 1 worker: {points_out / t_all1:,.0f} points/s, {t_all1:.1f} s "
        "(includes start-up and input hashing)"
    )
    print(
        f"speed-up 1 -> 2 workers: {t_all1 / t_all2:.2f} ({t_all1:.1f} s -> {t_all2:.1f} s), "
        f"peak RSS of a worker {rss_w2:.0f} MB"
    )
    print(
        f"time / I/O floor: {t_all1 / floor_wall:.2f} ({t_all1:.1f} s vs {floor_wall:.1f} s); "
        f"CPU: {cpu1 / floor_cpu:.2f} ({cpu1:.1f} s vs {floor_cpu:.1f} s)"
    )
    if args.repeat > 1:
        ratios = np.array([[a[0] / f[0], a[2] / f[1], a[0] / b[0]] for a, b, f in runs])
        lo, hi = ratios.min(axis=0), ratios.max(axis=0)
        print(
            f"over {args.repeat} repeats: time / floor {lo[0]:.2f}-{hi[0]:.2f} (wall), "
            f"{lo[1]:.2f}-{hi[1]:.2f} (CPU); speed-up 1 -> 2 workers {lo[2]:.2f}-{hi[2]:.2f}"
        )
    print(
        "bytes per sample: "
        + ", ".join(f"{k} {v:,.0f}" for k, v in sizes.items())
        + f" (padded / ragged = {sizes['padded'] / max(sizes['ragged'], 1):.1f})"
    )
    med = np.median([v["points"] / max(v["samples"], 1) for v in c.values() if v["samples"]])
    print(f"mean points per sample (median over splits): {med:.0f}")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
