"""``jetpointnet preprocess``: MLTree ROOT files -> samples (Arrow IPC) -> arrays (npz)."""

from __future__ import annotations

import argparse

NAME = "preprocess"
HELP = "MLTree ROOT files -> per-track samples (Arrow IPC) -> point-cloud arrays (npz)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--kind",
        choices=("track", "event", "jet", "photon"),
        default="track",
        help="track: per-track point clouds (default); event: event-level samples for "
        "particle flow of whole events (configs/data/event.yaml, docs/contracts/event.md); "
        "jet: large-R jet clouds for W/Z tagging (configs/data/tagging-wz.yaml, "
        "--input CLASS=GLOB); photon: prompt / displaced photon objects as cells, images "
        "and graphs (configs/data/photons.yaml, --input prompt=GLOB --input displaced=GLOB)",
    )
    parser.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="GLOB",
        help="MLTree ROOT file(s); a glob in quotes; repeatable (--kind jet|photon: CLASS=GLOB, "
        "added to the config's inputs)",
    )
    parser.add_argument(
        "--geometry",
        metavar="GEO.root",
        help="file holding the CellGeo tree (default: each input's own)",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument(
        "--config", metavar="YAML", help="data config, e.g. configs/data/default.yaml"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, e.g. radius.fixed=0.3; repeatable",
    )
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--executor", choices=("local", "dask"), default="local")
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="Dask scheduler (tcp://host:port); default: a local Dask cluster",
    )
    parser.add_argument("--stage", choices=("all", "samples", "arrays"), default="all")
    parser.add_argument(
        "--measure-radius",
        metavar="OUT.json",
        help="instead of preprocessing: measure the adaptive-radius parameters "
        "on single-particle inputs and write them to OUT.json",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="redo the finished chunks of inputs that changed since (default: refuse)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from jetpointnet.config import load_config
    from jetpointnet.data.config import PreprocessConfig
    from jetpointnet.errors import UserError

    if args.kind == "event":
        return _run_event(args)
    if args.kind == "jet":
        return _run_jets(args)
    if args.kind == "photon":
        return _run_photons(args)
    if not args.input:
        raise UserError("--input GLOB is required")
    config = load_config(PreprocessConfig, args.config, args.set)
    if args.workers < 1:
        raise UserError(f"--workers must be >= 1, got {args.workers}")
    if args.measure_radius:
        from jetpointnet.data.measure import measure_radius
        from jetpointnet.io.mltree_inputs import expand_inputs
        from jetpointnet.io.paths import refuse_overlap

        refuse_overlap([*expand_inputs(args.input), args.geometry], args.measure_radius)
        params = measure_radius(
            args.input,
            args.measure_radius,
            config=config,
            geometry=args.geometry,
            progress=not args.no_progress,
        )
        print(f"radius parameters: {args.measure_radius}")
        print(
            f"  R(p) = {params['a']:.4f} + {params['b']:.4f} / sqrt(p/GeV) "
            f"from {params['n_samples']} samples"
        )
        return 0

    from jetpointnet.data.preprocess import preprocess

    result = preprocess(
        args.input,
        args.out,
        config=config,
        geometry=args.geometry,
        workers=args.workers,
        executor=args.executor,
        scheduler=args.scheduler,
        stage=args.stage,
        progress=not args.no_progress,
        overwrite=args.overwrite,
    )
    print(
        f"outputs in {result.out}: work units run {result.chunks_run}, "
        f"skipped (already done) {result.chunks_skipped}"
    )
    print(f"  samples: {result.out / 'samples'}")
    meta = result.metadata
    if meta:
        print(f"  arrays:  {result.out / 'arrays'} (layout {meta['layout']}, L = {meta['length']})")
        for split, c in meta["counts"].items():
            print(
                f"    {split:5s} {c['events']:8d} events {c['samples']:9d} samples "
                f"{c['points']:11d} points {c['bytes'] / 1e6:9.1f} MB"
            )
        dropped = {k: v for k, v in meta["drops"].items() if v}
        if dropped:
            print("  dropped: " + ", ".join(f"{k} {v}" for k, v in dropped.items()))
        t = meta["truncation"]
        print(
            f"  truncated to L: {t['samples_truncated']} samples, "
            f"{t['points_dropped']} points dropped"
        )
        print(f"  metadata: {result.out / 'metadata.json'}")
    return 0


def _run_event(args: argparse.Namespace) -> int:
    """``--kind event``: event-level samples (:mod:`jetpointnet.data.event_preprocess`)."""
    from jetpointnet.config import load_config
    from jetpointnet.data.event_preprocess import EventPreprocessConfig, preprocess_events
    from jetpointnet.errors import UserError

    if args.measure_radius or args.stage != "all" or args.executor != "local":
        raise UserError("--kind event runs one stage locally: no --measure-radius, --stage "
                        "or --executor dask")  # fmt: skip
    if args.workers < 1:
        raise UserError(f"--workers must be >= 1, got {args.workers}")
    config = load_config(EventPreprocessConfig, args.config, args.set)
    result = preprocess_events(args.input, args.out, config=config, geometry=args.geometry,
                               workers=args.workers, progress=not args.no_progress,
                               overwrite=args.overwrite)  # fmt: skip
    meta = result.metadata
    print(f"event samples in {result.out}: chunks run {result.chunks_run}, "
          f"skipped (already done) {result.chunks_skipped}")  # fmt: skip
    for split, c in meta["counts"].items():
        print(f"  {split:5s} {c['events']:8d} events {c['samples']:9d} samples")
    print(f"  Lc {meta['n_cells']}, Lt {meta['n_tracks']}, Kt {meta['n_neutral']}; "
          f"truncation {meta['truncation']}")  # fmt: skip
    print(f"  metadata: {result.out / 'metadata.json'}")
    return 0


def _class_config(args: argparse.Namespace, config_type, kind: str, example: str):
    """The config of a class-labelled kind (jet, photon) with the ``--input CLASS=GLOB``s."""
    from jetpointnet.config import load_config
    from jetpointnet.data.class_folder import parse_class_inputs
    from jetpointnet.errors import UserError

    if args.measure_radius or args.stage != "all" or args.executor != "local":
        raise UserError(
            f"--kind {kind}: --measure-radius, --stage and --executor are per-track only"
        )
    if args.workers < 1:
        raise UserError(f"--workers must be >= 1, got {args.workers}")
    config = load_config(config_type, args.config, args.set)
    for name, globs in parse_class_inputs(args.input, config.classes, example=example).items():
        config.inputs[name] = [*config.inputs.get(name, []), *globs]
    return config


def _run_jets(args: argparse.Namespace) -> int:
    from jetpointnet.tagging.config import JetPrepConfig
    from jetpointnet.tagging.preprocess import preprocess_jets

    config = _class_config(args, JetPrepConfig, "jet", "wz='w/*.root'")
    result = preprocess_jets(args.out, config=config, geometry=args.geometry,
                             workers=args.workers, progress=not args.no_progress,
                             overwrite=args.overwrite)  # fmt: skip
    return _print_class_counts(result, "jets", "jets")


def _run_photons(args: argparse.Namespace) -> int:
    """``--kind photon``: photon objects (:mod:`jetpointnet.photons.preprocess`)."""
    from jetpointnet.photons.config import PhotonPrepConfig
    from jetpointnet.photons.preprocess import preprocess_photons

    config = _class_config(args, PhotonPrepConfig, "photon", "displaced='alp/*.root'")
    result = preprocess_photons(args.out, config=config, geometry=args.geometry,
                                workers=args.workers, progress=not args.no_progress,
                                overwrite=args.overwrite)  # fmt: skip
    return _print_class_counts(result, "photons", "objects")


def _print_class_counts(result, noun: str, label: str) -> int:
    """The counts per split and class of a class-labelled folder; 0."""
    meta = result.metadata
    print(f"{noun} in {result.out}: chunks run {result.chunks_run}, "
          f"skipped {result.chunks_skipped}")  # fmt: skip
    for split, c in meta["counts"].items():
        per = ", ".join(f"{k} {v}" for k, v in c["per_class"].items())
        print(f"  {split:5s} {c[noun]:8d} {label} ({per}) in {c['files']} file(s)")
    print(f"  metadata: {result.out / 'metadata.json'}")
    return 0
