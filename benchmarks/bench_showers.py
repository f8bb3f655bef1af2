"""Validation figures of the hadron-shower model, on charged-pion guns at |eta| < 0.5.

Prints, as JSON: <E/p> (clusters within Delta-R 0.2 of the track at EMB2, EM scale) at
2, 5, 10, 20, 50 GeV against ATLAS (CALO.md); the share of pions whose true deposits
exceed their kinetic energy; per LHED category at 20-25 GeV the <E/p>, sigma(E/p)/<E/p>
and the fitted ring-profile tail slopes (EM2, Tile1) of templates measured exactly as the
classical algorithm measures them (``evaluation.pflow.build_templates``), against eflowRec
mc20; the share of 20 GeV pions' EM-layer true energy within Delta-R 0.05 of the track;
and how many clusters hold 90 % of a 20 GeV pion's clustered true energy.

    python benchmarks/bench_showers.py [--events 1000] [--template-events 3000] [--seed 5]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from jetpointnet.simulate.assemble import stack_events
from jetpointnet.simulate.detector import simulate_event
from jetpointnet.simulate.generators import SourceOptions, make_source
from jetpointnet.simulate.geometry import build_geometry
from jetpointnet.simulate.material import material_table
from jetpointnet.simulate.validation import (
    ATLAS_PION_EOP,
    EFLOWREC_EOP_25GEV,
    EFLOWREC_TAIL_SLOPES,
    clusters_for_fraction,
    pion_e_over_p,
)

_EM_LAYERS = (1, 2, 3)  # EMB1-3 (indices into LAYERS)


def _records(energy: float, n: int, seed: int, geo, mat):
    opts = SourceOptions(preset="gun", particle="pi+", energy=energy, eta_range=(-0.5, 0.5))
    src = iter(make_source(opts, seed))
    rng = np.random.default_rng(seed)
    truths = [next(src) for _ in range(n)]
    recs = [simulate_event(t, geo, mat, rng, keep_spots=True) for t in truths]
    return truths, recs


def _conservation(truths, recs) -> dict[str, float]:
    ratio = []
    for t, r in zip(truths, recs, strict=True):
        s = r.spots
        dep = float(s.e_true[s.particle == 0].sum())
        ratio.append(dep / max(float(t.e[0] - t.m[0]), 1e-9))
    ratio = np.asarray(ratio)
    return {"above_kinetic": float(np.mean(ratio > 1.0 + 1e-6)), "max_ratio": float(ratio.max())}


def _core_share(recs, geo) -> float:
    """Share of the pion's true EM-layer energy within Delta-R 0.05 of its EMB2 extrapolation."""
    inside = total = 0.0
    for r in recs:
        if r.values["nTrack"] == 0:
            continue
        s = r.spots
        em = np.isin(s.layer, _EM_LAYERS) & (s.particle == 0)
        eta = np.arcsinh(s.z[em] / np.hypot(s.x[em], s.y[em]))
        phi = np.arctan2(s.y[em], s.x[em])
        te, tp = r.values["trackEta_EMB2"][0], r.values["trackPhi_EMB2"][0]
        dr = np.hypot(eta - te, (phi - tp + np.pi) % (2 * np.pi) - np.pi)
        inside += float(s.e_true[em][dr < 0.05].sum())
        total += float(s.e_true[em].sum())
    return inside / max(total, 1e-12)


def _tail(pars) -> float:
    _, p1, p2, p3 = pars
    return float(max(p1, p3) if p2 > 0 else p1)


def _templates(n: int, seed: int) -> dict[str, dict[str, float]]:
    from jetpointnet.evaluation.pflow.build import build_templates
    from jetpointnet.evaluation.pflow.templates import ENERGY_NODES
    from jetpointnet.simulate.run import SimulateConfig, simulate

    with tempfile.TemporaryDirectory() as tmp:
        cfg = SimulateConfig(preset="gun", particle="pi+", energy_range=(20.0, 25.0),
                             eta_range=(-0.5, 0.5), events=n, seed=seed, out=Path(tmp),
                             events_per_file=n)  # fmt: skip
        files = simulate(cfg, progress=False)
        tpl = build_templates([str(f) for f in files], progress=False)
    i = ENERGY_NODES.index(25.0)
    out = {}
    for k, cat in enumerate(tpl.categories):
        count = int(tpl.count[i, 0, k])
        if count < 20:
            continue
        mean, sigma = float(tpl.mean[i, 0, k]), float(tpl.sigma[i, 0, k])
        prof = tpl.profiles.get(cat, {})
        ref = EFLOWREC_EOP_25GEV.get(cat)
        out[cat] = {
            "count": count,
            "mean": mean,
            "rel_sigma": sigma / mean if mean > 0 else float("nan"),
            "eflowrec_mean": ref[0] if ref else None,
            "eflowrec_rel_sigma": ref[1] / ref[0] if ref else None,
            "tail_slope_EM2": _tail(prof["EM2"]) if "EM2" in prof else None,
            "tail_slope_Tile1": _tail(prof["Tile1"]) if "Tile1" in prof else None,
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1000, help="pions per energy point")
    ap.add_argument("--template-events", type=int, default=3000, help="20-25 GeV pions")
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args()
    geo, mat = build_geometry(), material_table()
    out: dict[str, object] = {"eop": {}, "conservation": {}}
    t_det = 0.0
    for i, energy in enumerate(sorted(ATLAS_PION_EOP)):
        t0 = time.perf_counter()
        truths, recs = _records(energy, args.events, args.seed + i, geo, mat)
        t_det += time.perf_counter() - t0
        r = pion_e_over_p(stack_events(recs))
        out["eop"][f"{energy:g}"] = {
            "mean": round(r["mean"], 4),
            "atlas": ATLAS_PION_EOP[energy],
            "resolution_nonzero": round(r["resolution_nonzero"], 4),
            "no_cluster": round(r["no_cluster_fraction"], 4),
        }
        out["conservation"][f"{energy:g}"] = _conservation(truths, recs)
        if energy == 20.0:
            needed, lead = clusters_for_fraction(stack_events(recs), fraction=0.9)
            out["20GeV_two_or_more_clusters_for_90pc"] = float(np.mean(needed >= 2))
            out["20GeV_leading_cluster_share"] = float(np.mean(lead))
            out["20GeV_em_true_within_dr005"] = _core_share(recs, geo)
    out["pion_detector_ms_per_event"] = 1e3 * t_det / (args.events * len(ATLAS_PION_EOP))
    out["lhed_25GeV"] = _templates(args.template_events, args.seed + 100)
    out["eflowrec_tail_slopes"] = EFLOWREC_TAIL_SLOPES
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
