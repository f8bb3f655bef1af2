"""Figures of a ``preprocess --kind photon`` folder: counts, cut flow, storage, speed.

    python benchmarks/bench_photon_data.py [--events 200] [--work DIR] [--json OUT.json]
    python benchmarks/bench_photon_data.py --folder DIR     # an existing folder only

Without ``--folder``: ALP events through the simulator's detector (no generator:
``tests/photons_simulated.py``), an ALP of ``--mass`` GeV and ``--momentum`` GeV along a
direction uniform in abs(eta) < ``--eta`` decaying to two photons, ``--events`` prompt
events (decay at the origin) and ``--events`` displaced ones (Lxy uniform in
[0, ``--lxy-max``] mm), then ``preprocess --kind photon`` (configs/data/photons.yaml,
``object`` = ``--object``) on them, timed. Prints: objects per class and split, the cut flow, the truncations, the
storage of one object as image, graph and cells (dense bytes of the padded arrays, the
occupied fraction, compressed bytes), the mean cells, nodes and edges per object and the
median obj_e / truth_e per class, the preprocess's objects/s, the kept displaced
photons per generated one against Lxy, and the pointing z0 residuals of the prompt
objects (and of ``--pointing N`` single photons from z0 = +-500 mm).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

FORMS = {"image": ("image",), "graph": ("node_x", "node_mask", "edges", "edge_mask"),
         "cells": ("X", "mask", "p4")}  # fmt: skip
LXY_BINS = [0, 100, 250, 500, 1000, 1500, 2000, 3000, 4000]


def _inputs(work: Path, args) -> tuple[dict[str, list[str]], np.ndarray, float]:
    """Simulated prompt and displaced files; the generated Lxy per displaced event; seconds."""
    from photons_simulated import alp_truth, write_photon_showers

    from jetpointnet.simulate.geometry import build_geometry
    from jetpointnet.simulate.material import material_table

    geo, mat = build_geometry(), material_table()
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    out, lxy_gen = {}, np.zeros(0)
    for name in ("prompt", "displaced"):
        lxy = (
            rng.uniform(0, args.lxy_max, args.events)
            if name == "displaced"
            else np.zeros(args.events)
        )
        truths = [alp_truth(args.mass, args.momentum, float(rng.uniform(-args.eta, args.eta)),
                            float(rng.uniform(-np.pi, np.pi)), float(x), rng) for x in lxy]  # fmt: skip
        path = write_photon_showers(work / f"{name}.root", truths, geo, mat, seed=args.seed)
        out[name] = [str(path)]
        lxy_gen = lxy if name == "displaced" else lxy_gen
    return out, lxy_gen, time.perf_counter() - t0


def _preprocess(inputs: dict, out: Path, object_rule: str = "cluster") -> tuple[dict, float]:
    from jetpointnet.config import load_config
    from jetpointnet.photons.config import PhotonPrepConfig
    from jetpointnet.photons.preprocess import preprocess_photons

    cfg = load_config(
        PhotonPrepConfig, str(Path(__file__).parents[1] / "configs/data/photons.yaml"), []
    )
    cfg.inputs, cfg.object = inputs, object_rule
    t0 = time.perf_counter()
    res = preprocess_photons(out, config=cfg, progress=False)
    return res.metadata, time.perf_counter() - t0


def _load(folder: Path) -> dict[str, np.ndarray]:
    parts = [dict(np.load(f)) for f in sorted((folder / "arrays").glob("*/*.npz"))]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _storage(a: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Per object and input form: dense bytes, occupied fraction, compressed bytes."""
    n = len(a["y_cloud"])
    occupied = {"image": float((a["image"] > 0).mean()),
                "graph": float((a["node_mask"].sum() + a["edge_mask"].sum())
                               / (a["node_mask"].size + a["edge_mask"].size)),
                "cells": float(a["mask"].mean())}  # fmt: skip
    out = {}
    for form, keys in FORMS.items():
        buf = io.BytesIO()
        np.savez_compressed(buf, **{k: a[k] for k in keys})
        out[form] = {"dense_bytes": sum(a[k][0].nbytes for k in keys), "occupied": occupied[form],
                     "compressed_bytes": buf.tell() / n}  # fmt: skip
    return out


def _resolution(dz: np.ndarray) -> dict[str, float]:
    dz = dz[np.isfinite(dz)]
    lo, hi = np.percentile(dz, [16, 84]) if len(dz) else (np.nan, np.nan)
    return {"n": len(dz), "median_mm": float(np.median(dz)) if len(dz) else np.nan,
            "resolution_mm": float(hi - lo) / 2}  # fmt: skip


def _pointing(work: Path, n: int, seed: int) -> dict[str, dict[str, float]]:
    """z0 residuals of ``n`` 50 GeV barrel photons from z0 = 0, +500, -500 mm."""
    from photons_simulated import photon_truth, write_photon_showers

    from jetpointnet.simulate.geometry import build_geometry
    from jetpointnet.simulate.material import material_table

    geo, mat = build_geometry(), material_table()
    rng = np.random.default_rng(seed)
    out = {}
    for z0 in (0.0, 500.0, -500.0):
        truths = [photon_truth(50.0, float(rng.uniform(-0.7, 0.7)), float(rng.uniform(-3, 3)),
                               (0.0, 0.0, z0)) for _ in range(n)]  # fmt: skip
        path = write_photon_showers(work / f"z{z0:+.0f}.root", truths, geo, mat, seed=seed)
        meta, _ = _preprocess({"prompt": [str(path)]}, work / f"prep{z0:+.0f}")
        a = _load(work / f"prep{z0:+.0f}")
        out[f"{z0:+.0f}"] = {**_resolution(a["pointing_z0"] - z0),
                             "matched": meta["cutflow"]["prompt"]["matched"]}  # fmt: skip
    return out


def _efficiency(a: dict[str, np.ndarray], lxy_gen: np.ndarray) -> list[dict]:
    """Kept displaced objects per generated ALP photon (2 per event) in Lxy bins."""
    kept, _ = np.histogram(a["lxy"][a["y_cloud"] == 1], LXY_BINS)
    gen, _ = np.histogram(lxy_gen, LXY_BINS)
    return [{"lxy": f"{lo}-{hi}", "generated": int(2 * g), "kept": int(k),
             "efficiency": float(k / (2 * g)) if g else None}
            for lo, hi, g, k in zip(LXY_BINS[:-1], LXY_BINS[1:], gen, kept, strict=True)]  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--folder", type=Path, help="an existing preprocessed folder (no simulation)")
    p.add_argument("--events", type=int, default=200, help="events per class")
    p.add_argument("--mass", type=float, default=10.0, help="ALP mass, GeV")
    p.add_argument("--momentum", type=float, default=60.0, help="ALP momentum, GeV")
    p.add_argument("--eta", type=float, default=2.4, help="ALP directions in abs(eta) < this")
    p.add_argument("--lxy-max", type=float, default=2000.0, help="mm")
    p.add_argument("--object", default="cluster", help="cluster | jet-leading-cluster")
    p.add_argument("--pointing", type=int, default=0, help="photons per z0 for the pointing")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--work", type=Path, help="working folder (default: a temporary one)")
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        rep: dict = {}
        if args.folder is None:
            inputs, lxy_gen, t_sim = _inputs(work, args)
            meta, t_prep = _preprocess(inputs, work / "prep", args.object)
            folder = work / "prep"
            n_obj = sum(c["photons"] for c in meta["counts"].values())
            rep["speed"] = {"simulate_s": t_sim, "preprocess_s": t_prep,
                            "events_per_s": 2 * args.events / t_prep, "objects_per_s": n_obj / t_prep}  # fmt: skip
        else:
            folder, lxy_gen = args.folder, None
            meta = json.loads((folder / "metadata.json").read_text())
        a = _load(folder)
        rep.update(counts={s: c["per_class"] for s, c in meta["counts"].items()},
                   cutflow=meta["cutflow"], truncation=meta["truncation"], storage=_storage(a),
                   prompt_pointing=_resolution(a["pointing_z0"][a["y_cloud"] == 0]),
                   per_object={k: {c: float(np.median(v[a["y_cloud"] == i]) if k == "e_over_truth"
                                       else v[a["y_cloud"] == i].mean()) for i, c in enumerate(meta["classes"])}
                               for k, v in (("cells", a["n_cells"]), ("nodes", a["n_nodes"]),
                                            ("edges", a["edge_mask"].sum(1)),
                                            ("e_over_truth", a["obj_e"] / a["truth_e"]))})  # fmt: skip
        if lxy_gen is not None:
            rep["efficiency_vs_lxy"] = _efficiency(a, lxy_gen)
        if args.pointing:
            rep["pointing"] = _pointing(work, args.pointing, args.seed)
    print(json.dumps(rep, indent=1))
    if args.json:
        args.json.write_text(json.dumps(rep, indent=1) + "\n")


if __name__ == "__main__":
    main()
