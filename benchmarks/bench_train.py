"""Training and inference throughput of the per-point models (samples/s), and the loader alone.

Models: the small CPU preset of each per-point model (``pointnet`` = ``small``,
``edgeconv``, ``transformer``, ``cnn``, ``gnn``) and the 5.1 M-parameter JetPointNet
(``jetpointnet-5m``), at L points per sample (11 input features, every point real; the
cnn's and gnn's extra inputs filled with valid values). A training step is forward,
masked MSE + orthogonality loss, backward and an Adam step; inference is a no-grad
forward in eval mode. Each combination of ``--amp`` (bfloat16 autocast) and
``--compile`` (``torch.compile``, dynamic shapes as ``train.compile`` does) is timed in
the same process; the compile column is the time of the first (warm-up) steps minus a
steady step's. On CUDA, ``--batch`` sizes run up to the first out-of-memory.

Loader alone: samples/s of each data kind's own training stream (``track``, ``jet``,
``event``; ``photon`` when that kind is registered) over a synthetic folder, no model,
through the training loop's DataLoader (``--workers``; pinned memory on CUDA). The
track folder has L <= 302 points per sample (uniform lengths), batched as in
``configs/train/jetpointnet-5m.yaml``.

Run: ``python benchmarks/bench_train.py`` (about 5 minutes on 2 CPU cores); ``--json
FILE`` also writes every figure as one JSON record per line. Prints figures; asserts
nothing about time.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import torch

from jetpointnet.config import load_config
from jetpointnet.data.config import ArraysConfig
from jetpointnet.io.prep_folder import read_metadata
from jetpointnet.models import HeadSpec, build_model, count_parameters
from jetpointnet.training.config import TaskConfig, TrainConfig
from jetpointnet.training.dataset import EXTRA_FILL
from jetpointnet.training.epoch import make_loader, to_device
from jetpointnet.training.kinds import KINDS
from jetpointnet.training.tasks import make_task

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs" / "train"
FEATURE_NAMES = ArraysConfig().features  # the 11 default stage-2 features (x, y, z, ...)
N_FEATURES = len(FEATURE_NAMES)
ZOO = ["small", "edgeconv-small", "transformer-small", "cnn-small", "gnn-small"]
#: data kind -> the train config whose data options the loader uses
LOADER_CONFIGS = {
    "track": "jetpointnet-5m",
    "jet": "particlenet",
    "event": "event",
    "photon": "photon",
}


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def batch(b: int, n: int, device: torch.device) -> dict[str, torch.Tensor]:
    """A synthetic batch of ``b`` samples of ``n`` real points, with the zoo's extras."""
    g = torch.Generator().manual_seed(0)
    out = {
        "x": torch.randn(b, n, N_FEATURES, generator=g),
        "mask": torch.ones(b, n, dtype=torch.bool),
        "energy": torch.rand(b, n, generator=g) * 3,
        "label_mask": torch.ones(b, n, dtype=torch.bool),
        "y_energy": torch.rand(b, n, generator=g),
        "d_eta": (torch.rand(b, n, generator=g) - 0.5) * 0.4,  # within the cnn's grid
        "d_phi": (torch.rand(b, n, generator=g) - 0.5) * 0.4,
        "sampling": torch.randint(0, 24, (b, n), generator=g),
        "neighbours": torch.randint(-1, n, (b, n, 7), generator=g),  # sample-local, -1 none
    }
    return {k: v.to(device) for k, v in out.items()}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _timed(step, steps: int, device: torch.device, *, blocks: int = 3) -> tuple[float, float]:
    """(seconds of the 2 warm-up steps, seconds per step: the best of ``blocks`` blocks of
    ``steps`` steps, against the noise of shared cores)."""
    sync(device)
    t0 = time.perf_counter()
    for _ in range(2):
        step()
    sync(device)
    warm = time.perf_counter() - t0
    best = float("inf")
    for _ in range(blocks):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        sync(device)
        best = min(best, (time.perf_counter() - t0) / steps)
    return warm, best


def measure(
    preset: str,
    n: int,
    b: int,
    steps: int,
    device: torch.device,
    *,
    amp: bool = False,
    compile: bool = False,
    blocks: int = 3,
) -> dict[str, float]:
    """Training and inference samples/s of ``preset`` on batches of ``b`` x ``n`` points."""
    cfg = load_config(TrainConfig, CONFIGS / f"{preset}.yaml")
    task = make_task(TaskConfig(name="regression"))
    torch.manual_seed(0)
    model = build_model(
        cfg.model.name,
        cfg.model.options,
        in_features=N_FEATURES,
        head=HeadSpec("energy"),
        feature_names=FEATURE_NAMES,
    ).to(device)
    net = torch.compile(model, dynamic=True) if compile else model
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    data = batch(b, n, device)
    extras = {k: data[k] for k in getattr(model, "inputs", ()) if k in EXTRA_FILL}

    def train_step() -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            out = net(data["x"], data["mask"], data["energy"], **extras)
        loss = task.loss(out["pred"], data) + 1e-3 * out["aux_loss"].float()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    @torch.no_grad()
    def infer_step() -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            net(data["x"], data["mask"], data["energy"], **extras)

    result: dict[str, float] = {"params": count_parameters(model), "compile_s": 0.0}
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    for name, step, mode in (("train", train_step, True), ("infer", infer_step, False)):
        model.train(mode)
        warm, per_step = _timed(step, steps, device, blocks=blocks)
        result[name] = b / per_step
        result["compile_s"] += max(0.0, warm - 2 * per_step) if compile else 0.0
    result["rss"] = peak_rss_mib()
    if device.type == "cuda":
        result["gpu_mem"] = torch.cuda.max_memory_allocated(device) / 2**20
    return result


def onnx_rates(preset: str, n: int, b: int, steps: int) -> dict[str, float]:
    """CPU inference samples/s of ``preset`` (fresh weights, eval mode) through the
    predict backends: PyTorch (``TorchBackend``) and its ONNX export under ONNX Runtime
    (``OnnxBackend``, the threads of PyTorch), on the same numpy batch; and the largest
    difference of their outputs."""
    from jetpointnet.predict.backends import OnnxBackend, TorchBackend
    from jetpointnet.predict.export import export_model

    cfg = load_config(TrainConfig, CONFIGS / f"{preset}.yaml")
    torch.manual_seed(0)
    model = build_model(
        cfg.model.name,
        cfg.model.options,
        in_features=N_FEATURES,
        head=HeadSpec("energy"),
        feature_names=FEATURE_NAMES,
    ).eval()
    data = {k: v.numpy() for k, v in batch(b, n, torch.device("cpu")).items()}
    extras = {k: data[k] for k in getattr(model, "inputs", ()) if k in EXTRA_FILL}
    with tempfile.TemporaryDirectory() as tmp:
        path = export_model(model, Path(tmp) / "m.onnx", in_features=N_FEATURES, name=preset)
        backends = [TorchBackend(model), OnnxBackend(path, threads=torch.get_num_threads())]
        out: dict[str, float] = {}
        preds = []
        for be in backends:

            def step(be=be) -> None:
                preds.append(be(data["x"], data["mask"], data["energy"], extras=extras))

            _, per_step = _timed(step, steps, torch.device("cpu"))
            out[be.name] = b / per_step
    out["max_abs_diff"] = float(abs(preds[0] - preds[-1]).max())
    return out


def write_folder(root: Path, kind_name: str, samples: int) -> Path | None:
    """A synthetic preprocessed folder of ``kind_name`` (None: no writer for that kind)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from synthetic_arrays import write_dataset
    from synthetic_events import write_event_dataset
    from synthetic_jets import write_jet_folder

    files = max(2, samples // 1024)
    if kind_name == "track":
        return write_dataset(
            root / "track", files={"train": files, "val": 1},
            samples_per_file=max(1, samples // files), max_cells=300,
        )  # fmt: skip
    if kind_name == "jet":
        return write_jet_folder(root / "jet", jets={"train": samples, "val": 64, "test": 64})
    if kind_name == "event":
        return write_event_dataset(
            root / "event", files={"train": 2, "val": 1}, events_per_file=max(8, samples // 8)
        )
    return None


def loader_rate(
    kind_name: str, data_dir: Path, *, workers: int, device: torch.device, epochs: int = 2
) -> dict[str, float]:
    """Samples/s of ``kind_name``'s training stream over ``data_dir`` without a model:
    the training loop's DataLoader (``workers`` processes, pinned on CUDA) and the copy to
    ``device``, over ``epochs`` epochs (each starting its workers, as in training)."""
    cfg_name = LOADER_CONFIGS[kind_name]
    cfg = load_config(TrainConfig, CONFIGS / f"{cfg_name}.yaml", [f"data.num_workers={workers}"])
    kind = KINDS[kind_name]
    meta = read_metadata(data_dir)
    task = make_task(cfg.task)
    model, _ = kind.build_model(cfg, meta, task, data_dir=data_dir)
    ds, _ = kind.make_streams(cfg, data_dir, meta, model=model, rank=0, world_size=1)
    n, points = 0, 0
    t0 = time.perf_counter()
    for epoch in range(epochs):
        ds.set_epoch(epoch)
        for cpu_batch in make_loader(ds, cfg, device):
            b = to_device(cpu_batch, device)
            n += len(cpu_batch["sample_id"])
            mask = b.get("mask", b.get("cell_mask"))
            points += int(mask.shape[0] * mask.shape[1]) if mask is not None else 0
    sync(device)
    elapsed = time.perf_counter() - t0
    return {"samples_per_s": n / elapsed, "padded_points_per_sample": points / max(n, 1)}


def _emit(record: dict, sink) -> None:
    if sink is not None:
        sink.write(json.dumps(record) + "\n")
        sink.flush()


def run_models(args: argparse.Namespace, device: torch.device, sink) -> None:
    """The model table: every preset, length, amp, compile and batch asked for."""
    print(f"{'device':6} {'preset':18} {'params':>10} {'L':>5} {'batch':>6} {'amp':>4} "
          f"{'comp':>4} {'train/s':>9} {'infer/s':>9} {'comp s':>7} {'RSS MiB':>8} {'GPU MiB':>8}")  # fmt: skip
    for preset in args.presets:
        for n in args.lengths:
            for amp in args.amp:
                for comp in args.compile:
                    for b in _batches(args, preset, n, device):
                        try:
                            r = measure(
                                preset,
                                n,
                                b,
                                args.steps,
                                device,
                                amp=amp,
                                compile=comp,
                                blocks=args.blocks,
                            )
                        except torch.OutOfMemoryError:
                            print(f"{device.type:6} {preset:18} L={n} batch {b}: out of memory")
                            _emit({"what": "model", "preset": preset, "L": n, "batch": b,
                                   "amp": amp, "compile": comp, "oom": True}, sink)  # fmt: skip
                            torch.cuda.empty_cache()
                            break
                        gpu = f"{r['gpu_mem']:8.0f}" if "gpu_mem" in r else f"{'-':>8}"
                        print(f"{device.type:6} {preset:18} {r['params']:>10,} {n:>5} {b:>6} "
                              f"{'on' if amp else 'off':>4} {'on' if comp else 'off':>4} "
                              f"{r['train']:9.1f} {r['infer']:9.1f} {r['compile_s']:7.1f} "
                              f"{r['rss']:8.0f} {gpu}", flush=True)  # fmt: skip
                        _emit({"what": "model", "device": device.type, "preset": preset,
                               "L": n, "batch": b, "amp": amp, "compile": comp, **r}, sink)  # fmt: skip


def _batches(args: argparse.Namespace, preset: str, n: int, device: torch.device) -> list[int]:
    if args.batch:
        return sorted(args.batch)
    if device.type == "cuda":
        return [256]
    big = preset == "jetpointnet-5m"
    return [(8 if big else 32) if n <= 300 else (4 if big else 16)]


def run_loader(args: argparse.Namespace, device: torch.device, sink) -> None:
    """The loader-alone table: every data kind and worker count asked for."""
    with tempfile.TemporaryDirectory() as tmp:
        for kind_name in args.kinds:  # each folder written just before it is read
            folder = write_folder(Path(tmp), kind_name, args.loader_samples)
            if kind_name not in KINDS or folder is None:
                print(f"loader {kind_name}: kind not registered or no synthetic writer; skipped")
                continue
            for w in args.workers:
                r = loader_rate(kind_name, folder, workers=w, device=device)
                print(f"loader {kind_name:6} workers {w}: {r['samples_per_s']:10,.0f} samples/s "
                      f"({r['padded_points_per_sample']:.0f} padded points per sample)", flush=True)  # fmt: skip
                _emit({"what": "loader", "device": device.type, "kind": kind_name,
                       "workers": w, **r}, sink)  # fmt: skip


def run_onnx(args: argparse.Namespace, sink) -> None:
    """The CPU inference table, PyTorch against ONNX Runtime, per preset and length."""
    for preset in args.onnx:
        for n in args.lengths:
            b = _batches(args, preset, n, torch.device("cpu"))[-1]
            r = onnx_rates(preset, n, b, args.steps)
            print(f"inference cpu {preset:18} L {n:>4} batch {b:>4}: torch {r['torch']:9.1f}/s, "
                  f"onnx {r['onnx']:9.1f}/s, onnx/torch {r['onnx'] / r['torch']:.2f} "
                  f"(outputs differ by <= {r['max_abs_diff']:.1e})", flush=True)  # fmt: skip
            _emit({"what": "onnx", "preset": preset, "L": n, "batch": b, **r}, sink)


def _on_off(text: str) -> bool:
    if text not in ("on", "off"):
        raise argparse.ArgumentTypeError(f"expected on or off, got {text!r}")
    return text == "on"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--blocks",
        type=int,
        default=3,
        help="timed blocks of --steps steps per model (the best is kept)",
    )
    parser.add_argument(
        "--steps",
        type=int,
        default=3,
        help="steps per timed block (best of 3 blocks, after 2 warm-up steps)",
    )
    parser.add_argument("--presets", nargs="*", default=["small", "jetpointnet-5m"])
    parser.add_argument("--lengths", nargs="+", type=int, default=[300, 900])
    parser.add_argument("--batch", nargs="+", type=int, help="batch sizes (default per device)")
    parser.add_argument("--amp", nargs="+", type=_on_off, default=[False], help="on and/or off")
    parser.add_argument("--compile", nargs="+", type=_on_off, default=[False])
    parser.add_argument("--kinds", nargs="*", default=["track", "jet", "event", "photon"])
    parser.add_argument("--workers", nargs="+", type=int, default=[0])
    parser.add_argument("--loader-samples", type=int, default=8192)
    parser.add_argument("--onnx", nargs="*", default=[], help="presets: CPU torch vs ONNX")
    parser.add_argument("--json", type=Path, help="also write the figures here (JSON lines)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    kind = args.device
    if kind == "auto":
        kind = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(kind)
    print(f"torch {torch.__version__}, device {device}, CPU threads {torch.get_num_threads()}")
    sink = args.json.open("a") if args.json else None
    try:
        if args.presets:
            run_models(args, device, sink)
        if args.onnx:
            run_onnx(args, sink)
        if args.kinds:
            run_loader(args, device, sink)
    finally:
        if sink is not None:
            sink.close()
    print(f"peak RSS of the whole benchmark: {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
