"""``jetpointnet jets``: particle-flow jets and their response against truth jets."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "jets"
HELP = (
    "event-level particle flow, anti-kt jets, jet response vs truth (calo, classical, ml, ceilings)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--input", required=True, nargs="+", help="MLTree ROOT files (glob patterns allowed)"
    )
    parser.add_argument(
        "--run", action="append", default=[], type=Path, metavar="RUN",
        help="run folder of `train` for the ml algorithm (repeatable: one curve per run)",
    )  # fmt: skip
    parser.add_argument(
        "--algorithm", action="append", metavar="ALGO",
        choices=["calo", "classical", "ml", "oracle", "oracle-calibrated", "target",
                 "target-visible"],
        help="calo, classical, ml, or the ceilings oracle (perfect attribution of every "
        "track's true deposits) and oracle-calibrated (also every neutral remnant at its "
        "true energy); repeatable; default: all, ml when --run is given, the ceilings when "
        "the inputs have truth; on request (not in the default) target: event-level "
        "particle flow with perfect targets (neutrals at true energy), target-visible: the "
        "same with neutrals at their visible deposit (docs/contracts/event.md)",
    )  # fmt: skip
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument(
        "--templates", type=Path, help="classical templates JSON (default: eflowRec values)"
    )
    parser.add_argument("--geometry", type=Path, help="file with the CellGeo tree, if needed")
    parser.add_argument("--radius", type=float, default=0.4, help="anti-kt R (default 0.4)")
    parser.add_argument("--min-pt", type=float, default=20.0, help="truth-jet pT cut, GeV")
    parser.add_argument("--max-eta", type=float, default=2.5, help="truth-jet |eta| cut")
    parser.add_argument(
        "--reco-min-pt", type=float, default=5.0, help="reco jets kept for matching, GeV"
    )
    parser.add_argument(
        "--match-dr", type=float, default=0.2, help="truth-reco matching Delta-R (0.1 or 0.2)"
    )
    parser.add_argument(
        "--chs", choices=["auto", "on", "off"], default="auto",
        help="drop pile-up tracks from the constituents (auto: in events with pile-up)",
    )  # fmt: skip
    parser.add_argument(
        "--claim", choices=["expected", "threshold"], default="expected",
        help="classifier claim on a cell: p x E (expected) or E where p > 0.5 (threshold)",
    )  # fmt: skip
    parser.add_argument(
        "--ml-max-pt", type=float, metavar="GEV",
        help="ml: tracks above this pT are left to the calorimeter (eflowRec: 40)",
    )  # fmt: skip
    parser.add_argument(
        "--oracle", action="store_true",
        help="also 'oracle:RUN' per run: its samples with the true focal energies as claims",
    )  # fmt: skip
    parser.add_argument("--checkpoint", default="best", help="best, last or a .pt file")
    parser.add_argument("--events-per-chunk", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap errors")
    parser.add_argument("--overwrite", action="store_true", help="replace existing results")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from jetpointnet.jets.run import ALGORITHMS, JetsConfig, run_jets

    cfg = JetsConfig(
        algorithms=list(dict.fromkeys(args.algorithm)) if args.algorithm else list(ALGORITHMS),
        radius=args.radius,
        min_pt=args.min_pt,
        max_abs_eta=args.max_eta,
        reco_min_pt=args.reco_min_pt,
        match_dr=args.match_dr,
        chs=args.chs,
        claim=args.claim,
        ml_max_pt=args.ml_max_pt,
        oracle=args.oracle,
        checkpoint=args.checkpoint,
        events_per_chunk=args.events_per_chunk,
        seed=args.seed,
    )
    result = run_jets(
        args.input, args.out, runs=args.run, config=cfg, templates=args.templates,
        geometry=args.geometry, overwrite=args.overwrite, progress=not args.quiet,
    )  # fmt: skip
    if not args.quiet:
        s = result.summary
        print(f"{result.out}/report.html: {s['events']} events, algorithms {s['algorithms']}")
        for algo, table in s["response"].items():
            cells = ", ".join(
                f"{r['bin']}: {r['e']['q68']:.3f}" for r in table if r["n_truth"] >= 1
            )
            print(f"  {algo}: jet-energy resolution (q68) {cells}")
    return 0
