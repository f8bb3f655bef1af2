"""Benchmark of ``jetpointnet simulate`` on JZ2 dijets, one core.

Prints, in one run: accepted JZ2 events/s for the whole chain (Pythia with the JZ filter,
calorimeter, clustering, writing) and for Pythia alone producing the same accepted events
(same seed), the time split between the stages, bytes per event, and the peak RSS.

    python benchmarks/bench_simulate.py [--events 200] [--format ttree]
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

from jetpointnet.simulate.generators import make_source
from jetpointnet.simulate.run import SimulateConfig, _simulate_chunk, simulate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=200)
    ap.add_argument("--preset", default="dijet-jz2")
    ap.add_argument("--format", default="ttree", choices=("ttree", "rntuple"))
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        cfg = SimulateConfig(preset=args.preset, events=args.events, seed=args.seed, out=Path(tmp),
                             events_per_file=args.events, format=args.format)  # fmt: skip
        # warm-up: geometry, material tables, the ROOT C++ filler (once per process)
        warm = SimulateConfig(preset=args.preset, events=2, seed=args.seed + 1, out=Path(tmp) / "warm",
                              events_per_file=2, format=args.format)  # fmt: skip
        simulate(warm, progress=False)
        cfg.out.mkdir(exist_ok=True)
        t0 = time.perf_counter()
        path, st = _simulate_chunk(cfg, 0, 0, args.events)
        wall = time.perf_counter() - t0
        size = Path(path).stat().st_size

    # Pythia alone: the same source, seed and filter, producing the same accepted events
    src = iter(make_source(cfg.source_options(), seed=cfg.seed * 100_003 + 0))
    t0 = time.perf_counter()
    tried = sum(next(src).n_tried for _ in range(args.events))
    pythia_wall = time.perf_counter() - t0

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = {
        "preset": args.preset,
        "events": args.events,
        "generated_per_accepted": tried / args.events,
        "chain_events_per_s": args.events / wall,
        "pythia_alone_events_per_s": args.events / pythia_wall,
        "chain_over_pythia": wall / pythia_wall,
        "split_s_per_event": {
            "generator+filter": st["time_generator"] / args.events,
            "detector (showers, noise, clustering, tracks)": st["time_detector"] / args.events,
            "write": st["time_write"] / args.events,
        },
        "bytes_per_event": size / args.events,
        "peak_rss_mb": rss,
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
