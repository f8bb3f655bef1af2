"""``jetpointnet simulate``: Pythia 8 events in the ATLAS-like calorimeter, as MLTree files."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "simulate"
HELP = "generate events (Pythia 8 + ATLAS-like calorimeter) and write MLTree ROOT files"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from jetpointnet.simulate.generators import GUN_PARTICLES, PRESETS

    p.add_argument("--preset", required=True, help=f"one of: {', '.join(PRESETS)}")
    p.add_argument("--events", type=int, required=True, help="number of events")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--workers", type=int, default=1, help="parallel processes (default 1)")
    p.add_argument(
        "--executor",
        choices=("local", "dask"),
        default="local",
        help="local processes (default) or dask: one Dask task per file, on the cluster of "
        "--scheduler or a local one of --workers processes (docs/cluster.md)",
    )
    p.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler (tcp://host:port)")
    p.add_argument("--events-per-file", type=int, default=1000, help="events per ROOT file")
    p.add_argument(
        "--pileup", type=float, default=0.0, help="mean number of soft-QCD pile-up events"
    )
    p.add_argument(
        "--no-split-clusters",
        action="store_true",
        help="topo-clusters without the ATLAS splitter (no shared cells)",
    )
    p.add_argument(
        "--no-event-truth",
        action="store_true",
        help="leave out the optional event-level truth branches (per-contributor visible "
        "cell energy, particle calorimeter totals, parents; docs/simulation.md)",
    )
    p.add_argument(
        "--max-contributors",
        type=int,
        default=None,
        help="keep at most C truth contributors per cell (MLTree keeps 3; default: all)",
    )
    p.add_argument("--particle", default="pi+", help=f"gun particle: {', '.join(GUN_PARTICLES)}")
    p.add_argument("--energy", type=float, default=None, help="gun (or alp) energy in GeV")
    p.add_argument(
        "--energy-range",
        type=float,
        nargs=2,
        metavar=("LO", "HI"),
        default=None,
        help="gun energy range in GeV, log-uniform",
    )
    p.add_argument(
        "--eta-range",
        type=float,
        nargs=2,
        metavar=("A", "B"),
        default=(-2.5, 2.5),
        help="pseudorapidity range of single particles (default -2.5 2.5)",
    )
    p.add_argument(
        "--format",
        choices=("ttree", "rntuple"),
        default="ttree",
        help="ttree (needs ROOT, the default) or rntuple (uproot only)",
    )
    p.add_argument(
        "--compression",
        default="zstd:1",
        help="zstd:1 (default; uproot before 5.3 reads it only after pip install "
        "zstandard), zlib (every uproot reads it; writes 1.7x slower, same size), lz4 "
        "(fastest, files 35%% larger), zstd (level 5), lzma or none; NAME:LEVEL picks a "
        "level 1-9 (docs/simulation.md has the measurements)",
    )
    p.add_argument(
        "--cell-order",
        choices=("ascending", "shuffled"),
        default="ascending",
        help="order of the CellGeo vectors: ascending cell ID (default) or shuffled "
        "(to test that a reader does not rely on the order)",
    )
    p.add_argument(
        "--slice-radius",
        type=float,
        default=0.6,
        help="anti-kt R of the leading truth jet that defines a dijet JZ slice: 0.6 "
        "(ATLAS's JZ, default) or 1.0 (large-R jets, the W/Z tagging background)",
    )
    p.add_argument(
        "--alp-mass",
        type=float,
        default=None,
        help="ALP (PDG id 36) mass in GeV, presets h2aa (below 62.5) and alp",
    )
    p.add_argument(
        "--alp-ctau",
        type=float,
        default=None,
        help="ALP proper decay length c*tau in mm (preset h2aa; 0: prompt)",
    )
    p.add_argument(
        "--decay-length",
        type=float,
        nargs=2,
        metavar=("LO", "HI"),
        default=(0.0, 0.0),
        help="preset alp: lab-frame decay length in mm along the ALP's flight, uniform in "
        "[LO, HI] (default 0 0: the prompt sample)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from jetpointnet.simulate.run import SimulateConfig, simulate

    cfg = SimulateConfig(
        preset=args.preset, events=args.events, seed=args.seed, out=args.out,
        workers=args.workers, events_per_file=args.events_per_file, pileup=args.pileup,
        max_contributors=args.max_contributors, particle=args.particle, energy=args.energy,
        energy_range=tuple(args.energy_range) if args.energy_range else None,
        eta_range=tuple(args.eta_range), format=args.format, overwrite=args.overwrite,
        split_clusters=not args.no_split_clusters, compression=args.compression,
        cell_order=args.cell_order, event_truth=not args.no_event_truth,
        slice_radius=args.slice_radius, alp_mass=args.alp_mass, alp_ctau=args.alp_ctau,
        decay_length=tuple(args.decay_length),
        executor=args.executor, scheduler=args.scheduler,  # jetpointnet.executors
    )  # fmt: skip
    files = simulate(cfg, progress=not args.quiet)
    print(f"wrote {len(files)} file(s) to {cfg.out}/ ({cfg.events} events)")
    return 0
