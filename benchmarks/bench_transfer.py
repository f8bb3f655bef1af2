"""Transfer learning on simulated data: train on rho, then on dijets, three ways.

(0) the rho model as is; (a) fine-tuned on dijets with nothing else (``--init-from``);
(b) fine-tuned with the body frozen (``--freeze '^body\\.'``, only the head learns);
(c) fine-tuned with replay of rho samples (``--replay``, schedule ``--schedule``); and
(d) trained on dijets from scratch. Binary task (focal cell or not). For every model,
the test split of both datasets: accuracy and energy-weighted accuracy over labelled
cells. Prints a Markdown table and the equivalent commands; asserts nothing.

    python benchmarks/bench_transfer.py --rho-events 400 --dijet-events 60
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from predict_helpers import make_data, train_config

from jetpointnet.io.prep_folder import load_arrays, split_files
from jetpointnet.simulate.run import SimulateConfig, simulate
from jetpointnet.training.inference import predict
from jetpointnet.training.loop import train


def _scores(run: Path, data: Path) -> tuple[float, float]:
    """(accuracy, energy-weighted accuracy) of the run on ``data``'s test split."""
    p = predict(run, data, split="test", progress=False)
    y, m, e = [], [], []
    for f in split_files(data, "test"):
        z = load_arrays(f)
        y.append(z["y_binary"])
        m.append(z["label_mask"])
        e.append(z["energy"])
    yy, mm, ee = np.concatenate(y), np.concatenate(m), np.concatenate(e)
    right = (p["pred"][mm] > 0.5) == (yy[mm] == 1)
    w = np.abs(ee[mm])
    return float(right.mean()), float((right * w).sum() / w.sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rho-events", type=int, default=400)
    ap.add_argument("--dijet-events", type=int, default=60)
    ap.add_argument("--epochs", type=int, default=6, help="rho training epochs")
    ap.add_argument("--fine-epochs", type=int, default=4, help="dijet epochs")
    ap.add_argument("--schedule", type=float, nargs="+", default=[0.3])
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-transfer-"))
    t0 = time.perf_counter()
    rho = simulate(SimulateConfig(preset="rho", events=args.rho_events, seed=11,
                                  out=tmp / "sim-rho"), progress=False)  # fmt: skip
    jets = simulate(SimulateConfig(preset="dijet-jz2", events=args.dijet_events, seed=12,
                                   out=tmp / "sim-dijet"), progress=False)  # fmt: skip
    d_rho = make_data(rho, tmp / "rho", events_per_chunk=100)
    d_jet = make_data(jets, tmp / "dijet", events_per_chunk=20)
    print(f"simulate + preprocess: {time.perf_counter() - t0:.0f} s")
    common = ["task.name=binary", f"train.threads={args.threads}"]
    runs: dict[str, Path] = {}

    def fit(name: str, data: Path, epochs: int, **transfer: object) -> None:
        cfg = train_config(*common, f"train.epochs={epochs}")
        for key, value in transfer.items():
            setattr(cfg.transfer, key, value)
        t = time.perf_counter()
        train(cfg, data_dir=data, out_dir=tmp / name, progress=False)
        runs[name] = tmp / name
        print(f"{name}: {time.perf_counter() - t:.0f} s")

    fit("rho", d_rho, args.epochs)
    base = str(runs["rho"])
    fit("a_finetune", d_jet, args.fine_epochs, init_from=base)
    fit("b_freeze", d_jet, args.fine_epochs, init_from=base, freeze=[r"^body\."])
    fit("c_replay", d_jet, args.fine_epochs, init_from=base, replay_data=str(d_rho),
        replay_schedule=list(args.schedule))  # fmt: skip
    fit("d_scratch", d_jet, args.fine_epochs)
    print("\n| model | rho acc | rho E-weighted acc | dijet acc | dijet E-weighted acc |")
    print("|---|---|---|---|---|")
    for name, run in runs.items():
        r, j = _scores(run, d_rho), _scores(run, d_jet)
        print(f"| {name} | {r[0]:.3f} | {r[1]:.3f} | {j[0]:.3f} | {j[1]:.3f} |")
    sched = " ".join(str(s) for s in args.schedule)
    print("\nCommands (same configs):")
    print(f"  jetpointnet train --data RHO --out rho --config configs/train/small.yaml "
          f"--task binary --set train.epochs={args.epochs}")  # fmt: skip
    fine = (f"jetpointnet train --data DIJET --config configs/train/small.yaml --task binary "
            f"--set train.epochs={args.fine_epochs} --init-from rho")  # fmt: skip
    print(f"  (a) {fine} --out a")
    print(f"  (b) {fine} --out b --freeze '^body\\.'")
    print(f"  (c) {fine} --out c --replay RHO --replay-schedule {sched}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {rss:.0f} MiB; total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
