"""Throughput of the evaluation stage: cell/track metrics and the classical algorithm.

Prints figures, asserts nothing. Synthetic inputs: ``--cells`` labelled cells for the
metrics; ``--events`` events of ``--tracks`` pion-like showers (EMB2, EMB3, TileBar0-1
grids, overlapping clusters) for the particle-flow algorithm.

    python benchmarks/bench_evaluate.py [--cells 2000000] [--events 300] [--tracks 8]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from jetpointnet.evaluation.metrics import binary_metrics, roc_curve, segment_sum, track_report
from jetpointnet.evaluation.pflow.algorithm import EventCells, EventTracks, run_event
from jetpointnet.evaluation.pflow.templates import eflowrec_reference
from jetpointnet.io.mltree_layout import SAMPLING, TRACK_LAYERS

GRID = {"EMB2": (0.025, 0.0245, 2e5, 4), "EMB3": (0.05, 0.0245, 1e5, 2),
        "TileBar0": (0.1, 0.098, 2e7, 1), "TileBar1": (0.1, 0.098, 5e7, 1)}  # fmt: skip


def make_event(rng: np.random.Generator, n_tracks: int) -> tuple[EventCells, EventTracks]:
    eta = rng.uniform(-0.3, 0.3, n_tracks)
    phi = rng.uniform(-0.3, 0.3, n_tracks)
    p = rng.uniform(1, 30, n_tracks)
    cols: dict[str, list] = {k: [] for k in ("e", "eta", "phi", "s", "de", "dp", "v", "c")}
    for t in range(n_tracks):
        for layer, (de, dp, vol, half) in GRID.items():
            k = np.arange(-half, half + 1)
            ee, pp = np.meshgrid(eta[t] + k * de, phi[t] + k * dp, indexing="ij")
            w = np.exp(-np.hypot(ee - eta[t], pp - phi[t]) / 0.03).ravel()
            cols["e"] += list(0.15 * p[t] * w / w.sum() * rng.uniform(0.5, 1.5, w.size))
            cols["eta"] += list(ee.ravel())
            cols["phi"] += list(pp.ravel())
            cols["s"] += [SAMPLING[layer]] * w.size
            cols["de"] += [de] * w.size
            cols["dp"] += [dp] * w.size
            cols["v"] += [vol] * w.size
            cols["c"] += [t // 2] * w.size  # pairs of tracks share clusters
    cells = EventCells(
        np.array(cols["e"]),
        np.array(cols["eta"]),
        np.array(cols["phi"]),
        np.array(cols["s"]),
        np.array(cols["c"]),
        np.array(cols["de"]),
        np.array(cols["dp"]),
        np.array(cols["v"]),
    )
    le = np.repeat(eta[:, None], len(TRACK_LAYERS), axis=1)
    lp = np.repeat(phi[:, None], len(TRACK_LAYERS), axis=1)
    return cells, EventTracks(p, p / np.cosh(eta), le, lp)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=2_000_000)
    ap.add_argument("--events", type=int, default=300)
    ap.add_argument("--tracks", type=int, default=8)
    args = ap.parse_args()
    rng = np.random.default_rng(0)

    y = rng.random(args.cells) < 0.3
    score = np.clip(y * 0.4 + rng.random(args.cells) * 0.6, 0, 1)
    energy = rng.exponential(0.2, args.cells)
    t0 = time.perf_counter()
    binary_metrics(y, score > 0.5, energy=energy, score=score)
    roc_curve(y, score)
    dt = time.perf_counter() - t0
    print(f"cell metrics + ROC: {args.cells / dt / 1e6:.2f} M cells/s ({dt:.2f} s)")

    n_trk = args.cells // 100
    offsets = np.arange(0, args.cells + 1, 100)
    t0 = time.perf_counter()
    pred = segment_sum(energy * (score > 0.5), offsets)
    true = segment_sum(energy * y, offsets)
    track_report(
        pred,
        true,
        track_pt=rng.uniform(0.5, 100, n_trk),
        track_eta=rng.uniform(-2.5, 2.5, n_trk),
        min_dr_other=rng.uniform(0, 1, n_trk),
        pt_edges=[0.5, 1, 2, 5, 10, 20, 50, 200],
        eta_edges=[0, 0.5, 1, 1.5, 2, 2.5],
    )
    dt = time.perf_counter() - t0
    print(f"track metrics: {n_trk / dt / 1e3:.0f} k tracks/s ({dt:.2f} s)")

    tpl = eflowrec_reference()
    events = [make_event(rng, args.tracks) for _ in range(args.events)]
    n_cells = sum(len(c) for c, _ in events)
    t0 = time.perf_counter()
    for cells, tracks in events:
        run_event(cells, tracks, expect=tpl.expect, profile=tpl.profile)
    dt = time.perf_counter() - t0
    print(
        f"classical pflow: {args.events / dt:.0f} events/s, {args.events * args.tracks / dt:.0f} "
        f"tracks/s, {n_cells / dt / 1e3:.0f} k cells/s ({args.tracks} tracks/event, "
        f"{n_cells // args.events} cells/event, {dt:.2f} s)"
    )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {rss:.0f} MiB")


if __name__ == "__main__":
    main()
