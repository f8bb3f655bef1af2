"""The demo: the whole chain on the embedded default data, ending in a report.

Stage by stage, each writing into one output folder (re-running resumes: every stage skips
what it already wrote):

1. ``samples/``: simulated single-particle validation samples and a JZ2 dijet sample, with
   ``report.html``: the simulation's ATLAS figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jetpointnet.workflows.sim_report import SimReportConfig, simulation_report

__all__ = ["DemoConfig", "run_demo"]


@dataclass
class DemoConfig:
    out: Path = Path("demo-output")
    quick: bool = False  # fewer events: a smoke run of the whole chain in a minute or two
    seed: int = 1
    workers: int = 1


def run_demo(cfg: DemoConfig, *, progress: bool = True) -> Path:
    """Run every stage; return the path of the top-level report."""
    out = Path(cfg.out)
    n = 40 if cfg.quick else 200
    sim = SimReportConfig(
        events=n, dijet_events=2 if cfg.quick else 5, seed=cfg.seed, workers=cfg.workers
    )
    return simulation_report(out / "simulation", sim, progress=progress)
