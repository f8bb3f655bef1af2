"""``jetpointnet display``: event display of one sample, true vs predicted focal energy."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "display"
HELP = "event display (eta-phi per layer, 3-D, optional HTML) of one sample of a split"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, type=Path, help="run folder of 'jetpointnet train'")
    parser.add_argument("--data", required=True, type=Path, help="preprocess output folder")
    parser.add_argument("--sample", required=True, type=int, help="sample index in the split")
    parser.add_argument("--split", default="test", help="split (default test)")
    parser.add_argument("--out", type=Path, help="output folder (default RUN/displays)")
    parser.add_argument("--html", action="store_true", help="also write the interactive HTML")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from jetpointnet.evaluation.display import display_sample

    out = args.out or args.run / "displays"
    for path in display_sample(
        args.run,
        args.data,
        args.sample,
        split=args.split,
        out_dir=out,
        html=args.html,
        progress=not args.quiet,
    ):
        print(path)
    return 0
