"""``jetpointnet predict`` on an event-level run: MLTree files -> ``particles.parquet``.

Called by :mod:`jetpointnet.cli.predict` when ``--run`` holds a run of data kind "event"
(:func:`jetpointnet.predict.event.is_event_run`); the per-track options that have no
meaning here (``--observer``, ``--root-format``) are refused.
"""

from __future__ import annotations

import argparse

__all__ = ["add_event_arguments", "run_event"]


def add_event_arguments(parser: argparse.ArgumentParser) -> None:
    """The options only event-level runs read."""
    parser.add_argument(
        "--min-existence", type=float, default=0.5, metavar="P",
        help="event runs: neutral particles below this existence probability are dropped",
    )  # fmt: skip
    parser.add_argument(
        "--incidence", action="store_true",
        help="event runs: also write OUT.incidence.parquet (each cell's share per particle)",
    )  # fmt: skip


def run_event(args: argparse.Namespace) -> int:
    from jetpointnet.errors import UserError
    from jetpointnet.predict.event import EventPredictConfig, predict_event_files

    if args.observer or args.root_format != "ttree":
        raise UserError(f"{args.run}: an event-level run writes particles.parquet; "
                        "--observer and --root-format do not apply")  # fmt: skip
    # the per-track default of --batch-size (256 clouds) is too much for whole events
    batch = EventPredictConfig.batch_size if args.batch_size == 256 else args.batch_size
    cfg = EventPredictConfig(
        checkpoint=args.checkpoint, backend=args.backend, onnx_file=args.onnx, batch_size=batch,
        min_existence=args.min_existence, incidence=args.incidence,
        events_per_chunk=args.events_per_chunk, device=args.device, threads=args.threads,
        overwrite=args.overwrite,
    )  # fmt: skip
    result = predict_event_files(args.run, args.input, args.out, config=cfg,
                                 geometry=args.geometry, progress=not args.quiet)  # fmt: skip
    if not args.quiet:
        print(f"{result.out}: {result.particles} particles from {result.samples} samples of "
              f"{result.events} events")  # fmt: skip
    return 0
