"""``jetpointnet predict``: a trained run on new MLTree files -> per-cell attributions."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "predict"
HELP = "run a trained model on MLTree files; write per-cell predictions (parquet or ROOT)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, type=Path, help="run folder of `train`")
    parser.add_argument("--input", nargs="+", help="MLTree ROOT files (glob patterns allowed)")
    parser.add_argument(
        "--data", type=Path, help="instead of --input: a jet or photon folder (tagging runs)"
    )
    parser.add_argument("--split", default="test", help="split of --data (default test)")
    parser.add_argument(
        "--geometry", type=Path, help="file with the CellGeo tree, if inputs lack it"
    )
    parser.add_argument("--out", required=True, type=Path, help="output FILE.parquet or FILE.root")
    parser.add_argument("--backend", choices=["torch", "onnx"], default="torch")
    parser.add_argument(
        "--onnx", type=Path, help="exported model for --backend onnx (else exported now)"
    )
    parser.add_argument("--batch-size", type=int, default=256, help="samples per batch")
    parser.add_argument("--checkpoint", default="best", help="best, last or a .pt file")
    parser.add_argument(
        "--events-per-chunk", type=int, help="events per chunk (default: the run's)"
    )
    parser.add_argument(
        "--observer", action="append", default=[], metavar="BRANCH",
        help="per-event EventTree branch copied to every row (repeatable)",
    )  # fmt: skip
    parser.add_argument("--root-format", choices=["ttree", "rntuple"], default="ttree")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="cpu")
    parser.add_argument("--threads", type=int, help="CPU threads")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    from jetpointnet.cli.predict_event import add_event_arguments  # event-level runs

    add_event_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from jetpointnet.predict.event_run import is_event_run

    if is_event_run(args.run):  # event-level particle flow: particles.parquet
        from jetpointnet.cli.predict_event import run_event

        return run_event(args)
    from jetpointnet.predict.run import PredictConfig, predict_files

    if args.data is not None:  # a tagging run: one row per jet (jetpointnet.predict.tagging)
        from jetpointnet.predict.tagging import predict_jets

        res = predict_jets(
            args.run, args.data, args.out, split=args.split, checkpoint=args.checkpoint,
            backend=args.backend, onnx_file=args.onnx, batch_size=args.batch_size,
            device=args.device, threads=args.threads, overwrite=args.overwrite,
            progress=not args.quiet,
        )  # fmt: skip
        if not args.quiet:
            print(f"{res.out}: {res.rows} objects ({res.backend})")
        return 0
    from jetpointnet.errors import UserError
    from jetpointnet.training.tagging_inference import TAGGING_KINDS, run_kind

    if not args.input:
        raise UserError(
            "predict: give --input (MLTree files) or --data (a preprocessed jet folder)"
        )
    if (kind := run_kind(args.run)) in TAGGING_KINDS:
        raise UserError(f"predict: {args.run} is a tagging run: give --data (a {kind} folder)")

    cfg = PredictConfig(
        checkpoint=args.checkpoint,
        backend=args.backend,
        onnx_file=args.onnx,
        batch_size=args.batch_size,
        events_per_chunk=args.events_per_chunk,
        observers=list(args.observer),
        device=args.device,
        root_format=args.root_format,
        threads=args.threads,
        overwrite=args.overwrite,
    )
    result = predict_files(
        args.run, args.input, args.out, config=cfg, geometry=args.geometry, progress=not args.quiet
    )
    if not args.quiet:
        print(
            f"{result.out}: {result.rows} cells of {result.samples} tracks in {result.events} "
            f"events ({result.backend})"
        )
    return 0
