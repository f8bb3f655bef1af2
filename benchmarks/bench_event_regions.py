"""How well event-level regions hold the showers: deposit lost at tile edges, sample sizes.

For each region setting, on the events of the input MLTree files, prints as JSON:

- ``charged_outside``: the share of the tracked particles' visible deposit (in clustered
  cells) that lies in cells outside the sample whose core holds the track, so that the
  network cannot give it to its track (it is noise to the sample that sees it);
- ``neutral_outside``: the same for the target neutrals and the sample whose core owns
  them (the cell of their largest deposit);
- ``cells_mean`` / ``cells_p97``: real cells per sample (before the size cap);
  ``samples_per_event``; the ``seconds`` it took.

``--perigee`` places tracks at their perigee direction instead of their calorimeter
impact (what samples did before the impact existed).

    python benchmarks/bench_event_regions.py --input 'JZ2/*.root' [--events 50] [--perigee]
        [--setting 1.0,0.785,0] [--setting 0.6,0.524,0.15] ...   (deta, dphi, halo)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import numpy as np

from jetpointnet.data.event_inputs import EVENT_KIND_OPTIONAL, EVENT_KIND_REQUIRED, event_view
from jetpointnet.data.event_samples import RegionConfig, SampleArrays, event_samples
from jetpointnet.data.event_targets import event_targets
from jetpointnet.data.geometry import CellTable
from jetpointnet.io.mltree_inputs import check_files, expand_inputs

DEFAULT_SETTINGS = ("1.0,0.7853981633974483,0", "1.0,0.7853981633974483,0.2",
                    "0.6,0.5235987755982988,0", "0.6,0.5235987755982988,0.15")  # fmt: skip


def _events(paths, n_events: int, perigee: bool):
    """(view, targets) of the first ``n_events`` events."""
    source = check_files(paths, branches=EVENT_KIND_REQUIRED)
    out = []
    with source.reader(build_geometry=CellTable.from_geometry) as reader:
        for ec in reader.read(source.chunks(50), EVENT_KIND_REQUIRED, optional=EVENT_KIND_OPTIONAL):
            for i in range(len(ec.events["eventNumber"])):
                view = event_view(ec.events, i, ec.geometry, source=ec.chunk.path)
                if perigee:
                    view = dataclasses.replace(view, track_calo_eta=view.track_eta,
                                               track_calo_phi=view.track_phi)  # fmt: skip
                out.append((view, event_targets(view.target_input), ec.geometry))
                if len(out) == n_events:
                    return out
    return out


def _held(a: dict, which: str) -> float:
    """Visible deposit of the core tracks (``charged``) or neutrals held by their samples."""
    lt = a["track_mask"].shape[1]
    dep = a["q"] * np.maximum(a["cell_energy"], 0.0)[:, :, None]  # (S, Lc, cols)
    if which == "charged":
        return float((dep[:, :, :lt].sum(1) * (a["track_mask"] & a["track_core"])).sum())
    cols = dep[:, :, lt:-1].sum(1)  # (S, Kt)
    return float((cols * (a["neutral_mask"] & a["neutral_core"])).sum())


def measure(events, region: RegionConfig) -> dict:
    """The figures of one region setting (see the module docstring)."""
    t0 = time.perf_counter()
    held = {"charged": 0.0, "neutral": 0.0}
    total = {"charged": 0.0, "neutral": 0.0}
    cells, samples = [], 0
    for view, tg, table in events:
        e = np.maximum(view.cell_e, 0.0)[:, None]
        n_tr = len(view.track_pt)
        total["charged"] += float((tg.q[:, :n_tr] * e).sum())
        total["neutral"] += float((tg.q[:, n_tr:-1] * e).sum())
        # no size cap (the event's own sizes): what the tiles hold
        arrays = SampleArrays(max(len(view.cell_e), 1), max(n_tr, 1), max(len(tg.neutral_e), 1))
        event_samples(view, tg, table, arrays, regions=region,
                      links={"file_index": 0, "entry": 0, "event_number": 0})  # fmt: skip
        for row in range(len(arrays.rows.get("entry", []))):
            one = {k: v[row][None] for k, v in arrays.rows.items()}
            held["charged"] += _held(one, "charged")
            held["neutral"] += _held(one, "neutral")
            cells.append(int(one["cell_mask"].sum()))
        samples += len(arrays.rows.get("entry", []))
    return {
        "deta": region.deta, "dphi": round(region.dphi, 4), "halo": region.halo,
        "charged_outside": round(1.0 - held["charged"] / max(total["charged"], 1e-9), 4),
        "neutral_outside": round(1.0 - held["neutral"] / max(total["neutral"], 1e-9), 4),
        "cells_mean": round(float(np.mean(cells)), 1) if cells else 0.0,
        "cells_p97": float(np.percentile(cells, 97)) if cells else 0.0,
        "samples_per_event": round(samples / max(len(events), 1), 1),
        "seconds": round(time.perf_counter() - t0, 1),
    }  # fmt: skip


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--input", required=True, nargs="+", help="MLTree ROOT files (globs)")
    ap.add_argument("--events", type=int, default=50)
    ap.add_argument("--perigee", action="store_true", help="tracks at their perigee direction")
    ap.add_argument("--setting", action="append", help="deta,dphi,halo (repeatable)")
    args = ap.parse_args(argv)
    events = _events(expand_inputs(args.input), args.events, args.perigee)
    rows = []
    for spec in args.setting or DEFAULT_SETTINGS:
        deta, dphi, halo = (float(x) for x in spec.split(","))
        region = RegionConfig(mode="region", deta=deta, dphi=dphi, halo=halo)
        rows.append({"perigee": args.perigee, "events": len(events), **measure(events, region)})
        print(json.dumps(rows[-1]), flush=True)


if __name__ == "__main__":
    main()
