"""Training and inference throughput of ``pointnet`` (samples/s) and peak memory.

For the small CPU preset and the 5.1 M-parameter JetPointNet model, at L = 300 and
L = 900 points per sample (11 input features, every point real), on CPU with 2 threads
and on CUDA when available (bf16 autocast there). A training step is forward, masked
MSE + orthogonality loss, backward and an Adam step; inference is a no-grad forward in
eval mode. Also the data stream's rate (samples/s) on a synthetic ragged npz dataset.

Run: ``python benchmarks/bench_train.py`` (about 3 minutes on 2 CPU cores). Prints
figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import torch

from jetpointnet.config import load_config
from jetpointnet.io.prep_folder import split_files
from jetpointnet.models import HeadSpec, build_model, count_parameters
from jetpointnet.training.config import TaskConfig, TrainConfig
from jetpointnet.training.dataset import ChunkStream
from jetpointnet.training.tasks import make_task

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "train"
N_FEATURES = 11


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def batch(b: int, n: int, device: torch.device) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    out = {
        "x": torch.randn(b, n, N_FEATURES, generator=g),
        "mask": torch.ones(b, n, dtype=torch.bool),
        "energy": torch.rand(b, n, generator=g) * 3,
        "label_mask": torch.ones(b, n, dtype=torch.bool),
        "y_energy": torch.rand(b, n, generator=g),
    }
    return {k: v.to(device) for k, v in out.items()}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def measure(preset: str, n: int, b: int, steps: int, device: torch.device) -> dict[str, float]:
    cfg = load_config(TrainConfig, CONFIGS / f"{preset}.yaml")
    task = make_task(TaskConfig(name="regression"))
    torch.manual_seed(0)
    model = build_model(
        cfg.model.name, cfg.model.options, in_features=N_FEATURES, head=HeadSpec("energy")
    ).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    data = batch(b, n, device)
    amp = device.type == "cuda"

    def train_step() -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            out = model(data["x"], data["mask"], data["energy"])
        loss = task.loss(out["pred"], data) + 1e-3 * out["aux_loss"].float()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    @torch.no_grad()
    def infer_step() -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            model(data["x"], data["mask"], data["energy"])

    result = {"params": count_parameters(model)}
    for name, step, mode in (("train", train_step, True), ("infer", infer_step, False)):
        model.train(mode)
        step()  # warm-up
        sync(device)
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        sync(device)
        result[name] = steps * b / (time.perf_counter() - t0)
    result["rss"] = peak_rss_mib()
    if device.type == "cuda":
        result["gpu_mem"] = torch.cuda.max_memory_allocated(device) / 2**20
        torch.cuda.reset_peak_memory_stats(device)
    return result


def loader_rate(samples: int) -> float:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from synthetic_arrays import write_dataset

    with tempfile.TemporaryDirectory() as tmp:
        per_file = samples // 4
        root = write_dataset(
            Path(tmp) / "d", files={"train": 4}, samples_per_file=per_file, max_cells=300
        )
        ds = ChunkStream(split_files(root, "train"), batch_size=256, bucketing=True)
        t0 = time.perf_counter()
        n = sum(len(b["sample_id"]) for b in ds)
        return n / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--presets", nargs="+", default=["small", "jetpointnet-5m"])
    parser.add_argument("--lengths", nargs="+", type=int, default=[300, 900])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    devices = [torch.device("cpu")]
    if torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    print(f"torch {torch.__version__}, CPU threads {torch.get_num_threads()}")
    print(f"{'device':6} {'preset':16} {'params':>10} {'L':>5} {'batch':>5} "
          f"{'train/s':>9} {'infer/s':>9} {'peakRSS MiB':>11} {'GPU MiB':>8}")  # fmt: skip
    for device in devices:
        for preset in args.presets:
            for n in args.lengths:
                big = preset != "small"
                if device.type == "cuda":
                    b = 256
                else:
                    b = (8 if big else 32) if n <= 300 else (4 if big else 16)
                r = measure(preset, n, b, args.steps, device)
                gpu = f"{r['gpu_mem']:8.0f}" if "gpu_mem" in r else f"{'-':>8}"
                print(f"{device.type:6} {preset:16} {r['params']:>10,} {n:>5} {b:>5} "
                      f"{r['train']:9.1f} {r['infer']:9.1f} {r['rss']:11.0f} {gpu}")  # fmt: skip
    rate = loader_rate(2048)
    print(f"data stream (ragged npz, L<=302, bucketing, batch 256): {rate:,.0f} samples/s")
    print(f"peak RSS of the whole benchmark: {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
