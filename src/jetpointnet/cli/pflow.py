"""``jetpointnet pflow``: the classical particle-flow algorithm on a split, scored."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "pflow"
HELP = "run the classical ATLAS particle-flow algorithm on preprocessed samples and score it"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, type=Path, help="preprocess output folder")
    parser.add_argument(
        "--templates",
        type=Path,
        help="templates JSON of 'pflow-templates' (default: eflowRec values)",
    )
    parser.add_argument("--split", default="test", help="split (default test)")
    parser.add_argument(
        "--max-pt",
        type=float,
        default=100.0,
        help="upper track-pT cut in GeV (default 100, eflowRec's; the 2017 paper used 40)",
    )
    parser.add_argument("--out", type=Path, help="output folder (default ./pflow-SPLIT)")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier output")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from jetpointnet.errors import UserError
    from jetpointnet.evaluation.evaluate import CLASSICAL, EvaluateConfig, evaluate_predictions
    from jetpointnet.evaluation.pflow.event import PflowParams

    if not args.max_pt > PflowParams.min_pt:
        raise UserError(
            f"--max-pt {args.max_pt}: must exceed the {PflowParams.min_pt} GeV lower cut"
        )
    out = args.out or Path(f"pflow-{args.split}")
    metrics = evaluate_predictions(
        {},
        args.data,
        split=args.split,
        out_dir=out,
        templates=args.templates,
        progress=not args.quiet,
        cfg=EvaluateConfig(displays=[], pflow_params=PflowParams(max_pt=args.max_pt)),
        overwrite=args.overwrite,
    )
    m = metrics["models"].get(CLASSICAL)
    if m is None:
        print("classical algorithm not run: " + "; ".join(metrics["notes"]))
        return 1
    t = m["track"]["inclusive"]
    left = m["track"].get("left_to_calorimeter", {})
    print(
        f"classical pflow: F1 {m['cell']['f1']:.3f}, response {t['response']}, "
        f"resolution68 {t['resolution_68']} on {t['n_tracks']} subtracted tracks; left to the "
        "calorimeter: " + ", ".join(f"{k} {v['n_tracks']}" for k, v in left.items())
    )
    print(f"report: {out / 'report.html'}")
    return 0
