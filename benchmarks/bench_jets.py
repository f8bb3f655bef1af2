"""Jet energy resolution: calorimeter jets, classical particle flow and a trained network.

1. simulate JZ2, JZ3 and JZ4 dijets for training (seed 21) and, independently, for
   testing without pile-up (seed 22) and with ``--mu`` pile-up (seed 23), plus a pi+ gun
   for the classical algorithm's templates;
2. train the small PointNet (binary task, the demo's data config) on the training dijets
   for ``--epochs`` epochs;
3. ``jetpointnet jets`` on both test sets with calo, classical, ml, ``oracle:RUN`` (the
   run's samples with true claims) and the two ceilings that need no network, ``oracle``
   (perfect attribution on the whole event) and ``oracle-calibrated`` (also every neutral
   remnant at its true deposited energy);
4. print the response / resolution table (Markdown, truth-jet pT bins), a compact table of
   the jet-energy resolution with one column per algorithm, and the time per event of
   each algorithm. Asserts nothing.

    python benchmarks/bench_jets.py --train-events 150 --test-events 150 --mu 20
    python benchmarks/bench_jets.py --train-events 10 --test-events 10 --epochs 1 --pions 200  # smoke
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from predict_helpers import make_data, train_config

from jetpointnet.evaluation.pflow.build import build_templates
from jetpointnet.jets.run import ALGORITHMS, JetsConfig, run_jets
from jetpointnet.simulate.run import SimulateConfig, simulate
from jetpointnet.training.loop import train

SLICES = ("dijet-jz2", "dijet-jz3", "dijet-jz4")


def _sim(out: Path, events: int, seed: int, workers: int, mu: float = 0.0) -> list[Path]:
    files = []
    for k, preset in enumerate(SLICES):
        cfg = SimulateConfig(preset=preset, events=events, seed=seed + 100 * k, pileup=mu,
                             out=out / preset, workers=workers, events_per_file=events)  # fmt: skip
        files += simulate(cfg, progress=False)
    return files


def _table(name: str, summary: dict) -> list[str]:
    lines = []
    for algo, rows in summary["response"].items():
        for r in rows:
            if r["n_truth"] == 0:
                continue
            e, p = r["e"], r["pt"]
            lines.append(
                f"| {name} | {algo} | {r['bin']} | {r['n_truth']} | {r['efficiency']:.2f} | "
                f"{e['median']:.3f} | {e['q68']:.3f} ± {e['q68_err']:.3f} | "
                f"{e['iqr']:.3f} ± {e['iqr_err']:.3f} | {p['median']:.3f} | "
                f"{p['q68']:.3f} ± {p['q68_err']:.3f} |"
            )
    return lines


def _columns(name: str, summary: dict) -> list[str]:
    """One row per truth-pT bin, one column per algorithm: E (q84-q16)/2/median."""
    algos = list(summary["response"])
    first = summary["response"][algos[0]]
    lines = []
    for i, r in enumerate(first):
        if r["n_truth"] == 0:
            continue
        cells = []
        for a in algos:
            e = summary["response"][a][i]["e"]
            cells.append(f"{e['q68']:.3f} ± {e['q68_err']:.3f}")
        lines.append(f"| {name} | {r['bin']} | {r['n_truth']} | " + " | ".join(cells) + " |")
    head = "| test sample | truth pT [GeV] | truth jets | " + " | ".join(algos) + " |"
    return [head, "|" + "---|" * (3 + len(algos)), *lines]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train-events", type=int, default=150, help="per JZ slice")
    ap.add_argument("--test-events", type=int, default=150, help="per JZ slice")
    ap.add_argument("--mu", type=float, default=20.0, help="mean pile-up of the second test set")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--pions", type=int, default=30000, help="pi+ gun events (~21k tracks)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, help="work folder (default: a temporary one)")
    args = ap.parse_args()
    tmp = args.out or Path(tempfile.mkdtemp(prefix="bench-jets-"))
    t0 = time.perf_counter()
    train_files = _sim(tmp / "train", args.train_events, 21, args.workers)
    test = {"no pile-up": _sim(tmp / "test", args.test_events, 22, args.workers),
            f"mu = {args.mu:g}": _sim(tmp / "test-pu", args.test_events, 23, args.workers,
                                      mu=args.mu)}  # fmt: skip
    pions = simulate(SimulateConfig(preset="gun", particle="pi+", energy_range=(1.0, 50.0),
                                    eta_range=(-2.5, 2.5), events=args.pions, seed=24,
                                    out=tmp / "pions", workers=args.workers), progress=False)  # fmt: skip
    t_sim = time.perf_counter() - t0

    t0 = time.perf_counter()
    data = make_data(train_files, tmp / "prep", events_per_chunk=50)
    cfg = train_config("task.name=binary", f"train.epochs={args.epochs}", "train.threads=2")
    run = train(cfg, data_dir=data, out_dir=tmp / "run-dijet", progress=False).run_dir
    t_train = time.perf_counter() - t0
    templates = build_templates([str(p) for p in pions], progress=False)

    lines = [
        (
            "| test sample | algorithm | truth pT [GeV] | truth jets | matched | E median | "
            "E (q84-q16)/2/median | E IQR/median | pT median | pT (q84-q16)/2/median |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    timing, compact = [], []
    for name, files in test.items():
        out = tmp / ("jets-" + name.replace(" ", "").replace("=", ""))
        t0 = time.perf_counter()
        cfg = JetsConfig(algorithms=list(ALGORITHMS), oracle=True)  # every algorithm
        res = run_jets([str(f) for f in files], out, runs=[run], templates=templates,
                       config=cfg, overwrite=True, progress=False)  # fmt: skip
        wall = time.perf_counter() - t0
        s = res.summary
        lines += _table(name, s)
        compact += ["", *_columns(name, s)]
        ms = ", ".join(f"{k} {v:.1f}" for k, v in s["ms_per_event"].items())
        timing.append(
            f"{name}: {s['events']} events in {wall:.0f} s (incl. predict); ms/event: {ms}; "
            f"tracks/event {s['tracks_per_event']:.0f}, CHS-removed {s['pileup_tracks_per_event']:.1f}; "
            f"classical status {s['classical_status']}; report {out / 'report.html'}"
        )
    print("\n".join(lines))
    print("\n".join(compact))
    print()
    print("\n".join(timing))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"simulation {t_sim:.0f} s, training {t_train:.0f} s ({args.epochs} epochs), "
          f"peak RSS {rss:.0f} MB, work folder {tmp}")  # fmt: skip


if __name__ == "__main__":
    main()
