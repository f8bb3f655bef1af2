"""Training and inference throughput of the tagging configs (jets/s) on this machine.

For each config (default: ``particlenet-small``, ``part-small``), builds the tagger for a
jet folder (``--data``, a ``preprocess --kind jet`` output; default: a synthetic folder
written by ``tests/synthetic_jets.py``), then times ``--steps`` optimizer steps of
``--batch-size`` jets (forward, backward, AdamW step) and ``--steps`` inference batches
(``--infer-batch`` jets, no gradient), after one warm-up step each, on ``--threads`` CPU
threads or CUDA (``--device``). Prints jets/s per config. Asserts nothing about time.

Run: ``python benchmarks/bench_tagging.py --threads 2`` (about a minute on 2 cores).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

from jetpointnet.config import load_config
from jetpointnet.io.prep_folder import read_metadata, split_files
from jetpointnet.training.config import TrainConfig
from jetpointnet.training.jet_kind import build_jet_model, jet_forward
from jetpointnet.training.jet_stream import JetStream
from jetpointnet.training.tagging import TaggingTask

ROOT = Path(__file__).resolve().parents[1]


def _batches(data: Path, metadata: dict, size: int, n: int) -> list[dict[str, torch.Tensor]]:
    ds = JetStream(
        split_files(data, "train"), batch_size=size, n_classes=len(metadata["classes"]), seed=0
    )
    out = []
    for batch in ds:
        out.append(batch)
        if len(out) == n + 1:
            break
    return out


def bench(name: str, data: Path, args: argparse.Namespace) -> dict[str, float]:
    cfg = load_config(TrainConfig, ROOT / "configs" / "train" / f"{name}.yaml")
    metadata = read_metadata(data)
    task = TaggingTask(cfg.task)
    model, _ = build_jet_model(cfg, metadata, task)
    dev = torch.device(args.device)
    model.to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    rows = {}
    for mode, size in (("train", args.batch_size), ("infer", args.infer_batch)):
        batches = [
            {k: v.to(dev) for k, v in b.items()} for b in _batches(data, metadata, size, args.steps)
        ]
        model.train(mode == "train")
        n = 0
        for i, batch in enumerate(batches):
            if i == 1:  # after the warm-up step
                if dev.type == "cuda":
                    torch.cuda.synchronize()
                t0 = time.perf_counter()
            with torch.set_grad_enabled(mode == "train"):
                out = jet_forward(model, batch)
                if mode == "train":
                    loss = task.loss(out["pred"], batch)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
            n += len(batch["y_cloud"]) if i else 0
        if dev.type == "cuda":
            torch.cuda.synchronize()
        rows[mode] = n / (time.perf_counter() - t0)
    rows["parameters"] = sum(p.numel() for p in model.parameters())
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, help="jet folder (default: synthetic)")
    p.add_argument("--configs", nargs="+", default=["particlenet-small", "part-small"])
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--infer-batch", type=int, default=256)
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    data = args.data
    if data is None:
        sys.path.insert(0, str(ROOT / "tests"))
        from synthetic_jets import write_jet_folder

        data = write_jet_folder(
            Path(tempfile.mkdtemp(prefix="bench-tagging-")), jets={"train": 2400}, chunk=600
        )
    for name in args.configs:
        r = bench(name, data, args)
        print(
            f"{name}: {r['parameters']} parameters, train {r['train']:.0f} jets/s "
            f"(batch {args.batch_size}), inference {r['infer']:.0f} jets/s "
            f"(batch {args.infer_batch}), {args.threads} threads, {args.device}"
        )


if __name__ == "__main__":
    main()
