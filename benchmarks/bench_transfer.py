"""Transfer learning rho -> dijets over seeds: does fine-tuning on 10 % of the dijets reach
training from scratch on all of them?

MLPF's fine-tuning study reached from-scratch performance with ~10x fewer target events;
this asks the same of the small PointNet (``configs/train/small.yaml``, binary focal-cell
task unless ``--task``). Per seed: a rho base model (``rho only``), then on fixed, nested
subsets of the dijet training events (``--fractions``, default 10 / 30 / 100 %):

- ``scratch``: from scratch on every fraction;
- ``finetune``: from the seed's rho model (``transfer.init_from``), on the smallest and
  the largest fraction;
- ``freeze``: the same with the body frozen (``transfer.freeze=['^body\\.']``), smallest;
- ``replayR``: fine-tuned with rho replayed at share R (``transfer.replay_data``,
  ``transfer.replay_schedule=[R]``, ``--replay``, default 0.1 0.3 0.5), smallest;
- ``finetune-xK``: fine-tuning on the smallest fraction for K = 1 / (1 - max R) times the
  epochs, as many samples as the longest replay run sees (replay's control: is it the
  rho samples or only the longer training?).

A subset keeps the first ``round(f * n)`` training events (all their samples) in a
random order of ``--subset-seed``: the same samples every epoch, the 10 % inside the
30 %; val and test are the full folder's (see ``_study.subset_step``). Budget
(``--budget epochs``, the default): every dijet run trains ``--epochs`` epochs over its
subset (a 10 % run sees a tenth of the samples of a 100 % run; replay adds R / (1 - R)
of rho samples per epoch); ``--budget samples``: ``--epochs / f`` epochs, about as many
samples as a 100 % run. The samples each run saw are in the tables. Every model is
evaluated (``evaluate_run``, network only) on the full test split of both datasets;
the tables give mean ± std over seeds, and which differences exceed the seed spread.

Outputs: ``OUT/transfer.md`` (tables), ``OUT/transfer.json`` (every number),
``OUT/steps/*.json`` (one per finished step: a re-run skips those), ``OUT/runs``,
``OUT/eval``, ``OUT/prep-*``. Without ``--rho`` / ``--dijet`` it simulates its own.

Run (the issue-19 study: 30 trainings and 60 evaluations; estimated 1-1.5 h on 2 cores
from the tiny run's ~350 training samples/s per 1-thread job)::

    python benchmarks/bench_transfer.py --rho '/work/data19/rho/*.root' \\
        --dijet '/work/data19/jz2/*.root' --seeds 1 2 3 --epochs 6 --jobs 2 --out /tmp/study19

Tiny check (2 seeds, 1 epoch, 66 steps: 2-3 min on 2 loaded cores; a re-run skips all)::

    jetpointnet simulate --preset rho --events 150 --seed 5 --out /tmp/transfer-test/rho --quiet
    jetpointnet simulate --preset dijet-jz2 --events 20 --seed 6 --out /tmp/transfer-test/jz2 --quiet
    python benchmarks/bench_transfer.py --rho '/tmp/transfer-test/rho/*.root' \\
        --dijet '/tmp/transfer-test/jz2/*.root' --split-seed 4 --seeds 1 2 --epochs 1 \\
        --jobs 2 --out /tmp/transfer-test/out-transfer

(``--split-seed 4``: the one 20-event file has validation events with it.)
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _study import (
    METRICS,
    ROOT,
    Step,
    eval_step,
    exceeds,
    expand,
    finish,
    md_table,
    mean_std,
    pm,
    preprocess_step,
    reference_step,
    run_steps,
    simulate_step,
    subset_step,
    tag,
    train_step,
    write_json,
)

DATASETS = ("dijet", "rho")
#: True where a larger value is better (F1, accuracies), False for resolutions.
HIGHER_BETTER = {k: not k.startswith("track.") for _, k in METRICS}


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rho", help="glob of simulated rho MLTree files (else simulated)")
    ap.add_argument("--dijet", help="glob of simulated dijet MLTree files (else simulated)")
    ap.add_argument("--rho-events", type=int, default=400, help="when simulating")
    ap.add_argument("--dijet-events", type=int, default=60, help="when simulating")
    ap.add_argument("--out", type=Path, default=Path("transfer-bench"))
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--epochs", type=int, default=6, help="dijet epochs (see --budget)")
    ap.add_argument("--rho-epochs", type=int, help="epochs of the rho base (default --epochs)")
    ap.add_argument("--budget", choices=["epochs", "samples"], default="epochs")
    ap.add_argument("--fractions", type=float, nargs="+", default=[0.1, 0.3, 1.0])
    ap.add_argument("--replay", type=float, nargs="+", default=[0.1, 0.3, 0.5])
    ap.add_argument("--subset-seed", type=int, default=0)
    ap.add_argument("--split-seed", type=int, default=0, help="preprocess split.seed")
    ap.add_argument("--config", type=Path, default=ROOT / "configs" / "train" / "small.yaml")
    ap.add_argument("--task", choices=["binary", "multiclass", "regression"], default="binary")
    ap.add_argument("--set", nargs="*", default=[], help="train overrides for every run")
    ap.add_argument("--fine-set", nargs="*", default=[], help="overrides of the transfer runs")
    ap.add_argument("--templates", help="classical algorithm's templates (JSON)")
    ap.add_argument("--no-reference", action="store_true", help="skip classical / smart random")
    ap.add_argument("--jobs", type=int, default=2, help="parallel processes, 1 thread each")
    args = ap.parse_args()
    args.out = args.out.resolve()
    args.fractions = sorted(set(args.fractions))
    if not all(0 < f <= 1 for f in args.fractions) or args.fractions[-1] != 1.0:
        ap.error("--fractions: values in (0, 1], 1 among them")
    args.rho_epochs = args.rho_epochs or args.epochs
    return args


def data_steps(args: argparse.Namespace) -> tuple[list[Step], dict[str, str]]:
    """Simulation (without inputs), preprocessing, subsets; data folder per name."""
    steps, folders = [], {}
    for name, preset, pattern, events, seed in (
        ("rho", "rho", args.rho, args.rho_events, 11),
        ("dijet", "dijet-jz2", args.dijet, args.dijet_events, 12),
    ):
        deps: tuple[str, ...] = ()
        if pattern:
            inputs = expand(pattern, name)
        else:
            sim = str(args.out / f"sim-{name}")
            steps.append(Step(f"sim-{name}", simulate_step, {"preset": preset, "events": events,
                                                              "seed": seed, "out": sim}))  # fmt: skip
            inputs, deps = [f"{sim}/*.root"], (f"sim-{name}",)
        folders[name] = str(args.out / f"prep-{name}")
        kw = {"inputs": inputs, "out": folders[name], "split_seed": args.split_seed, "workers": 1}
        steps.append(Step(f"prep-{name}", preprocess_step, kw, deps))
    for f in args.fractions[:-1]:
        folders[f"dijet-{tag(f)}"] = str(args.out / f"prep-dijet-{tag(f)}")
        kw = {"full": folders["dijet"], "out": folders[f"dijet-{tag(f)}"], "fraction": f,
              "seed": args.subset_seed}  # fmt: skip
        steps.append(Step(f"subset-{tag(f)}", subset_step, kw, ("prep-dijet",)))
    folders[f"dijet-{tag(1.0)}"] = folders["dijet"]
    return steps, folders


def variants(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """name -> (fraction or None for rho, transfer kind, replay share)."""
    lo, hi = args.fractions[0], args.fractions[-1]
    out: dict[str, dict[str, Any]] = {"rho-only": {"f": None, "kind": "rho"}}
    out |= {f"scratch-{tag(f)}": {"f": f, "kind": "scratch"} for f in args.fractions}
    out |= {f"finetune-{tag(f)}": {"f": f, "kind": "finetune"} for f in sorted({lo, hi})}
    out[f"freeze-{tag(lo)}"] = {"f": lo, "kind": "freeze"}
    out |= {f"replay{r:g}-{tag(lo)}": {"f": lo, "kind": "replay", "r": r} for r in args.replay}
    if args.replay:  # the control of replay: fine-tuning as long as the longest replay run
        x = 1 / (1 - max(args.replay))
        out[f"finetune-x{x:g}-{tag(lo)}"] = {"f": lo, "kind": "finetune", "x": x}
    return out


def run_steps_of(args: argparse.Namespace, folders: dict[str, str]) -> list[Step]:
    """Training and evaluation steps of every variant and seed."""
    steps = []
    base = [f"task.name={args.task}", *args.set]
    for seed in args.seeds:
        for name, v in variants(args).items():
            run = args.out / "runs" / f"{name}-s{seed}"
            rho_run = str(args.out / "runs" / f"rho-only-s{seed}")
            over = [*base, f"train.seed={seed}"]
            deps = []
            transfer: dict[str, Any] = {}
            if v["kind"] == "rho":
                data, epochs, deps = folders["rho"], args.rho_epochs, ["prep-rho"]
            else:
                data = folders[f"dijet-{tag(v['f'])}"]
                epochs = args.epochs if args.budget == "epochs" else round(args.epochs / v["f"])
                epochs = round(epochs * v.get("x", 1))
                deps = ["prep-dijet"] + ([f"subset-{tag(v['f'])}"] if v["f"] < 1 else [])
            if v["kind"] in ("finetune", "freeze", "replay"):
                transfer["init_from"] = rho_run
                deps.append(f"train/rho-only-s{seed}")
                over += args.fine_set
            if v["kind"] == "freeze":
                transfer["freeze"] = [r"^body\."]
            if v["kind"] == "replay":
                transfer |= {"replay_data": folders["rho"], "replay_schedule": [v["r"]]}
                deps.append("prep-rho")
            kw = {"config": str(args.config), "overrides": [*over, f"train.epochs={epochs}"],
                  "data": data, "run_dir": str(run), "transfer": transfer}  # fmt: skip
            steps.append(Step(f"train/{name}-s{seed}", train_step, kw, tuple(deps)))
            for d in DATASETS:
                kw = {"run_dir": str(run), "data": folders[d],
                      "out_dir": str(args.out / "eval" / d / f"{name}-s{seed}")}  # fmt: skip
                steps.append(Step(f"eval/{d}/{name}-s{seed}", eval_step, kw,
                                  (f"train/{name}-s{seed}", f"prep-{d}")))  # fmt: skip
    if not args.no_reference:
        for d in DATASETS:
            kw = {"data": folders[d], "out_dir": str(args.out / "eval" / d / "reference"),
                  "templates": args.templates}  # fmt: skip
            steps.append(Step(f"reference/{d}", reference_step, kw, (f"prep-{d}",)))
    return steps


def collect(args: argparse.Namespace, res: dict[str, dict]) -> dict[str, dict[str, Any]]:
    """variant -> per-seed training figures and per-dataset metric lists."""
    table: dict[str, dict[str, Any]] = {}
    for name in variants(args):
        tr = [res[f"train/{name}-s{s}"] for s in args.seeds]
        row: dict[str, Any] = {"seeds": args.seeds, "train": tr}
        for d in DATASETS:
            ev = [res[f"eval/{d}/{name}-s{s}"] for s in args.seeds]
            row[d] = {k: [e[k] for e in ev] for _, k in METRICS}
        table[name] = row
    return table


def budget_text(args: argparse.Namespace, res: dict[str, dict]) -> str:
    sub = {f: res[f"subset-{tag(f)}"] for f in args.fractions[:-1]}
    full = res["prep-dijet"]["counts"]["train"]
    rho = res["prep-rho"]["counts"]["train"]
    parts = [f"{tag(f)}: {s['events']} of {s['of_events']} training events, {s['samples']} "
             f"samples" for f, s in sub.items()]  # fmt: skip
    how = ("the same number of epochs for every dijet run" if args.budget == "epochs"
           else "epochs / fraction for every dijet run (about equal samples seen)")  # fmt: skip
    return (
        f"Dijet training set: {full['events']} events, {full['samples']} samples; subsets "
        f"(seed {args.subset_seed}, nested) {'; '.join(parts)}. Rho: {rho['samples']} training "
        f"samples, {args.rho_epochs} epochs for the base. Budget: {how} ({args.epochs} epochs "
        f"at 100 %); fine-tuned runs start from the seed's rho model (its samples not counted "
        f"in 'samples seen'); replay R adds R / (1 - R) of rho samples per epoch (capped at the "
        f"rho training split). Task {args.task}, config {Path(args.config).name}, 1 CPU thread "
        f"per run, evaluation on the best-validation checkpoint."
    )


def tables(args: argparse.Namespace, table: dict[str, dict[str, Any]], ref: dict) -> str:
    n = len(args.seeds)
    out = []
    for d in DATASETS:
        rows = []
        for name, row in table.items():
            seen = mean_std([t["samples_seen"] for t in row["train"]])[0]
            rows.append([name, f"{seen:.0f}", *(pm(row[d][k], n) for _, k in METRICS)])
        for rname, m in ref.get(d, {}).items():
            rows.append([f"*{rname}*", "-", *(pm([m[k]]) for _, k in METRICS)])
        out.append(f"### {d} test split (mean ± std over {n} seeds)\n")
        out.append(md_table(["model", "samples seen", *(t for t, _ in METRICS)], rows))
    return "\n".join(out)


def diff_table(table: dict, ref: str, names: list[str], d: str) -> str:
    rows = []
    for name in names:
        cells = []
        for _, k in METRICS:
            delta, _, big = exceeds(table[name][d][k], table[ref][d][k])
            cells.append("n/a" if math.isnan(delta) else f"{delta:+.3f}{' **' if big else ''}")
        rows.append([name, *cells])
    head = f"#### {d} test split: mean difference to {ref}\n\n"
    return head + md_table(["model", *(t for t, _ in METRICS)], rows)


def answer(args: argparse.Namespace, table: dict) -> str:
    """Per transfer variant on the smallest fraction: does it reach scratch on all?"""
    lo, ref = tag(args.fractions[0]), f"scratch-{tag(1.0)}"
    lines = []
    for cand in [n for n in table if n.endswith(lo) and not n.startswith("scratch")]:
        lines.append(f"Does {cand} reach {ref} on the dijet test split?")
        for title, k in METRICS:
            delta, spread, big = exceeds(table[cand]["dijet"][k], table[ref]["dijet"][k])
            if math.isnan(delta):
                lines.append(f"- {title}: n/a")
                continue
            better = (delta > 0) == HIGHER_BETTER[k]
            verdict = ("seed spread unknown (one value)" if math.isnan(spread)
                       else "within the seed spread: reaches it" if not big
                       else "better beyond the seed spread" if better
                       else "worse beyond the seed spread: does not reach it")  # fmt: skip
            lines.append(f"- {title}: {pm(table[cand]['dijet'][k])} vs "
                         f"{pm(table[ref]['dijet'][k])}, difference {delta:+.3f}, "
                         f"spread {spread:.3f}: {verdict}")  # fmt: skip
        lines.append("")
    return "\n".join(lines)


def report(args: argparse.Namespace, res: dict[str, dict]) -> str:
    table = collect(args, res)
    ref = {} if args.no_reference else {d: res[f"reference/{d}"]["models"] for d in DATASETS}
    lo = tag(args.fractions[0])
    transfer = [
        n for n in table if n.startswith(("freeze", "replay", "finetune-x", "scratch-" + lo))
    ]
    md = [
        f"## transfer rho -> dijet, {len(args.seeds)} seeds ({' '.join(map(str, args.seeds))})\n",
        budget_text(args, res) + "\n",
        tables(args, table, ref),
        (
            "### differences (** : |difference| > sqrt(s_a² + s_b²), s = std over seeds: larger "
            "than the seed spread; res68: lower is better)\n"
        ),
        diff_table(
            table, f"scratch-{tag(1.0)}", [n for n in table if n != "scratch-f100"], "dijet"
        ),
        diff_table(table, f"finetune-{lo}", transfer, "dijet"),
        diff_table(table, f"finetune-{lo}", [*transfer, "rho-only"], "rho"),
        "### the question\n",
        answer(args, table),
    ]
    write_json(args.out / "transfer.json", {"args": {k: str(v) for k, v in vars(args).items()},
                                            "variants": table, "reference": ref})  # fmt: skip
    return "\n".join(md)


def main() -> None:
    args = parse_args()
    t0 = time.perf_counter()
    pre, folders = data_steps(args)
    res = run_steps([*pre, *run_steps_of(args, folders)], args.out, jobs=args.jobs)
    md = report(args, res)
    finish(args.out, "transfer", md, res, t0)


if __name__ == "__main__":
    main()
