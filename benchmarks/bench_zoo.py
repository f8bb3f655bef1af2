"""The model zoo side by side: every model trained with the same CPU budget on rho and dijets.

Simulates rho events, JZ2 dijets and a charged-pion gun (the classical algorithm's
templates), preprocesses them with ``configs/data/demo.yaml`` (clouds of at most 128
points), then for each dataset and each model trains on the binary focal-cell task of
seed 001 for the same wall-clock budget (``--budget`` seconds of training on
``--threads`` CPU threads: the epoch size is set from a throughput probe of the model,
so that ``--epochs`` epochs fill the budget), evaluates it on the test split with seed
001's baselines and the classical particle-flow algorithm, and writes the ``compare``
table per dataset (``OUT/compare-rho.md``, ``OUT/compare-dijet.md``, with .csv).

It also prints, per model, training samples/s (mean of the epochs), the budget actually
used, and the modal-collapse check of seed 001: the fraction of validation cells
predicted focal against the true fraction (last epoch).

Run: ``python benchmarks/bench_zoo.py --out /tmp/zoo`` (about 15 minutes on 2 cores with
the defaults). Reproducible from ``--seed``; timings are not. Asserts nothing about time.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import numpy as np
import torch

from jetpointnet.config import load_config
from jetpointnet.data.config import PreprocessConfig
from jetpointnet.data.preprocess import preprocess
from jetpointnet.evaluation.compare import compare
from jetpointnet.evaluation.evaluate import EvaluateConfig, evaluate_run
from jetpointnet.evaluation.pflow.build import build_templates
from jetpointnet.evaluation.pflow.templates import load_templates, save_templates
from jetpointnet.io.prep_folder import read_metadata, split_files
from jetpointnet.models import build_model
from jetpointnet.simulate.run import SimulateConfig, simulate
from jetpointnet.training.config import TrainConfig
from jetpointnet.training.dataset import (
    EXTRA_FILL,
    ChunkStream,
    feature_indices,
    feature_names,
)
from jetpointnet.training.logging import read_log
from jetpointnet.training.loop import train
from jetpointnet.training.tasks import make_task

ROOT = Path(__file__).resolve().parents[1]
#: label -> (train config file, overrides)
MODELS = {
    "pointnet": ("small.yaml", []),
    "edgeconv": ("edgeconv-small.yaml", []),
    "transformer": ("transformer-small.yaml", []),
    "transformer-nobias": ("transformer-small.yaml", ["model.options.pair_bias=false"]),
    "cnn": ("cnn-small.yaml", []),
    "gnn": ("gnn-small.yaml", []),
    # seed 001's remedies for modal collapse, on the model that collapsed on dijets
    "transformer-Eweighted": ("transformer-small.yaml", ["task.energy_weight=E"]),
    "transformer-multiclass": ("transformer-small.yaml", ["task.name=multiclass"]),
}


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_data(out: Path, args: argparse.Namespace) -> tuple[dict[str, Path], Path]:
    """Simulated and preprocessed rho and dijet folders, and the templates file."""

    def sample(name: str, **kw: object) -> list[Path]:
        return simulate(
            SimulateConfig(seed=args.seed, out=out / "data" / name, **kw), progress=False
        )  # type: ignore[arg-type]

    t0 = time.perf_counter()
    files = {
        "rho": sample("rho", preset="rho", events=args.rho_events, events_per_file=max(args.rho_events // 4, 1)),
        "dijet": sample("dijet", preset="dijet-jz2", events=args.dijet_events, events_per_file=max(args.dijet_events // 2, 1)),
    }  # fmt: skip
    pions = sample("pions", preset="gun", particle="pi+", energy_range=(1.0, 50.0),
                   eta_range=(-2.5, 2.5), events=args.pion_events, events_per_file=args.pion_events)  # fmt: skip
    print(f"simulation: {time.perf_counter() - t0:.0f} s")
    prep = {}
    for name, paths in files.items():
        # the extra per-point arrays of the cnn and gnn (ignored by the other models)
        cfg = load_config(
            PreprocessConfig,
            ROOT / "configs" / "data" / "demo.yaml",
            [f"split.seed={args.seed}", "arrays.extra=[d_eta, d_phi, sampling, neighbours]"],
        )
        prep[name] = out / "prep" / name
        preprocess([str(p) for p in paths], prep[name], config=cfg, progress=False)
    tpath = out / "templates.json"
    if not tpath.exists():
        save_templates(build_templates([str(p) for p in pions], progress=False), tpath)
    print(f"simulation + preprocessing + templates: {time.perf_counter() - t0:.0f} s")
    return prep, tpath


def probe_rate(cfg: TrainConfig, data_dir: Path, *, batches: int = 6) -> float:
    """Training samples/s of ``cfg``'s model on ``data_dir`` (forward, backward, Adam)."""
    meta = read_metadata(data_dir)
    feats = feature_indices(meta, cfg.data.features, where="probe")
    files = split_files(data_dir, "train")
    task = make_task(cfg.task)
    torch.manual_seed(0)
    names = feature_names(meta, cfg.data.features)
    assert names is not None, "metadata.json lists no features"
    model = build_model(
        cfg.model.name,
        cfg.model.options,
        in_features=len(names),
        head=task.head,
        feature_names=names,
    )
    extras = [k for k in model.inputs if k in EXTRA_FILL]
    ds = ChunkStream(files, batch_size=cfg.data.batch_size, seed=1, features=feats,
                     bucketing=cfg.data.bucketing, extras=extras)  # fmt: skip
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    n, t, step = 0, 0.0, 0
    for epoch in range(1000):  # small splits: go round again until enough steps
        ds.set_epoch(epoch)
        for batch in ds:
            t0 = time.perf_counter()
            more = {k: batch[k] for k in extras}
            out = model(batch["x"], batch["mask"], batch["energy"], **more)
            loss = task.loss(out["pred"], batch)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step > 0:  # the first step warms up
                t += time.perf_counter() - t0
                n += len(batch["x"])
            step += 1
            if step > batches:
                return n / max(t, 1e-9)
    return n / max(t, 1e-9)


def run_model(label: str, data: str, prep: Path, tpath: Path, out: Path, args) -> dict:
    cfg_file, overrides = MODELS[label]
    cfg = load_config(TrainConfig, ROOT / "configs" / "train" / cfg_file, [
        "task.name=binary", *overrides, f"train.seed={args.seed}", f"train.epochs={args.epochs}",
        "train.device=cpu", f"train.threads={args.threads}", "train.tensorboard=false",
        "train.early_stopping=null",
    ])  # fmt: skip
    rate = probe_rate(cfg, prep)
    per_epoch = max(cfg.data.batch_size, int(rate * args.budget / args.epochs))
    cfg.train.samples_per_epoch = per_epoch
    run_dir = out / "runs" / f"{label}-{data}"
    t0 = time.perf_counter()
    result = train(
        cfg, data_dir=prep, out_dir=run_dir, resume=(run_dir / "last.pt").exists(), progress=False
    )
    wall = time.perf_counter() - t0
    ecfg = EvaluateConfig(displays=[], pdf=False, seed=args.seed)
    evaluate_run(result.run_dir, prep, split="test", out_dir=out / "eval" / data / label,
                 templates=load_templates(tpath), progress=False, cfg=ecfg, overwrite=True)  # fmt: skip
    log = read_log(run_dir / "log.csv")
    last = log[-1]
    return {
        "model": label,
        "probe samples/s": rate,
        "samples/epoch": per_epoch,
        "train wall s": wall,
        "train samples/s": float(np.mean([r["samples_per_s"] for r in log])),
        "frac pred focal": last["frac_pred_focal"],
        "frac true focal": last["frac_true_focal"],
        "norm": cfg.model.options.get("norm"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("zoo-bench"))
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    ap.add_argument("--datasets", nargs="+", default=["rho", "dijet"], choices=["rho", "dijet"])
    ap.add_argument(
        "--budget", type=float, default=90.0, help="training seconds per model and dataset"
    )
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rho-events", type=int, default=1000)
    ap.add_argument("--dijet-events", type=int, default=30)
    ap.add_argument("--pion-events", type=int, default=30000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    prep, tpath = make_data(args.out, args)
    for data in args.datasets:
        meta = read_metadata(prep[data])
        print(f"\n## {data}: {meta['counts']['train']['samples']} training samples, "
              f"L = {meta['length']}, budget {args.budget:.0f} s per model on {args.threads} threads")  # fmt: skip
        rows = [run_model(label, data, prep[data], tpath, args.out, args) for label in args.models]
        keys = list(rows[0])
        print("| " + " | ".join(keys) + " |\n|" + "---|" * len(keys))
        for r in rows:
            print(
                "| "
                + " | ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in r.values())
                + " |"
            )
        md, _ = compare([args.out / "eval" / data / m for m in args.models],
                        out=args.out / f"compare-{data}", overwrite=True)  # fmt: skip
        print(md)
    print(f"peak RSS: {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
