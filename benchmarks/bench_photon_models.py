"""Seed 003's comparison on a photon folder: CNN vs GNN vs point cloud, and the batch-norm study.

Default mode, for each config (default ``alp-cnn-small``, ``arma-gnn-small``,
``particlenet-small``; ``--seed-sized``: ``alp-cnn``, ``arma-gnn``, ``particlenet``):
the parameter count, training samples/s (``--steps`` optimizer steps of ``--batch-size``
objects: forward, loss, backward, step) and inference samples/s (``--infer-batch``, no
gradient), after one warm-up batch each, on ``--threads`` CPU threads or ``--device
cuda``; and the memory per sample: the bytes of the batch tensors the model reads, per
object, as batched (graphs and cells cut to the batch's largest object) and as stored
(padded to the folder's sizes), with the fraction of non-zero image pixels (the seed's
storage argument: images are mostly empty).

``--batch-norm-study``: trains ``--study-config`` (default ``alp-cnn-small``) four times
through ``jetpointnet.training.train`` for ``--epochs``: batch norm off / on
(``model.options.batch_norm``) x ``data.batch_order`` ``shuffled`` / ``class_sorted``,
and prints the 2 x 2 table of the best checkpoint's validation AUC.

``--data``: a ``preprocess --kind photon`` folder; default: a synthetic folder written
by ``tests/synthetic_photons.py`` (``--synthetic N`` training objects). Asserts nothing.

Run: ``python benchmarks/bench_photon_models.py --threads 2`` (about 2 minutes on 2 cores);
``python benchmarks/bench_photon_models.py --batch-norm-study --epochs 5``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from jetpointnet.config import load_config
from jetpointnet.evaluation.tagging_metrics import binary_summary
from jetpointnet.io.prep_folder import read_metadata, split_files
from jetpointnet.models.taggers import tagger_inputs
from jetpointnet.training import TrainConfig, train
from jetpointnet.training.jet_kind import jet_forward
from jetpointnet.training.photon_kind import build_photon_model, make_photon_streams, read_shapes
from jetpointnet.training.tagging import TaggingTask
from jetpointnet.training.tagging_inference import jet_table, load_tagging_run, score_split

ROOT = Path(__file__).resolve().parents[1]
_STORED = {"x": ("X",), "mask": ("mask",), "p4": ("p4",)}


def _config(name: str, overrides: list[str]) -> TrainConfig:
    return load_config(TrainConfig, ROOT / "configs" / "train" / f"{name}.yaml", overrides)


def _stored_bytes(data: Path, names: tuple[str, ...]) -> tuple[int, float | None]:
    """Bytes per object of the stored arrays ``names`` and the image's non-zero fraction."""
    first = split_files(data, "train")[0]
    stored = [s for n in names for s in _STORED.get(n, (n,))]
    with np.load(first, allow_pickle=False) as f:
        size = sum(f[s][:1].nbytes for s in stored)
        nonzero = float((f["image"] != 0).mean()) if "image" in stored else None
    return size, nonzero


def _timed(model, task, batches, *, training: bool, dev: torch.device) -> float:
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3) if training else None
    model.train(training)
    n, t0 = 0, 0.0
    for i, batch in enumerate(batches):
        if i == 1:  # after the warm-up batch
            if dev.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
        with torch.set_grad_enabled(training):
            pred = jet_forward(model, batch)["pred"]
            if opt is not None:
                opt.zero_grad()
                task.loss(pred, batch).backward()
                opt.step()
        n += len(batch["y_cloud"]) if i else 0
    if dev.type == "cuda":
        torch.cuda.synchronize()
    return n / max(time.perf_counter() - t0, 1e-9)


def compare(name: str, data: Path, args: argparse.Namespace) -> dict[str, float | None]:
    """Parameters, samples/s and bytes per sample of config ``name`` on ``data``."""
    metadata, dev = read_metadata(data), torch.device(args.device)
    row: dict[str, float | None] = {}
    for mode, size in (("train", args.batch_size), ("infer", args.infer_batch)):
        cfg = _config(name, [f"data.batch_size={size}"])
        task = TaggingTask(cfg.task)
        model, _ = build_photon_model(cfg, metadata, task, data_dir=data)
        stream, _ = make_photon_streams(cfg, data, metadata, model=model, rank=0, world_size=1)
        batches = []
        for batch in stream:
            batches.append({k: v.to(dev) for k, v in batch.items()})
            if len(batches) == args.steps + 1:
                break
        row[mode] = _timed(model.to(dev), task, batches, training=mode == "train", dev=dev)
        inputs = tagger_inputs(model)
        b = batches[0]
        row["batch_bytes"] = sum(b[k].element_size() * b[k].numel() for k in inputs) / len(
            b["y_cloud"]
        )
    row["parameters"] = sum(p.numel() for p in model.parameters())
    row["stored_bytes"], row["image_nonzero"] = _stored_bytes(data, inputs)
    return row


def _val_auc(run: Path, data: Path) -> float:
    tagged = load_tagging_run(run)
    probs = score_split(tagged, data, split="val", progress=False)
    y = jet_table(data, "val", observers=tagged.observers)["y_cloud"] == len(tagged.classes) - 1
    return float(binary_summary(y, probs[:, -1], n_boot=0)["auc"])


def batch_norm_study(data: Path, args: argparse.Namespace) -> None:
    """The 2 x 2 table: validation AUC, batch norm off/on x shuffled/class-sorted batches."""
    out = Path(tempfile.mkdtemp(prefix="bench-bn-"))
    print(f"batch-norm study: {args.study_config}, {args.epochs} epochs, validation AUC")
    print(f"{'':16s} {'shuffled':>10s} {'class_sorted':>13s}")
    for bn in (False, True):
        aucs = []
        for order in ("shuffled", "class_sorted"):
            cfg = _config(args.study_config, [
                f"model.options.batch_norm={str(bn).lower()}", f"data.batch_order={order}",
                f"train.epochs={args.epochs}", f"train.threads={args.threads}",
                f"train.device={args.device}", "train.tensorboard=false",
                f"train.seed={args.seed}", f"data.batch_size={args.batch_size}",
            ])  # fmt: skip
            run = out / f"bn{int(bn)}-{order}"
            train(cfg, data_dir=data, out_dir=run, progress=False)
            aucs.append(_val_auc(run, data))
        print(f"{'batch norm ' + ('on' if bn else 'off'):16s} {aucs[0]:10.4f} {aucs[1]:13.4f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, help="photon folder (default: synthetic)")
    p.add_argument("--synthetic", type=int, default=1200, help="synthetic training objects")
    p.add_argument("--configs", nargs="+")
    p.add_argument("--seed-sized", action="store_true", help="alp-cnn, arma-gnn, particlenet")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--infer-batch", type=int, default=256)
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch-norm-study", action="store_true")
    p.add_argument("--study-config", default="alp-cnn-small")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    data = args.data
    if data is None:
        sys.path.insert(0, str(ROOT / "tests"))
        from synthetic_photons import write_photon_folder

        n = args.synthetic
        data = write_photon_folder(Path(tempfile.mkdtemp(prefix="bench-photons-")),
                                   objects={"train": n, "val": n // 3, "test": n // 3}, chunk=400)  # fmt: skip
    if args.batch_norm_study:
        batch_norm_study(data, args)
        return
    sized = ["alp-cnn", "arma-gnn", "particlenet"]
    names = args.configs or (sized if args.seed_sized else [f"{s}-small" for s in sized])
    shapes = read_shapes(split_files(data, "train")[0], ["image", "node_x", "X"])
    print(f"{data}: image {shapes['image']}, nodes {shapes['node_x']}, cells {shapes['X']}")
    for name in names:
        r = compare(name, data, args)
        nz = (
            ""
            if r["image_nonzero"] is None
            else f", {100 * r['image_nonzero']:.1f} % pixels non-zero"
        )
        print(
            f"{name}: {r['parameters']} parameters, train {r['train']:.0f} samples/s "
            f"(batch {args.batch_size}), inference {r['infer']:.0f} samples/s "
            f"(batch {args.infer_batch}), input {r['batch_bytes']:.0f} B/sample batched, "
            f"{r['stored_bytes']} B/sample stored{nz}; {args.threads} threads, {args.device}"
        )


if __name__ == "__main__":
    main()
