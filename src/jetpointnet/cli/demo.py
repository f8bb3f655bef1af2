"""``jetpointnet demo``: the whole chain on the embedded default data, ending in a report."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "demo"
HELP = "run the demo chain on simulated data and write a report (about 10 minutes on 2 cores)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--out", type=Path, default=Path("demo-output"), help="output folder (default demo-output)"
    )
    p.add_argument(
        "--quick", action="store_true", help="a small smoke run (fewer events, tiny model)"
    )
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--workers", type=int, default=1, help="parallel processes for simulation")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from jetpointnet.workflows.demo import DemoConfig, run_demo

    report = run_demo(
        DemoConfig(out=args.out, quick=args.quick, seed=args.seed, workers=args.workers),
        progress=not args.quiet,
    )
    print(f"demo finished: open {report}")
    return 0
