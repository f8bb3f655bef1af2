"""Modal collapse on dijets (seed 001): how often does a network predict (almost) no focal cell?

For every model (``--models``: ``pointnet`` = ``configs/train/small.yaml``,
``transformer`` = ``configs/train/transformer-small.yaml``), loss (``--losses``: ``bce`` =
``task.name=binary``, ``ebce`` = ``task.name=binary task.energy_weight=E``,
``multiclass`` = ``task.name=multiclass``), training-set size (``--fractions`` of the
dijet training events, fixed and nested subsets as in bench_transfer) and seed
(``--seeds``, default 5), one run of ``--epochs`` epochs on 1 CPU thread. Each run
predicts the full dijet test split (best-validation checkpoint) and is evaluated there.

Collapse (printed with the table): on the test split, over labelled cells (``point_type``
cell and ``label_mask``), the fraction predicted focal (binary: probability > 0.5;
multiclass: argmax is ``FOCAL``, as in ``Task.predicted_focal``) is below ``--ratio``
(default 0.1) times the true focal fraction. The table, per (model, loss, size):
collapsed runs / seeds, F1 mean ± std, predicted / true focal fraction (test) mean ±
std, and the same ratio on validation from the last epoch of ``log.csv``.

Outputs: ``OUT/collapse.md``, ``OUT/collapse.json``, ``OUT/steps/*.json`` (a re-run skips
finished steps), ``OUT/runs``, ``OUT/eval``, ``OUT/prep-*``. Without ``--dijet`` it
simulates its own.

Run (issue 19: 30 PointNet runs, estimated ~1.5 h on 2 cores at ~350 training samples/s
per 1-thread job; the transformer trains at ~65 samples/s, ~5x slower: ~6 h more)::

    python benchmarks/bench_collapse.py --dijet '/work/data19/jz2/*.root' \\
        --models pointnet transformer --epochs 6 --jobs 2 --out /tmp/study19

(the same ``--out`` as bench_transfer: the dijet preprocessing and the 10 % subset are
then made once.) Tiny check (2 models, 2 seeds, 1 epoch, 50 steps: ~100 s on 2 loaded
cores), on the files of bench_transfer's tiny check::

    python benchmarks/bench_collapse.py --dijet '/tmp/transfer-test/jz2/*.root' \\
        --split-seed 4 --models pointnet transformer --seeds 1 2 --epochs 1 --jobs 2 \\
        --out /tmp/transfer-test/out-collapse
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _study import (
    ROOT,
    Step,
    expand,
    finish,
    md_table,
    mean_std,
    pick,
    pm,
    preprocess_step,
    quick_eval_config,
    run_steps,
    simulate_step,
    subset_step,
    tag,
    train_step,
    write_json,
)

MODELS = {
    "pointnet": ROOT / "configs" / "train" / "small.yaml",
    "transformer": ROOT / "configs" / "train" / "transformer-small.yaml",
}
LOSSES = {
    "bce": ["task.name=binary"],
    "ebce": ["task.name=binary", "task.energy_weight=E"],
    "multiclass": ["task.name=multiclass"],
}


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dijet", help="glob of simulated dijet MLTree files (else simulated)")
    ap.add_argument("--dijet-events", type=int, default=60, help="when simulating")
    ap.add_argument("--out", type=Path, default=Path("collapse-bench"))
    ap.add_argument("--models", nargs="+", choices=list(MODELS), default=["pointnet"])
    ap.add_argument("--losses", nargs="+", choices=list(LOSSES), default=list(LOSSES))
    ap.add_argument("--fractions", type=float, nargs="+", default=[0.1, 1.0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--ratio", type=float, default=0.1, help="collapse: pred/true below this")
    ap.add_argument("--subset-seed", type=int, default=0)
    ap.add_argument("--split-seed", type=int, default=0, help="preprocess split.seed")
    ap.add_argument("--set", nargs="*", default=[], help="train overrides for every run")
    ap.add_argument("--jobs", type=int, default=2, help="parallel processes, 1 thread each")
    args = ap.parse_args()
    args.out = args.out.resolve()
    args.fractions = sorted(set(args.fractions))
    if not all(0 < f <= 1 for f in args.fractions):
        ap.error("--fractions: values in (0, 1]")
    return args


def focal_fractions(pred: np.ndarray, labels: dict[str, np.ndarray]) -> tuple[float, float]:
    """(predicted, true) focal fraction of the labelled cells (see the module docstring)."""
    from jetpointnet.data.schema import CellClass, PointType

    cell = (labels["point_type"] == int(PointType.CELL)) & labels["label_mask"].astype(bool)
    if pred.ndim == 2:  # multiclass probabilities
        focal = pred.argmax(axis=-1) == int(CellClass.FOCAL)
    else:  # binary probability
        focal = pred > 0.5
    n = max(int(cell.sum()), 1)
    return float(focal[cell].sum() / n), float((labels["y_binary"][cell] == 1).sum() / n)


def collapse_step(run_dir: str, data: str, out_dir: str, ratio: float) -> dict[str, Any]:
    """Predict the test split, the focal fractions, and ``evaluate`` the same predictions."""
    from jetpointnet.evaluation.evaluate import evaluate_predictions
    from jetpointnet.training.inference import predict
    from jetpointnet.training.run_folder import read_run

    folder = read_run(run_dir)
    p = predict(folder, data, split="test", progress=False)
    frac_pred, frac_true = focal_fractions(p["pred"], p)
    task = folder.config.task.name
    m = evaluate_predictions({folder.path.name: (task, p["pred"])}, data, split="test",
                             out_dir=out_dir, cfg=quick_eval_config(), progress=False,
                             overwrite=True, labels=p)  # fmt: skip
    res = pick(m["models"][folder.path.name])
    r = frac_pred / frac_true if frac_true > 0 else float("nan")
    res |= {"frac_pred_focal": frac_pred, "frac_true_focal": frac_true, "ratio": r,
            "collapsed": bool(r < ratio), "n_samples": m["n_samples"]}  # fmt: skip
    res["summary"] = (
        f"pred/true focal {r:.3f}{' COLLAPSED' if r < ratio else ''}, F1 {res['cell.f1']:.3f}"
    )
    return res


def build_steps(args: argparse.Namespace) -> tuple[list[Step], list[tuple[str, str, float]]]:
    steps: list[Step] = []
    deps: tuple[str, ...] = ()
    if args.dijet:
        inputs = expand(args.dijet, "dijet")
    else:
        sim = str(args.out / "sim-dijet")
        steps.append(Step("sim-dijet", simulate_step, {"preset": "dijet-jz2", "seed": 12,
                                                       "events": args.dijet_events, "out": sim}))  # fmt: skip
        inputs, deps = [f"{sim}/*.root"], ("sim-dijet",)
    full = str(args.out / "prep-dijet")
    kw = {"inputs": inputs, "out": full, "split_seed": args.split_seed, "workers": 1}
    steps.append(Step("prep-dijet", preprocess_step, kw, deps))
    folders = {1.0: full}
    for f in args.fractions:
        if f < 1:
            folders[f] = str(args.out / f"prep-dijet-{tag(f)}")
            kw = {"full": full, "out": folders[f], "fraction": f, "seed": args.subset_seed}
            steps.append(Step(f"subset-{tag(f)}", subset_step, kw, ("prep-dijet",)))
    cells = [(m, loss, f) for m in args.models for loss in args.losses for f in args.fractions]
    for model, loss, f in cells:
        for seed in args.seeds:
            name = f"{model}-{loss}-{tag(f)}-s{seed}"
            run = str(args.out / "runs" / name)
            over = [*LOSSES[loss], *args.set, f"train.seed={seed}", f"train.epochs={args.epochs}"]
            kw = {
                "config": str(MODELS[model]),
                "overrides": over,
                "data": folders[f],
                "run_dir": run,
            }
            need = ("prep-dijet", *((f"subset-{tag(f)}",) if f < 1 else ()))
            steps.append(Step(f"train/{name}", train_step, kw, need))
            kw = {"run_dir": run, "data": full, "out_dir": str(args.out / "eval" / name),
                  "ratio": args.ratio}  # fmt: skip
            steps.append(Step(f"collapse/{name}", collapse_step, kw, (f"train/{name}",)))
    return steps, cells


def report(args: argparse.Namespace, res: dict[str, dict], cells: list) -> str:
    n = len(args.seeds)
    rows, out = [], {}
    for model, loss, f in cells:
        names = [f"{model}-{loss}-{tag(f)}-s{s}" for s in args.seeds]
        ev = [res[f"collapse/{x}"] for x in names]
        tr = [res[f"train/{x}"] for x in names]
        val = [t["val_frac_pred_focal"] / t["val_frac_true_focal"] if t["val_frac_true_focal"]
               else None for t in tr]  # fmt: skip
        samples = (
            res[f"subset-{tag(f)}"]["samples"]
            if f < 1
            else res["prep-dijet"]["counts"]["train"]["samples"]
        )
        seen = mean_std([t["samples_seen"] for t in tr])[0]
        k = sum(e["collapsed"] for e in ev)
        rows.append([model, loss, f"{f:.0%} ({samples})", f"{seen:.0f}", f"{k} / {n}",
                     pm([e["cell.f1"] for e in ev], n), pm([e["ratio"] for e in ev], n),
                     pm(val, n)])  # fmt: skip
        out[f"{model}-{loss}-{tag(f)}"] = {
            "collapsed": k,
            "seeds": args.seeds,
            "runs": ev,
            "train": tr,
        }
    m0, l0, f0 = cells[0]
    test = res[f"collapse/{m0}-{l0}-{tag(f0)}-s{args.seeds[0]}"]
    title = (f"## modal collapse on dijets, {n} seeds ({' '.join(map(str, args.seeds))}), "
             f"{args.epochs} epochs per run\n")  # fmt: skip
    definition = (
        f"Collapse: on the dijet test split ({test['n_samples']} samples, true focal fraction "
        f"{test['frac_true_focal']:.3f} of labelled cells), the fraction of labelled cells "
        f"predicted focal (binary: p > 0.5; multiclass: argmax FOCAL) is below {args.ratio:g} x "
        f"the true focal fraction. Best-validation checkpoint; 1 CPU thread per run; "
        f"size: share of the training events (training samples); fixed nested subsets "
        f"(seed {args.subset_seed}).\n"
    )
    header = ["model", "loss", "size (samples)", "samples seen", "collapsed", "F1",
              "pred/true focal (test)", "pred/true focal (val, last epoch)"]  # fmt: skip
    md = [title, definition, md_table(header, rows)]
    write_json(args.out / "collapse.json", {"args": {k: str(v) for k, v in vars(args).items()},
                                            "cells": out})  # fmt: skip
    return "\n".join(md)


def main() -> None:
    args = parse_args()
    t0 = time.perf_counter()
    steps, cells = build_steps(args)
    res = run_steps(steps, args.out, jobs=args.jobs)
    md = report(args, res, cells)
    finish(args.out, "collapse", md, res, t0)


if __name__ == "__main__":
    main()
