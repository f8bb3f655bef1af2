"""``jetpointnet pflow-templates``: measure <E/p> and ring-profile templates on single pions.

eflowRec-like templates need at least 20,000 matched pion tracks (``jetpointnet simulate
--preset gun --particle pi+ --energy-range 1 100 --events 30000`` gives about 21,000); with
fewer the command warns in one line, and the file says so too (``warning``).
"""

from __future__ import annotations

import argparse
import glob
import sys
from pathlib import Path

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "pflow-templates"
HELP = "measure particle-flow templates (<E/p>, sigma, ring profiles) from single-pion files"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--input",
        action="append",
        required=True,
        metavar="GLOB",
        help="pion-gun MLTree ROOT files (glob in quotes; repeatable) or one "
        "folder made by 'jetpointnet preprocess'",
    )
    parser.add_argument("--out", required=True, type=Path, help="templates JSON file to write")
    parser.add_argument(
        "--min-count", type=int, default=10, help="tracks a bin needs to be used (default 10)"
    )
    parser.add_argument("--workers", type=int, default=1, help="preprocess worker processes")
    parser.add_argument("--no-plot", action="store_true", help="skip the <E/p> comparison plot")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing file")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from jetpointnet.errors import UserError
    from jetpointnet.evaluation.pflow.build import build_templates, write_templates
    from jetpointnet.io.paths import refuse_overlap

    refuse_overlap([p for g in args.input for p in (glob.glob(g) or [g])], args.out)
    if args.out.is_dir():
        raise UserError(f"{args.out}: is a folder; give the templates FILE.json to write")
    from jetpointnet.io.atomic import remove_stale_partials

    remove_stale_partials(args.out.parent, stem=args.out.stem)
    if args.out.exists() and not args.overwrite:
        raise UserError(f"{args.out}: exists (pass --overwrite to replace it)")
    tpl = build_templates(
        args.input, min_count=args.min_count, workers=args.workers, progress=not args.quiet
    )
    n = int(tpl.count.sum())
    if n == 0:
        raise UserError(f"{', '.join(args.input)}: no single-track event with a matched cluster")
    for path in write_templates(tpl, args.out, overwrite=args.overwrite, plot=not args.no_plot):
        print(path)
    print(f"{n} tracks used, {tpl.n_unmatched} without a matched cluster")
    if tpl.warning:
        print(f"warning: {tpl.warning}", file=sys.stderr)
    return 0
