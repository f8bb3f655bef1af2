"""The jet table of event-level particle flow (issue 13): every algorithm on the same jets.

Runs ``jetpointnet jets`` once per test set (``--set NAME=GLOB``, e.g. JZ2-JZ4 without and
with pile-up) with calo, classical, the ceilings (oracle, oracle-calibrated, target,
target-visible), each event-level run (``--event-run``: ``event:RUN``) and each per-track
run (``--run``: ``ml``), then prints per set and truth-jet pT bin the jet-energy
resolution (q84 - q16) / 2 / median with its bootstrap error, the median response, and
each algorithm's resolution as a multiple of the classical algorithm's (the issue's goal:
``event:RUN`` <= 0.85x at 20-40, 40-60 and 60-100 GeV). A set whose ``OUT/NAME/summary.json``
exists is read, not re-run (delete it to redo: the runs' cached predictions in
``OUT/NAME/predictions/`` are reused when the run and inputs are unchanged).

    python benchmarks/bench_event_jets.py --out OUT --set nopu='JZ*/test/*.root' \
        --set mu20='JZ*mu20/*.root' --event-run RUN [--event-run RUN2] [--run TRACKRUN]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

CEILINGS = ("oracle", "oracle-calibrated", "target-visible", "target")
BINS = ("20-40", "40-60", "60-100", "100-200", "200+")


def _run_set(out: Path, globs: list[str], args) -> dict:
    summary = out / "summary.json"
    if not summary.exists():
        cmd = [sys.executable, "-m", "jetpointnet.cli", "jets", "--input", *globs, "--out",
               str(out), "--algorithm", "calo", "--algorithm", "classical", "--quiet",
               "--overwrite"]  # fmt: skip
        for a in () if args.no_ceilings else CEILINGS:
            cmd += ["--algorithm", a]
        for run in args.event_run or []:
            cmd += ["--algorithm", f"event:{run}"]
        if args.run:
            cmd += ["--algorithm", "ml", *(x for r in args.run for x in ("--run", r))]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True)
        print(f"# {out.name}: jets in {time.perf_counter() - t0:.0f} s", flush=True)
    return json.loads(summary.read_text())


def _cell(row: dict | None, ref: dict | None) -> str:
    if not row or row["e"]["n"] < 5 or row["e"]["q68"] != row["e"]["q68"]:
        return "-"
    s = f"{row['e']['q68']:.3f} ± {row['e']['q68_err']:.3f}"
    if ref and ref["e"]["q68"] == ref["e"]["q68"] and ref["e"]["q68"] > 0:
        s += f" ({row['e']['q68'] / ref['e']['q68']:.2f}x)"
    return s


def table(name: str, summary: dict) -> str:
    """Markdown rows: per algorithm and bin, q68 ± error (x classical); then medians."""
    resp = summary["response"]
    algos = [a for a in summary["algorithms"] if a in resp]
    by_bin = {a: {r["bin"]: r for r in resp[a]} for a in algos}
    ref = by_bin.get("classical", {})
    bins = [b for b in BINS if any(b in by_bin[a] for a in algos)]
    n = {b: next((by_bin[a][b]["n_truth"] for a in algos if b in by_bin[a]), 0) for b in bins}
    lines = [f"### {name} ({summary['events']} events, mean mu {summary['mean_mu']})", "",
             "| algorithm | " + " | ".join(f"{b} GeV ({n[b]})" for b in bins) + " |",
             "|---" * (len(bins) + 1) + "|"]  # fmt: skip
    for a in algos:
        cells = [_cell(by_bin[a].get(b), ref.get(b)) for b in bins]
        lines.append(f"| {a} | " + " | ".join(cells) + " |")
    lines += ["", "median response: " + "; ".join(
        f"{a} " + "/".join(f"{by_bin[a][b]['e']['median']:.3f}" for b in bins if b in by_bin[a])
        for a in algos)]  # fmt: skip
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--set", action="append", required=True, help="NAME=GLOB[,GLOB...]")
    ap.add_argument("--event-run", action="append", help="event-level run folder (repeatable)")
    ap.add_argument("--run", action="append", help="per-track run folder for ml (repeatable)")
    ap.add_argument("--no-ceilings", action="store_true", help="leave out the four ceilings")
    args = ap.parse_args(argv)
    for spec in args.set:
        name, _, globs = spec.partition("=")
        summary = _run_set(args.out / name, globs.split(","), args)
        print(table(name, summary) + "\n", flush=True)


if __name__ == "__main__":
    main()
