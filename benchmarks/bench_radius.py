"""Neighbourhood size: the same networks on clouds cut with Delta-R 0.1-0.4 or adaptive R(p).

Issue 19 item 1. On pre-simulated JZ2-JZ4 MLTree files (``--inputs``, split into
train/val/test by ``preprocess``), for every radius of ``--radii`` (fixed ``0.1`` ...
``0.4``; ``adaptive90`` / ``adaptive95``: R(p) holding 90 / 95 % of a pion's deposit,
measured on ``--pions`` with ``preprocess --measure-radius``, clamped to [0.05, 0.4]):

1. ``preprocess`` with ``configs/data/jets.yaml`` (every track above 0.5 GeV, no point cap);
2. per model of ``--models`` and seed of ``--seeds``: ``train`` (binary focal-cell task, the
   same budget at every radius: ``--epochs`` x ``--samples-per-epoch`` training samples,
   ``--val-samples`` validation samples, one thread, no early stopping), then ``evaluate``
   on the test split (cell F1, energy-weighted accuracy, track res68 isolated / dense,
   beside the classical algorithm on the same samples);
3. per radius, one ``jets`` on the held-out ``--jet-inputs`` with every run of that radius,
   ``classical`` and ``oracle:RUN`` (the run's samples with true focal energies as claims:
   the ceiling of that radius); the jet-energy resolution q68 = (q84 - q16) / 2 / median in
   truth-jet pT bins 20-40, 40-60, 60-100 GeV.

Writes ``OUT/radius.json`` (every per-run figure) and ``OUT/radius.md`` (mean ± sample std
over seeds per (radius, model), then classical and oracle rows per radius). Every step
runs as a ``jetpointnet`` command (printed once), logs into ``OUT/logs/`` and, finished,
writes ``OUT/done/STEP.json``: a re-run does only what is missing (an interrupted
``preprocess`` resumes its chunks, an interrupted ``train`` resumes from ``last.pt``).
Classical templates: ``--templates FILE``, else built from ``--pions`` (one more step).

    python benchmarks/bench_radius.py --out /tmp/radius \\
      --inputs '/work/data19/jz[234]/*_000[0-9].root' \\
      --jet-inputs '/work/data19/jz[234]/*_001[01].root' --pions '/work/data19/pions/*.root' \\
      --epochs 5 --samples-per-epoch 20000 --jobs 2

The default grid is 6 radii x 2 models x 3 seeds = 36 trainings of 100,000 samples each.
Measured pieces (2 shared cores, load ~5): ``preprocess`` of 100 JZ3 events at R = 0.4 in
10 s (75 tracks/event, 440 points/sample, ~290 MB on disk); EdgeConv at R = 0.4 trains
at ~15 samples/s on one thread (about 2 h per run), PointNet at ~110. So expect about a
day with ``--jobs 2`` on 2 cores for 3,000 JZ events, most of it EdgeConv at the large
radii, and ~25 GB under OUT. The tiny run (20 + 10 JZ2 events, 300 pions, 2 radii, both
models, 1 seed, 1 epoch of 200 samples, ``--jobs 2``) took 140 s.
Asserts nothing about time.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from jetpointnet.io.prep_folder import peek_n_points, split_files, stage1_path
from jetpointnet.io.sample_files import read_json_object, write_json

sys.path.insert(0, str(Path(__file__).parent))
from _cli_steps import T0, Runner, Step, expand, say

ROOT = Path(__file__).resolve().parents[1]
MODELS = {"pointnet": "small.yaml", "edgeconv": "edgeconv-small.yaml"}
BINS = ("20-40", "40-60", "60-100")
CLASSICAL = "classical pflow"  # jetpointnet.evaluation.evaluate.CLASSICAL
MIN_TEST_TRACKS = 5000  # the minimum test set
#: (name in radius.json, column title, path into a model's metrics.json entry)
TRACK_KEYS = (
    ("f1", "F1", "cell.f1"),
    ("e_acc", "E-weighted acc", "cell.energy_weighted_accuracy"),
    ("res68_isolated", "res68 isolated", "track.isolated.resolution_68"),
    ("res68_dense", "res68 dense", "track.dense.resolution_68"),
)


def radius_sets(tag: str, params: Path) -> list[str]:
    if tag.startswith("adaptive"):
        return ["--set", "radius.mode=adaptive", "--set", f"radius.params={params}",
                "--set", "radius.max=0.4"]  # fmt: skip
    return ["--set", "radius.mode=fixed", "--set", f"radius.fixed={float(tag)}"]


def parse_radii(radii: list[str]) -> list[str]:
    for tag in radii:
        ok = tag.startswith("adaptive") and tag[8:].isdigit() and 0 < int(tag[8:]) < 100
        with contextlib.suppress(ValueError):
            ok = ok or 0 < float(tag) < 1.5
        if not ok:
            sys.exit(f"--radii: {tag!r} is neither a Delta-R in (0, 1.5) nor adaptiveNN")
    return list(dict.fromkeys(radii))


def setup_steps(args, out: Path, pions: list[str]) -> tuple[list[Step], Path | None]:
    """The templates and --measure-radius steps; the templates file (None: eflowRec)."""
    steps, data_cfg = [], str(ROOT / "configs" / "data" / "jets.yaml")
    tpl = Path(args.templates).resolve() if args.templates else out / "templates.json"
    if not args.templates:
        steps.append(Step("templates", ["pflow-templates", *_inputs(pions), "--out", str(tpl),
                                        "--no-plot", "--quiet", "--overwrite"], output=tpl))  # fmt: skip
    for tag in args.radii:
        if tag.startswith("adaptive"):
            frac, params = int(tag[8:]) / 100, out / "radius" / f"{tag}.json"
            steps.append(Step(f"measure/{tag}", [
                "preprocess", *_inputs(pions), "--out", str(out / "radius" / tag),
                "--config", data_cfg, "--measure-radius", str(params),
                "--set", f"radius.fraction={frac}", "--no-progress"], output=params))  # fmt: skip
    return steps, tpl


def _inputs(files: list[str]) -> list[str]:
    return [a for f in files for a in ("--input", f)]


def pairs(args) -> list[tuple[str, int]]:
    """(model, seed) of every training: ``--seeds``, or a model's own ``--model-seeds``."""
    return [(m, s) for m in args.models for s in args.model_seeds.get(m, args.seeds)]


def prep_step(args, out: Path, tag: str, inputs: list[str]) -> Step:
    sets = [a for kv in args.prep_set for a in ("--set", kv)]
    cmd = ["preprocess", *_inputs(inputs), "--out", str(out / "prep" / tag),
           "--config", str(ROOT / "configs" / "data" / "jets.yaml"), *sets,
           *radius_sets(tag, out / "radius" / f"{tag}.json"), "--no-progress"]  # fmt: skip
    return Step(f"preprocess/{tag}", cmd, extra=["--workers", str(args.jobs)],
                output=out / "prep" / tag / "metadata.json")  # fmt: skip


def train_step(args, out: Path, tag: str, model: str, seed: int) -> Step:
    run = out / "runs" / tag / f"{model}-s{seed}"
    sets = [f"train.seed={seed}", f"train.epochs={args.epochs}",
            f"train.samples_per_epoch={args.samples_per_epoch}",
            f"train.val_samples={args.val_samples}", "train.threads=1",
            f"train.device={args.device}", "train.tensorboard=false",
            "train.early_stopping=null", *args.train_set]  # fmt: skip
    data = str(out / "prep" / tag)
    cmd = ["train", "--data", data, "--out", str(run), "--config",
           str(ROOT / "configs" / "train" / MODELS[model]), "--task", "binary",
           *[a for s in sets for a in ("--set", s)], "--quiet"]  # fmt: skip
    resume = ["train", "--data", data, "--out", str(run), "--resume", "--quiet"]
    return Step(f"train/{tag}/{model}-s{seed}", cmd, threads=1, output=run / "last.pt",
                resume=resume if (run / "last.pt").exists() else None)  # fmt: skip


def eval_step(out: Path, tag: str, name: str, data: Path, tpl: Path | None, threads: int) -> Step:
    cmd = ["evaluate", "--run", str(out / "runs" / tag / name), "--data", str(data),
           "--out", str(out / "eval" / tag / name), "--set", "displays=[]",
           "--set", "pdf=false", "--quiet", *(["--templates", str(tpl)] if tpl else [])]  # fmt: skip
    return Step(f"evaluate/{tag}/{name}", cmd, extra=["--overwrite"], redo=True, threads=threads,
                output=out / "eval" / tag / name / "metrics.json",
                needs=["templates", f"train/{tag}/{name}"])  # fmt: skip


def jets_step(out: Path, tag: str, names: list[str], jet_files: list[str], tpl, threads) -> Step:
    runs = [a for n in names for a in ("--run", str(out / "runs" / tag / n))]
    cmd = ["jets", "--input", *jet_files, *runs, "--oracle", "--algorithm", "classical",
           "--algorithm", "ml", "--out", str(out / "jets" / tag), "--quiet",
           *(["--templates", str(tpl)] if tpl else [])]  # fmt: skip
    return Step(f"jets/{tag}", cmd, extra=["--overwrite"], redo=True, threads=threads,
                output=out / "jets" / tag / "summary.json",
                needs=["templates", *[f"train/{tag}/{n}" for n in names]])  # fmt: skip


def test_view(out: Path, tag: str, max_samples: int | None) -> Path:
    """The preprocessed folder, or (``max_samples``) a view of its first test chunks
    holding at least that many samples (whole chunks, symbolic links)."""
    prep = out / "prep" / tag
    if not max_samples or not (prep / "metadata.json").is_file():
        return prep
    view = out / "testview" / f"{tag}-{max_samples}"
    shutil.rmtree(view, ignore_errors=True)
    (view / "arrays" / "test").mkdir(parents=True)
    (view / "samples" / "test").mkdir(parents=True)
    (view / "metadata.json").symlink_to(prep / "metadata.json")
    n = 0
    for f in split_files(prep, "test"):
        if n >= max_samples:
            break
        n += len(peek_n_points(f))
        (view / "arrays" / "test" / f.name).symlink_to(f)
        src = stage1_path(f)
        (view / "samples" / "test" / src.name).symlink_to(src)
    return view


def points_stats(prep: Path) -> dict:
    """Points per training sample (mean, 99 % quantile) and the samples per split."""
    meta = read_json_object(prep / "metadata.json")
    n = np.concatenate([peek_n_points(f) for f in split_files(prep, "train")])
    counts = {s: c["samples"] for s, c in meta["counts"].items()}
    return {"points_mean": float(n.mean()), "points_q99": float(np.quantile(n, 0.99)),
            "max_points": int(n.max()), "samples": counts}  # fmt: skip


def _get(obj, dotted: str):
    for part in dotted.split("."):
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def jet_q68(summary: dict | None, algo: str) -> dict:
    rows = (summary or {}).get("response", {}).get(algo, [])
    by_bin = {r["bin"]: r for r in rows}
    return {b: {"q68": _get(by_bin.get(b), "e.q68"), "q68_err": _get(by_bin.get(b), "e.q68_err"),
                "n": _get(by_bin.get(b), "e.n")} for b in BINS}  # fmt: skip


def run_figures(out: Path, tag: str, model: str, seed: int, jets: dict | None) -> dict:
    name = f"{model}-s{seed}"
    row: dict = {"radius": tag, "model": model, "seed": seed, "run": str(out / "runs" / tag / name)}
    log = out / "runs" / tag / name / "log.csv"
    if log.is_file():
        from jetpointnet.training.logging import read_log

        rates = [r["samples_per_s"] for r in read_log(log)]
        row["train_samples_per_s"] = float(np.mean(rates)) if rates else None
        row["epochs_logged"] = len(rates)
    marker = out / "done" / "train" / tag / f"{name}.json"
    if marker.is_file():  # wall time of the last (possibly resumed) training command
        row["train_wall_s"] = read_json_object(marker)["seconds"]
    mpath = out / "eval" / tag / name / "metrics.json"
    if mpath.is_file():
        m = read_json_object(mpath)
        net = m["models"].get(name, {})
        row.update({k: _get(net, p) for k, _, p in TRACK_KEYS})
        row["res68_inclusive"] = _get(net, "track.inclusive.resolution_68")
        row["test_samples"] = m["n_samples"]
        row["test_tracks_scored"] = _get(net, "track.inclusive.n_tracks")
    row["jets"] = jet_q68(jets, f"ml:{name}")
    row["oracle_jets"] = jet_q68(jets, f"oracle:{name}")
    return row


def radius_figures(out: Path, tag: str, names: list[str]) -> dict:
    r: dict = {"radius": tag}
    if (out / "prep" / tag / "metadata.json").is_file():
        r.update(points_stats(out / "prep" / tag))
    if tag.startswith("adaptive") and (out / "radius" / f"{tag}.json").is_file():
        p = read_json_object(out / "radius" / f"{tag}.json")
        r["radius_params"] = {k: p[k] for k in ("a", "b", "fraction", "n_samples")}
    for name in names:  # the classical algorithm on the same test samples: any run's
        mpath = out / "eval" / tag / name / "metrics.json"
        if mpath.is_file():
            cls = read_json_object(mpath)["models"].get(CLASSICAL, {})
            r["classical"] = {k: _get(cls, p) for k, _, p in TRACK_KEYS}
            break
    spath = out / "jets" / tag / "summary.json"
    summary = read_json_object(spath) if spath.is_file() else None
    r["jets_classical"] = jet_q68(summary, "classical")
    r["jets_events"] = summary["events"] if summary else None
    return r | {"_summary": summary}


def fmt(values: list, digits: int = 3) -> str:
    """mean ± sample std (ddof 1) of the finite values; the mean alone for one value."""
    v = np.array([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if not len(v):
        return "–"
    if len(v) == 1:
        return f"{v[0]:.{digits}f}"
    return f"{v.mean():.{digits}f} ± {v.std(ddof=1):.{digits}f}"


def table(args, radii: dict, runs: list[dict]) -> str:
    head = ["radius", "model", "points/sample mean (q99)", "train samples/s",
            *[t for _, t, _ in TRACK_KEYS], *[f"jet res {b}" for b in BINS]]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    notes = []
    for tag in args.radii:
        r = radii[tag]
        pts = f"{r['points_mean']:.1f} ({r['points_q99']:.0f})" if "points_mean" in r else "–"
        for model in args.models:
            rows = [x for x in runs if x["radius"] == tag and x["model"] == model]
            cells = [fmt([x.get("train_samples_per_s") for x in rows], 0),
                     *[fmt([x.get(k) for x in rows]) for k, _, _ in TRACK_KEYS],
                     *[fmt([x["jets"][b]["q68"] for x in rows]) for b in BINS]]  # fmt: skip
            lines.append(f"| {tag} | {model} (n={len(rows)}) | {pts} | " + " | ".join(cells) + " |")
        cls = r.get("classical", {})
        lines.append(f"| {tag} | classical | {pts} | – | "
                     + " | ".join(fmt([cls.get(k)]) for k, _, _ in TRACK_KEYS) + " | "
                     + " | ".join(fmt([r["jets_classical"][b]["q68"]]) for b in BINS) + " |")  # fmt: skip
        ora = [x for x in runs if x["radius"] == tag]
        lines.append(f"| {tag} | oracle:RUN (ceiling) | {pts} | – | – | – | – | – | "
                     + " | ".join(fmt([x["oracle_jets"][b]["q68"] for x in ora]) for b in BINS)
                     + " |")  # fmt: skip
        notes.append(_count_note(tag, r, ora))
    return "\n".join([*lines, "", *notes])


def _count_note(tag: str, r: dict, rows: list[dict]) -> str:
    test = next((x.get("test_samples") for x in rows if x.get("test_samples")), None)
    scored = next((x.get("test_tracks_scored") for x in rows if x.get("test_tracks_scored")), None)
    njets = {b: r["jets_classical"][b]["n"] for b in BINS}
    note = (f"- {tag}: {test} test tracks ({scored} scored); training samples "
            f"{r.get('samples', {}).get('train')}; matched classical jets per bin {njets}")  # fmt: skip
    if "radius_params" in r:
        note += ("; R(p) = {a:.4f} + {b:.4f} / sqrt(p/GeV) from {n_samples} pion tracks"
                 .format(**r["radius_params"]))  # fmt: skip
    if test is None or (scored or 0) < MIN_TEST_TRACKS:
        note += f"\n- WARNING {tag}: fewer than {MIN_TEST_TRACKS:,} test tracks scored"
    return note


def run_all(args, out: Path, runner: Runner, files: dict) -> None:
    setup, tpl = setup_steps(args, out, files["pions"])
    threads = max(1, (os.cpu_count() or 1) // args.jobs)
    with ThreadPoolExecutor(args.jobs) as pool:
        list(pool.map(runner.run, setup))
    if "templates" in runner.failed:
        tpl = None  # evaluate and jets fall back to the eflowRec reference values
        say("templates failed: the classical algorithm uses the eflowRec reference values")
    ready = [t for t in args.radii
             if f"measure/{t}" not in runner.failed and runner.run(prep_step(args, out, t, files["inputs"]))]  # fmt: skip
    for tag in ready:
        meta = read_json_object(out / "prep" / tag / "metadata.json")
        n_train = meta["counts"]["train"]["samples"]
        if n_train < args.samples_per_epoch:
            say(f"WARNING {tag}: {n_train} training samples < --samples-per-epoch: each epoch "
                "sees the whole split, not the fixed budget")  # fmt: skip

    views = {tag: test_view(out, tag, args.max_test_samples) for tag in ready}

    def chain(job: tuple[str, str, int]) -> bool:
        tag, model, seed = job
        return runner.run(train_step(args, out, tag, model, seed)) and runner.run(
            eval_step(out, tag, f"{model}-s{seed}", views[tag], tpl, threads))  # fmt: skip

    jobs = [(t, m, s) for t in ready for m, s in pairs(args)]
    with ThreadPoolExecutor(args.jobs) as pool:
        ok = dict(zip(jobs, pool.map(chain, jobs), strict=True))
    jets = []
    for tag in ready:
        if all(ok[(tag, m, s)] for m, s in pairs(args)):
            names = [f"{m}-s{s}" for m, s in pairs(args)]
            jets.append(jets_step(out, tag, names, files["jet_inputs"], tpl, threads))
        else:
            say(f"jets/{tag}: skipped (a run of this radius failed)")
    with ThreadPoolExecutor(args.jobs) as pool:
        list(pool.map(runner.run, jets))


def step_rss(out: Path) -> dict[str, float]:
    """The largest peak RSS (MiB) recorded in ``OUT/done`` per kind of step."""
    peak: dict[str, float] = {}
    for f in sorted((out / "done").rglob("*.json")):
        kind = f.relative_to(out / "done").parts[0].removesuffix(".json")
        rss = read_json_object(f).get("peak_rss_mib", 0.0)
        peak[kind] = max(peak.get(kind, 0.0), rss)
    return peak


def report(args, out: Path) -> None:
    radii, runs = {}, []
    for tag in args.radii:
        names = [f"{m}-s{s}" for m, s in pairs(args)]
        radii[tag] = radius_figures(out, tag, names)
        summary = radii[tag].pop("_summary")
        runs += [run_figures(out, tag, m, s, summary) for m, s in pairs(args)]
    md = table(args, radii, runs)
    title = (f"# Neighbourhood size (issue 19): {args.epochs} epochs x {args.samples_per_epoch} "
             f"training samples, seeds {args.seeds} {args.model_seeds or ''}, "
             f"overrides {args.train_set}")  # fmt: skip
    md += (f"\n\nmean ± sample std over seeds. Points per training sample (track point "
           f"included), mean and 99 % quantile. Training samples/s: one thread each, {args.jobs} "
           "trainings at a time. Jet res: q68 = (q84 - q16) / 2 / median of E_reco / E_truth "
           "per truth-jet pT bin (GeV), on --jet-inputs. The classical jets do not depend on the "
           "radius (event-level subtraction); its track figures do (the same test samples). "
           "oracle:RUN: the runs' samples with true focal energies as claims.")  # fmt: skip
    (out / "radius.md").write_text(f"{title}\n\n{md}\n")
    config = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    record = {"config": config, "radii": radii, "runs": runs, "peak_rss_mib": step_rss(out)}
    write_json(out / "radius.json", record)
    print(f"\n{title}\n\n{md}\n\nwritten: {out / 'radius.md'}, {out / 'radius.json'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inputs", nargs="+", required=True, metavar="GLOB", help="JZ MLTree files")
    ap.add_argument("--jet-inputs", nargs="+", required=True, metavar="GLOB",
                    help="held-out MLTree files for the jets step (not in --inputs)")  # fmt: skip
    ap.add_argument("--pions", nargs="+", required=True, metavar="GLOB",
                    help="pion-gun files: --measure-radius and the templates")  # fmt: skip
    ap.add_argument("--templates", help="classical templates JSON (default: from --pions)")
    ap.add_argument("--radii", nargs="+", default=["0.1", "0.2", "0.3", "0.4", "adaptive90", "adaptive95"])  # fmt: skip
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    ap.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    ap.add_argument("--model-seeds", nargs="+", default=[], metavar="MODEL=S1,S2",
                    help="a model's own seeds (e.g. edgeconv=1: the expensive one once)")  # fmt: skip
    ap.add_argument("--train-set", action="append", default=[], metavar="KEY=VALUE",
                    help="train-config override, e.g. task.energy_weight=E")  # fmt: skip
    ap.add_argument("--prep-set", action="append", default=[], metavar="KEY=VALUE",
                    help="data-config override for preprocess, e.g. split.test=0.4")  # fmt: skip
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--samples-per-epoch", type=int, default=20000)
    ap.add_argument("--val-samples", type=int, default=5000)
    ap.add_argument("--max-test-samples", type=int, help="evaluate on the first test chunks only")
    ap.add_argument("--jobs", type=int, default=1, help="trainings (and others) in parallel")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"])
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    args.radii = parse_radii(args.radii)
    args.seeds = list(dict.fromkeys(args.seeds))
    try:
        args.model_seeds = {m: [int(x) for x in v.split(",")]
                            for m, v in (kv.split("=", 1) for kv in args.model_seeds)}  # fmt: skip
    except ValueError:
        sys.exit(f"--model-seeds: give MODEL=S1,S2, got {args.model_seeds}")
    if args.jobs < 1 or args.epochs < 1 or args.samples_per_epoch < 1:
        sys.exit("--jobs, --epochs and --samples-per-epoch must be >= 1")
    out = args.out.resolve()
    found = {k: expand(getattr(args, k), f"--{k.replace('_', '-')}")
             for k in ("inputs", "jet_inputs", "pions")}  # fmt: skip
    both = set(found["inputs"][1]) & set(found["jet_inputs"][1])
    if both:
        sys.exit(f"--jet-inputs: {min(both)} is also in --inputs (jets need held-out events)")
    say(", ".join(f"{len(v[1])} {k} file(s)" for k, v in found.items())
        + f"; radii {args.radii}; out {out}")  # fmt: skip
    files = {k: v[0] for k, v in found.items()}
    runner = Runner(out)
    run_all(args, out, runner, files)
    report(args, out)
    self_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    steps = ", ".join(f"{k} {v:.0f}" for k, v in step_rss(out).items())
    print(f"peak RSS: {self_mib:.0f} MiB (this process); largest per kind of step, MiB "
          f"(OUT/done, workers of preprocess not counted): {steps}")  # fmt: skip
    print(f"wall: {time.perf_counter() - T0:.0f} s")
    if runner.failed:
        sys.exit(f"{len(runner.failed)} step(s) failed: {', '.join(runner.failed)} (see OUT/logs)")


if __name__ == "__main__":
    main()
