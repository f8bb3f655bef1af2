"""``jetpointnet evaluate``: metrics, baselines, classical particle flow, plots, report."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "evaluate"
HELP = "evaluate a trained run on a split: metrics.json, plots, report.html"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, type=Path, help="run folder of 'jetpointnet train'")
    parser.add_argument("--data", required=True, type=Path, help="preprocess output folder")
    parser.add_argument("--split", default="test", help="split to evaluate (default test)")
    parser.add_argument("--out", type=Path, help="output folder (default RUN/eval)")
    parser.add_argument(
        "--templates", type=Path, help="pflow templates JSON (default: eflowRec reference values)"
    )
    parser.add_argument("--config", type=Path, help="YAML with EvaluateConfig options")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="e.g. metrics.threshold=0.6 (repeatable)",
    )
    parser.add_argument(
        "--also", action="append", default=[], type=Path, metavar="RUN",
        help="tagging/photon runs: further runs evaluated beside --run, same plots (repeatable)",
    )  # fmt: skip
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier evaluation")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from jetpointnet.config import load_config
    from jetpointnet.evaluation.evaluate import EvaluateConfig, evaluate_run
    from jetpointnet.evaluation.tagging import TaggingEvalConfig, evaluate_tagging, is_tagging_run
    from jetpointnet.predict.event_run import is_event_run
    from jetpointnet.training.tagging_inference import run_kind

    out = args.out or args.run / "eval"
    if run_kind(args.run) == "photon":  # displaced photons: jetpointnet.evaluation.photons
        from jetpointnet.evaluation.photons import PhotonEvalConfig, evaluate_photons

        pcfg = load_config(PhotonEvalConfig, args.config, args.overrides)
        m = evaluate_photons([args.run, *args.also], args.data, split=args.split, out_dir=out,
                             cfg=pcfg, progress=not args.quiet, overwrite=args.overwrite)  # fmt: skip
        for name, row in m["summary"].items():
            print(f"{name}: AUC {row['auc']:.4f}, prompt 1/eps_B at 50 % {row['rejection_50']:.1f}, "
                  f"at 80 % {row['rejection_80']:.1f}")  # fmt: skip
        print(f"report: {Path(out) / 'report.html'}")
        return 0
    if is_tagging_run(args.run):  # kind "jet": jetpointnet.evaluation.tagging
        tcfg = load_config(TaggingEvalConfig, args.config, args.overrides)
        m = evaluate_tagging([args.run, *args.also], args.data, split=args.split, out_dir=out,
                             cfg=tcfg, progress=not args.quiet, overwrite=args.overwrite)  # fmt: skip
        for name, row in m["summary"].items():
            print(f"{name}: AUC {row['auc']:.4f}, 1/eps_B at 50 % {row['rejection_50']:.1f}")
        print(f"report: {Path(out) / 'report.html'}")
        return 0
    if is_event_run(args.run):  # kind "event": jetpointnet.evaluation.event_eval
        from jetpointnet.evaluation.event_eval import evaluate_event_run

        m = evaluate_event_run(args.run, args.data, split=args.split, out_dir=out,
                               progress=not args.quiet, overwrite=args.overwrite)  # fmt: skip
        for cls, row in m["efficiency"].items():
            print(f"{cls}: efficiency {row['overall']}, fake rate {m['fake_rate'][cls]['overall']}")
        print(f"cell energy to the right particle: {m['cell_accuracy']}")
        print(f"report: {Path(out) / 'report.html'}")
        return 0
    cfg = load_config(EvaluateConfig, args.config, args.overrides)
    metrics = evaluate_run(
        args.run,
        args.data,
        split=args.split,
        out_dir=out,
        templates=args.templates,
        progress=not args.quiet,
        cfg=cfg,
        overwrite=args.overwrite,
    )
    for name, row in metrics["summary"].items():
        print(
            f"{name}: F1 {row['f1']:.3f}"
            + (
                f" (smart random {row['f1'] - row['f1_minus_smart_random']:.3f})"
                if "f1_minus_smart_random" in row
                else ""
            )
        )
    print(f"report: {Path(out) / 'report.html'}")
    return 0
