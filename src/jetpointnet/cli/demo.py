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
    p.add_argument(
        "--workers",
        type=int,
        help="parallel processes per stage (default 2; 1 with --quick, whose samples are too "
        "small for a second process to pay back its start-up)",
    )
    p.add_argument(
        "--min-jets",
        type=int,
        default=20,
        help="no jet resolution on the index page for a truth-pT bin with fewer matched jets "
        "(default 20)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from jetpointnet.errors import UserError
    from jetpointnet.workflows.demo import DemoConfig, run_demo

    if args.min_jets < 1:
        raise UserError(f"--min-jets must be >= 1, got {args.min_jets}")
    cfg = DemoConfig(
        out=args.out, quick=args.quick, seed=args.seed, workers=args.workers, min_jets=args.min_jets
    )
    report = run_demo(cfg, progress=not args.quiet)
    print(f"demo finished: open {report}")
    return 0
