"""Benchmark of ``jetpointnet simulate`` on JZ2 dijets against its floor, Pythia alone.

Prints, in one run (JSON): the wall time of the whole chain (Pythia with the JZ filter,
calorimeter, clustering, writing) and of Pythia alone producing the same accepted events
(same seed, same filter), both in a fresh process and start-up included, and their ratio;
``--repeat`` pairs (chain and floor run back to back, the order alternating) give the
spread on a shared machine. Then the chain's split per event (generator, showers, noise,
clustering, splitting, cell truth, tracks, writing), the start-up costs (Python imports,
ROOT import, the first TTree file, geometry, Pythia's initialisation), bytes per event,
and with ``--scaling`` events/s per core on 1 and 2 workers.

    python benchmarks/bench_simulate.py [--events 300] [--repeat 2] [--scaling]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Pythia alone: the chain's generator for chunk 0 (seed * 100_003), start-up included
_FLOOR = """
import sys
from jetpointnet.simulate.generators import make_source
from jetpointnet.simulate.run import SimulateConfig
cfg = SimulateConfig(preset=sys.argv[1], events=1, seed=int(sys.argv[2]), out='.')
src = iter(make_source(cfg.source_options(), seed=cfg.seed * 100_003))
for _ in range(int(sys.argv[3])):
    next(src)
"""

# the whole chain as `jetpointnet simulate` runs it, one file
_CHAIN = """
import sys
from jetpointnet.simulate.run import SimulateConfig, simulate
n = int(sys.argv[3])
simulate(SimulateConfig(preset=sys.argv[1], events=n, seed=int(sys.argv[2]), out=sys.argv[4],
                        events_per_file=-(-n // int(sys.argv[5])), workers=int(sys.argv[6]),
                        format=sys.argv[7]), progress=False)
"""

# start-up costs, each measured in this order in one fresh process
_STARTUP = """
import json, sys, tempfile, time
from pathlib import Path
T = time.perf_counter
out = {}
t = T(); import numpy, awkward, scipy.sparse; out["import numpy, awkward, scipy"] = T() - t
t = T(); from jetpointnet.simulate import run, detector; out["import jetpointnet.simulate"] = T() - t
t = T(); from jetpointnet.io import _ttree_filler; _ttree_filler.import_root()
out["import ROOT"] = T() - t
t = T(); from jetpointnet.simulate.geometry import build_geometry
from jetpointnet.simulate.material import material_table
build_geometry(); material_table(); out["geometry + material"] = T() - t
t = T(); from jetpointnet.simulate.generators import make_source
cfg = run.SimulateConfig(preset=sys.argv[1], events=2, seed=1, out=Path(tempfile.mkdtemp()),
                         events_per_file=2, format=sys.argv[2])
make_source(cfg.source_options(), seed=1); out["Pythia initialisation"] = T() - t
(cfg.out / run.CHUNKS).mkdir()
first = run._simulate_chunk(cfg, 0, 0, 2)[1]["time_write"]
second = run._simulate_chunk(cfg, 0, 0, 2)[1]["time_write"]
out["first TTree file (declare + JIT), beyond a later one"] = first - second
print(json.dumps(out))
"""


def _timed(code: str, *args: object) -> float:
    """Wall seconds of ``python -c code args`` (interpreter start-up included)."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, *map(str, args)], check=True)
    return time.perf_counter() - t0


def _chain(
    args: argparse.Namespace, tmp: Path, *, files: int = 1, workers: int = 1
) -> tuple[float, dict, int]:
    """(wall s, simulate_stats.json, bytes written) of one chain run into a new folder."""
    out = Path(tempfile.mkdtemp(dir=tmp))
    wall = _timed(_CHAIN, args.preset, args.seed, args.events, out, files, workers, args.format)
    stats = json.loads((out / "simulate_stats.json").read_text())
    size = sum(p.stat().st_size for p in out.glob("*.root"))
    return wall, stats, size


def _split(stats: dict, events: int) -> dict[str, float]:
    """ms per event of each stage of the chain, from its statistics."""
    from jetpointnet.simulate.detector import STAGES

    split = {"generator + filter": stats["time_generator"]}
    split.update({k: stats[f"time_{k}"] for k in STAGES})
    split["parents + record"] = stats["time_detector"] - sum(stats[f"time_{k}"] for k in STAGES)
    split["stack + write"] = stats["time_write"]
    return {k: round(1e3 * v / events, 2) for k, v in split.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=300)
    ap.add_argument("--preset", default="dijet-jz2")
    ap.add_argument("--format", default="ttree", choices=("ttree", "rntuple"))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=2, help="chain / floor pairs (default 2)")
    ap.add_argument("--scaling", action="store_true", help="also 1 and 2 workers, 2 files")
    args = ap.parse_args()

    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeat):
            if r % 2:  # alternate the order: a load change on a shared machine hits both
                floor = _timed(_FLOOR, args.preset, args.seed, args.events)
                chain, stats, size = _chain(args, Path(tmp))
            else:
                chain, stats, size = _chain(args, Path(tmp))
                floor = _timed(_FLOOR, args.preset, args.seed, args.events)
            runs.append({"chain_s": round(chain, 2), "pythia_alone_s": round(floor, 2),
                         "ratio": round(chain / floor, 3),
                         "split_ms_per_event": _split(stats, args.events)})  # fmt: skip
        startup = subprocess.run(
            [sys.executable, "-c", _STARTUP, args.preset, args.format],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        scaling = {}
        if args.scaling:
            for workers in (1, 2):  # the same two files, one after the other or side by side
                wall = _chain(args, Path(tmp), files=2, workers=workers)[0]
                scaling[f"{workers} worker(s): events/s per core"] = round(
                    args.events / wall / workers, 2
                )

    ratios = [r["ratio"] for r in runs]
    out = {
        "preset": args.preset,
        "events": args.events,
        "generated_per_accepted": stats["generated"] / args.events,
        "chain_over_pythia_alone": ratios,
        "chain_over_pythia_alone_median": sorted(ratios)[len(ratios) // 2],
        "runs": runs,
        "startup_s": {k: round(v, 3) for k, v in json.loads(startup).items()},
        "bytes_per_event": round(size / args.events),
        **({"scaling": scaling} if scaling else {}),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
