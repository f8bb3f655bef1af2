"""What the seed studies (bench_transfer, bench_collapse) share: steps, subsets, tables.

- :func:`run_steps`: a list of :class:`Step` run by ``--jobs`` worker processes (spawned,
  one CPU thread each) in dependency order; every finished step leaves its result as
  ``OUT/steps/NAME.json`` (written atomically), and a re-run skips the steps that have
  one. One short line per finished step.
- Step functions (module level, so workers can import them): :func:`simulate_step`,
  :func:`preprocess_step` (``configs/data/demo.yaml``), :func:`subset_step` (a fixed,
  nested fraction of the training events), :func:`train_step`, :func:`eval_step`.
- Tables: :func:`mean_std`, :func:`pm` (``mean ± std``), :func:`md_table`,
  :func:`exceeds` (is a difference of means larger than the seed spread).
"""

from __future__ import annotations

import glob
import json
import math
import multiprocessing
import os
import resource
import shutil
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from jetpointnet.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
DATA_CONFIG = ROOT / "configs" / "data" / "demo.yaml"
CPU = [
    "train.device=cpu",
    "train.threads=1",
    "train.tensorboard=false",
    "train.early_stopping=null",
]
#: The metrics of the tables: (column title, path into a model's metrics.json entry).
METRICS = (
    ("F1", "cell.f1"),
    ("E-weighted acc.", "cell.energy_weighted_accuracy"),
    ("res68 isolated", "track.isolated.resolution_68"),
    ("res68 dense", "track.dense.resolution_68"),
)
#: Kept in the step results too (not in the tables).
MORE_METRICS = ("cell.accuracy", "cell.auc", "track.inclusive.resolution_68")


def peak_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident memory (MiB) of this process (or its largest finished child)."""
    return resource.getrusage(who).ru_maxrss / 1024


def write_json(path: Path, obj: Any) -> None:
    """``obj`` as JSON at ``path``, atomically (no NaN: written as null)."""
    from jetpointnet.io.atomic import atomic_output
    from jetpointnet.io.jsonio import strict_dumps

    with atomic_output(path, overwrite=True) as tmp:
        tmp.write_text(strict_dumps(obj, indent=1))


def write_text(path: Path, text: str) -> None:
    """``text`` at ``path``, atomically."""
    from jetpointnet.io.atomic import atomic_output

    with atomic_output(path, overwrite=True) as tmp:
        tmp.write_text(text)


def tag(fraction: float) -> str:
    """``f010`` for 10 % of the training set."""
    return f"f{round(fraction * 100):03d}"


def expand(pattern: str, what: str) -> list[str]:
    """The files of a glob pattern, sorted; none: one line and exit 2."""
    files = sorted(glob.glob(pattern))
    if not files:
        raise SystemExit(f"--{what} {pattern!r}: no files match")
    return files


# ---------------------------------------------------------------- steps and their runner


@dataclass(frozen=True)
class Step:
    """``fn(**kwargs)`` -> a JSON-able dict, after every step named in ``deps``."""

    name: str
    fn: Callable[..., dict[str, Any]]
    kwargs: dict[str, Any] = field(default_factory=dict)
    deps: tuple[str, ...] = ()


def _init_worker() -> None:
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)


def _run_one(fn: Callable[..., dict[str, Any]], kwargs: dict[str, Any], path: str) -> dict:
    t0 = time.perf_counter()
    result = fn(**kwargs)
    result["wall_s"] = time.perf_counter() - t0
    result["kwargs"] = kwargs
    result["worker_peak_rss_mib"] = peak_rss_mib()
    write_json(Path(path), result)
    return result


def step_path(out: Path, name: str) -> Path:
    return out / "steps" / f"{name}.json"


def run_steps(steps: Sequence[Step], out: Path, *, jobs: int) -> dict[str, dict[str, Any]]:
    """Run the steps without a result file, ``jobs`` at a time; every step's result.

    A failed step is reported (one line) and the steps that need it are left out; the
    process then exits 1 after the others finished (their results are kept).
    """
    results: dict[str, dict[str, Any]] = {}
    todo: dict[str, Step] = {}
    for s in steps:
        p = step_path(out, s.name)
        if p.is_file():
            results[s.name] = json.loads(p.read_text())
            if results[s.name].get("kwargs") != json.loads(json.dumps(s.kwargs)):
                raise SystemExit(f"{p}: made with other arguments (another --out, or remove it)")
        else:
            todo[s.name] = s
    print(f"{len(results)} of {len(steps)} steps done before (skipped), {len(todo)} to run")
    failed: list[str] = []
    if todo:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_worker) as pool:
            running: dict[Any, Step] = {}
            n_done, n_all = 0, len(todo)
            while todo or running:
                for name in [n for n, s in todo.items() if all(d in results for d in s.deps)]:
                    s = todo.pop(name)
                    path = str(step_path(out, s.name))
                    running[pool.submit(_run_one, s.fn, s.kwargs, path)] = s
                if not running:
                    break  # the rest wait on failed steps
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in finished:
                    s = running.pop(fut)
                    n_done += 1
                    try:
                        res = fut.result()
                    except Exception as exc:  # noqa: BLE001 - reported, the others go on
                        failed.append(s.name)
                        print(f"[{n_done}/{n_all}] {s.name}: FAILED ({type(exc).__name__}: {exc})")
                        continue
                    results[s.name] = res
                    note = f", {res['summary']}" if res.get("summary") else ""
                    print(f"[{n_done}/{n_all}] {s.name}: {res['wall_s']:.0f} s{note}", flush=True)
    if failed or todo:
        print(f"failed: {', '.join(failed)}; not run (need a failed step): {', '.join(todo)}")
        raise SystemExit(1)
    return results


# ------------------------------------------------------------------------- step functions


def simulate_step(preset: str, events: int, seed: int, out: str) -> dict[str, Any]:
    from jetpointnet.simulate.run import SimulateConfig, simulate

    if Path(out).exists():
        shutil.rmtree(out)  # an interrupted simulation of ours: start again
    files = simulate(SimulateConfig(preset=preset, events=events, seed=seed, out=Path(out),
                                    events_per_file=max(events // 4, 1)), progress=False)  # fmt: skip
    return {"files": [str(f) for f in files], "summary": f"{events} {preset} events"}


def preprocess_step(inputs: list[str], out: str, split_seed: int, workers: int) -> dict[str, Any]:
    """``configs/data/demo.yaml`` (clouds of at most 128 points) on ``inputs``."""
    from jetpointnet.config import load_config
    from jetpointnet.data.config import PreprocessConfig
    from jetpointnet.data.preprocess import preprocess
    from jetpointnet.io.prep_folder import read_metadata

    cfg = load_config(PreprocessConfig, DATA_CONFIG, [f"split.seed={split_seed}"])
    preprocess(inputs, out, config=cfg, workers=workers, progress=False)
    counts = read_metadata(out)["counts"]
    for split in ("train", "val", "test"):
        if counts[split]["samples"] == 0:
            raise UserError(
                f"{out}: the {split} split is empty (more events or another --split-seed)"
            )
    c = {k: {"events": v["events"], "samples": v["samples"]} for k, v in counts.items()}
    return {"counts": c, "summary": ", ".join(f"{k} {v['samples']}" for k, v in c.items())}


def _event_keys(path: Path) -> np.ndarray:
    with np.load(path, allow_pickle=False) as f:
        return (f["file_index"].astype(np.int64) << 32) + f["entry"].astype(np.int64)


def _take(arrays: dict[str, np.ndarray], keep: np.ndarray, path: Path) -> dict[str, np.ndarray]:
    """The samples ``keep`` (bool per sample) of a chunk's arrays, in either layout."""
    from jetpointnet.data.schema import PER_SAMPLE

    n = len(keep)
    if "offsets" not in arrays:  # padded: every array is (n, ...)
        return {k: v[keep] for k, v in arrays.items()}
    offsets = arrays["offsets"]
    p = int(offsets[-1])
    points = np.repeat(keep, np.diff(offsets))
    out: dict[str, np.ndarray] = {}
    for k, v in arrays.items():
        if k == "offsets":
            out[k] = np.concatenate([[0], np.cumsum(np.diff(offsets)[keep])]).astype(np.int64)
        elif k in PER_SAMPLE or (len(v) == n and len(v) != p):
            out[k] = v[keep]
        elif len(v) == p:
            out[k] = v[points]
        else:
            raise UserError(f"{path}: array {k!r} has {len(v)} rows, neither {n} nor {p}")
    return out


def subset_step(full: str, out: str, fraction: float, seed: int) -> dict[str, Any]:
    """A preprocess folder with a fixed ``fraction`` of ``full``'s training *events*.

    The events (``file_index``, ``entry``) of the training split are put in a random
    order from ``seed``; the first ``round(fraction * n)`` are kept, with all their
    samples, so a smaller fraction is a subset of a larger one (same seed). The kept
    samples are written as new training chunk files (same names); ``val`` and ``test``
    of both stages are (relative) links to ``full``'s; ``metadata.json`` is ``full``'s with the
    training counts of the subset and a ``subset`` entry. No stage-1 training files.
    """
    from jetpointnet.io.prep_folder import load_arrays, read_metadata, split_files
    from jetpointnet.io.sample_files import write_npz

    src, dst = Path(full).resolve(), Path(out)
    if dst.exists():
        shutil.rmtree(dst)  # an interrupted subset of ours
    files = split_files(src, "train")
    keys = [_event_keys(f) for f in files]
    events = np.unique(np.concatenate(keys))
    order = np.random.default_rng(seed).permutation(len(events))
    n_keep = max(1, round(fraction * len(events)))
    chosen = events[order[:n_keep]]
    counts = {"files": 0, "samples": 0, "points": 0, "events": n_keep, "bytes": 0}
    for f, k in zip(files, keys, strict=True):
        keep = np.isin(k, chosen)
        if not keep.any():
            continue
        part = _take(load_arrays(f), keep, f)
        target = write_npz(dst / "arrays" / "train" / f.name, part)
        counts["files"] += 1
        counts["samples"] += int(keep.sum())
        counts["points"] += int(part["n_points"].sum())
        counts["bytes"] += target.stat().st_size
    for stage in ("arrays", "samples"):
        for split in ("val", "test"):
            if (src / stage / split).is_dir():
                (dst / stage).mkdir(parents=True, exist_ok=True)
                rel = os.path.relpath(src / stage / split, (dst / stage).resolve())
                (dst / stage / split).symlink_to(rel, target_is_directory=True)  # movable
    meta = read_metadata(src)
    full_train = dict(meta["counts"]["train"])
    meta["counts"]["train"] = {**counts, "stage1_samples": 0}
    meta["subset"] = {"of": str(src), "fraction": fraction, "seed": seed, "events": n_keep,
                      "of_events": len(events), "of_samples": full_train["samples"],
                      "note": "training split only (stage 2); val and test link to 'of'"}  # fmt: skip
    write_json(dst / "metadata.json", meta)
    share = counts["samples"] / max(full_train["samples"], 1)
    return {**meta["subset"], "samples": counts["samples"],
            "summary": f"{n_keep}/{len(events)} events, {counts['samples']} samples ({share:.1%})"}  # fmt: skip


def train_step(
    config: str, overrides: list[str], data: str, run_dir: str, transfer: dict | None = None
) -> dict[str, Any]:
    """Train ``config`` + ``overrides`` (on 1 CPU thread) on ``data`` into ``run_dir``;
    ``transfer``: fields of ``cfg.transfer`` (init_from, freeze, replay_*). An interrupted
    run is resumed from its ``last.pt``."""
    from jetpointnet.config import load_config
    from jetpointnet.training.config import TrainConfig, check_train_config
    from jetpointnet.training.logging import read_log
    from jetpointnet.training.loop import train

    cfg = load_config(TrainConfig, config, [*CPU, *overrides])
    for key, value in (transfer or {}).items():
        setattr(cfg.transfer, key, value)
    check_train_config(cfg)
    run = Path(run_dir)
    resume = (run / "last.pt").exists()
    if run.exists() and not resume:
        shutil.rmtree(run)  # ours, stopped before its first checkpoint
    res = train(cfg, data_dir=data, out_dir=run, resume=resume, progress=False)
    log = read_log(run / "log.csv")
    seen = round(sum(r["samples_per_s"] * r["epoch_time_s"] for r in log))
    last = log[-1]
    ratio = last["frac_pred_focal"] / last["frac_true_focal"] if last["frac_true_focal"] else None
    return {
        "run_dir": str(run),
        "epochs": res.epochs_done,
        "best_epoch": res.best_epoch,
        "best_val_loss": res.best_val_loss,
        "samples_seen": seen,
        "train_s": float(sum(r["epoch_time_s"] for r in log)),
        "val_frac_pred_focal": last["frac_pred_focal"],
        "val_frac_true_focal": last["frac_true_focal"],
        "summary": f"{res.epochs_done} epochs, {seen} samples seen, best val loss "
        f"{res.best_val_loss:.4g}, val pred/true focal {ratio if ratio is None else round(ratio, 3)}",
    }


def dotted(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def pick(model: dict[str, Any]) -> dict[str, Any]:
    """The table metrics (and :data:`MORE_METRICS`) of one model's metrics.json entry."""
    return {k: dotted(model, k) for k in (*(k for _, k in METRICS), *MORE_METRICS)}


def quick_eval_config(seed: int = 0) -> Any:
    """Evaluation of the network only: no baselines, classical algorithm, displays or pdf."""
    from jetpointnet.evaluation.evaluate import EvaluateConfig

    return EvaluateConfig(baselines=[], pflow=False, displays=[], pdf=False, seed=seed)


def eval_step(run_dir: str, data: str, out_dir: str) -> dict[str, Any]:
    """``evaluate_run`` of the network on ``data``'s test split (metrics.json in out_dir)."""
    from jetpointnet.evaluation.evaluate import evaluate_run

    m = evaluate_run(run_dir, data, split="test", out_dir=out_dir, progress=False,
                     cfg=quick_eval_config(), overwrite=True)  # fmt: skip
    res = pick(m["models"][Path(run_dir).name])
    res["n_samples"] = m["n_samples"]
    res["summary"] = f"F1 {res['cell.f1']:.3f} on {m['n_samples']} test samples"
    return res


def reference_step(data: str, out_dir: str, templates: str | None) -> dict[str, Any]:
    """The classical algorithm and the smart-random baseline on ``data``'s test split."""
    from jetpointnet.evaluation.evaluate import EvaluateConfig, evaluate_predictions

    cfg = EvaluateConfig(baselines=["smart_random"], displays=[], pdf=False)
    m = evaluate_predictions({}, data, split="test", out_dir=out_dir, templates=templates,
                             cfg=cfg, progress=False, overwrite=True)  # fmt: skip
    res = {name: pick(model) for name, model in m["models"].items()}
    return {
        "models": res,
        "summary": ", ".join(f"{k} F1 {v['cell.f1']:.3f}" for k, v in res.items()),
    }


# --------------------------------------------------------------------------------- tables


def mean_std(values: Sequence[float | None]) -> tuple[float, float, int]:
    """(mean, std with ddof=1 (nan for one value), n) of the values that are not None."""
    v = np.array([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    if v.size == 0:
        return math.nan, math.nan, 0
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else math.nan, int(v.size)


def pm(values: Sequence[float | None], n_expected: int | None = None, digits: int = 3) -> str:
    """``mean ± std`` (``(n=k)`` appended when values are missing; ``n/a`` for none)."""
    m, s, n = mean_std(values)
    if n == 0:
        return "n/a"
    text = f"{m:.{digits}f}" + (f" ± {s:.{digits}f}" if n > 1 else "")
    return text + (f" (n={n})" if n_expected is not None and n < n_expected else "")


def exceeds(a: Sequence[float | None], b: Sequence[float | None]) -> tuple[float, float, bool]:
    """(mean(a) - mean(b), spread, |difference| > spread) with spread = sqrt(s_a² + s_b²),
    the seed-to-seed scatter of the difference of two single runs (s: std over seeds)."""
    (ma, sa, na), (mb, sb, nb) = mean_std(a), mean_std(b)
    d = ma - mb
    spread = math.sqrt(sa**2 + sb**2) if na > 1 and nb > 1 else math.nan
    return d, spread, bool(math.isfinite(spread) and abs(d) > spread)


def md_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def finish(out: Path, name: str, md: str, res: dict[str, dict[str, Any]], t0: float) -> None:
    """Write ``OUT/NAME.md``, print it, where the results are and the peak memory."""
    write_text(out / f"{name}.md", md)
    print("\n" + md)
    print(f"results: {out / f'{name}.md'}, {out / f'{name}.json'}")
    workers = peak_rss_mib(resource.RUSAGE_CHILDREN)
    steps_rss = max((r.get("worker_peak_rss_mib", 0) for r in res.values()), default=0)
    print(f"peak RSS: main {peak_rss_mib():.0f} MiB, largest worker {max(workers, steps_rss):.0f} "
          f"MiB; wall {time.perf_counter() - t0:.0f} s")  # fmt: skip
