"""Benchmark of ``predict``: CPU inference samples/s, PyTorch vs ONNX Runtime.

Simulates ``--events`` rho events, preprocesses them (demo config), trains the small
preset for one epoch, exports it to ONNX, then measures (1) model inference alone on
the preprocessed samples (batches of ``--batch-size``, sorted by length) and (2) the
whole ``predict`` (read, stage 1 + 2, inference, parquet output) per backend. Prints
figures only; asserts nothing about time.

    python benchmarks/bench_predict.py --events 300 --threads 2
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from predict_helpers import make_data, make_run

from jetpointnet.io.prep_folder import split_files
from jetpointnet.predict.backends import OnnxBackend, TorchBackend
from jetpointnet.predict.export import export_onnx
from jetpointnet.predict.run import PredictConfig, infer_points, predict_files
from jetpointnet.simulate.run import SimulateConfig, simulate
from jetpointnet.training.dataset import load_chunk
from jetpointnet.training.inference import load_run
from jetpointnet.training.tasks import make_task


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=300)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="bench-predict-"))
    files = simulate(
        SimulateConfig(preset="rho", events=args.events, seed=3, out=tmp / "sim"), progress=False
    )
    data = make_data(files, tmp / "data", events_per_chunk=100)
    run = make_run(data, tmp / "run", f"train.threads={args.threads}")
    onnx_file = export_onnx(run, tmp / "model.onnx")
    model, cfg, _ = load_run(run, device="cpu")
    task = make_task(cfg.task)
    chunks = [load_chunk(f) for s in ("train", "val", "test") for f in split_files(data, s)]
    n = sum(c.n for c in chunks)
    print(f"{n} samples, {sum(int(c.offsets[-1]) for c in chunks)} points, "
          f"{args.threads} threads, batch {args.batch_size}")  # fmt: skip
    backends = {"torch": TorchBackend(model), "onnx": OnnxBackend(onnx_file, threads=args.threads)}
    for name, backend in backends.items():
        best = np.inf
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            for c in chunks:
                energy = c.points["energy"]
                infer_points(backend, task, c.x, energy, c.offsets, batch_size=args.batch_size)
            best = min(best, time.perf_counter() - t0)
        print(f"inference {name:5s}: {n / best:10.0f} samples/s")
    for name in backends:
        cfg_p = PredictConfig(backend=name, onnx_file=onnx_file, threads=args.threads)
        t0 = time.perf_counter()
        res = predict_files(run, [str(f) for f in files], tmp / f"{name}.parquet",
                            config=cfg_p, progress=False)  # fmt: skip
        dt = time.perf_counter() - t0
        print(f"predict   {name:5s}: {res.samples / dt:10.0f} samples/s, "
              f"{res.events / dt:8.0f} events/s end to end ({res.rows} rows)")  # fmt: skip
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {rss:.0f} MiB")


if __name__ == "__main__":
    main()
