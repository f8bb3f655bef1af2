"""``jetpointnet compare``: one table of several runs or evaluations (Markdown and CSV)."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "compare"
HELP = "compare runs or evaluations on the same split: a Markdown and CSV table"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="RUN_OR_EVAL",
        help="run folders, evaluation folders or metrics.json files",
    )
    parser.add_argument("--out", type=Path, help="write OUT.md and OUT.csv")
    parser.add_argument("--overwrite", action="store_true", help="replace existing files")


def run(args: argparse.Namespace) -> int:
    from jetpointnet.evaluation.compare import compare

    markdown, _ = compare(args.inputs, out=args.out, overwrite=args.overwrite)
    print(markdown, end="")
    if args.out:
        print(f"written: {args.out.with_suffix('.md')}, {args.out.with_suffix('.csv')}")
    return 0
