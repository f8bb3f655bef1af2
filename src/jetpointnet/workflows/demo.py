"""The demo: the whole chain on the embedded default data, ending in one report.

Each stage writes into one output folder and resumes when re-run: every stage skips what
it already finished (an evaluation or the jets are redone only when a network's run, the
templates or the events changed after them; the pages are always rewritten):

1. ``simulation/``: single-particle validation samples and the simulation report (ATLAS
   photon resolution and pion E/p).
2. ``data/``: simulated ``rho`` events (the training sample of seed 001), JZ2 dijets (a
   dense environment) and a charged-pion gun (the classical algorithm's templates).
3. ``prep/``: ``preprocess`` of rho and dijets into samples and point clouds
   (``configs/data/demo.yaml``: short clouds for a CPU).
4. ``runs/pointnet-rho/``: ``train`` of the small PointNet (``configs/train/small.yaml``)
   on the binary focal-cell task of seed 001.
5. ``templates.json``: the classical particle flow's templates, from the pion gun.
6. ``eval/rho``, ``eval/dijet``: ``evaluate`` of the network, seed 001's baselines and the
   classical algorithm on the same test samples, each with its report.html.
7. ``runs/event-jz2/``: event-level particle flow (issue 13): the small encoder-decoder
   (``configs/train/event-small.yaml``) trained on other JZ2 events (``data/dijet-jz2-event``,
   ``prep/event``, ``configs/data/event.yaml``), and ``eval/event``: its particle-level report.
8. ``jets/``: anti-kt jets of the dijet events for every algorithm (calo, classical, the
   per-track network, the event-level network, the ceilings).
9. ``index.html`` (:mod:`jetpointnet.workflows.index_page`): the headline plots and numbers
   with their uncertainties, and links to everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jetpointnet.errors import UserError
from jetpointnet.io.sample_files import read_json_object
from jetpointnet.simulate.run import SimulateConfig, simulate
from jetpointnet.workflows.index_page import DEFAULT_MIN_JETS, write_index
from jetpointnet.workflows.sim_report import SimReportConfig, simulation_report

__all__ = ["DemoConfig", "run_demo"]

CONFIGS = Path(__file__).resolve().parents[3] / "configs"


@dataclass
class DemoConfig:
    out: Path = Path("demo-output")
    quick: bool = False  # a smoke run of the whole chain on few events
    seed: int = 1
    # processes per stage; None: 2, or 1 for the quick run, whose samples are too small
    # for a second process to pay back its start-up (measured: 146 s alone, 169 s with two)
    workers: int | None = None
    min_jets: int = DEFAULT_MIN_JETS  # no jet resolution for a bin with fewer matched jets

    @property
    def processes(self) -> int:
        """``workers``, or its default for this run."""
        return self.workers if self.workers is not None else (1 if self.quick else 2)


@dataclass(frozen=True)
class _Sizes:
    validation: int
    rho: int
    dijet: int
    pions: int
    epochs: int
    event_dijet: int  # JZ2 events the event-level network trains on
    event_samples: int  # its samples (regions) per epoch
    event_epochs: int


# 30,000 pion-gun events give the classical algorithm ~21,000 template tracks (eflowRec's
# templates need >= 20,000; fewer make pflow-templates warn and the report say so)
_FULL = _Sizes(validation=200, rho=4000, dijet=60, pions=30000, epochs=20,
               event_dijet=100, event_samples=800, event_epochs=4)  # fmt: skip
_QUICK = _Sizes(validation=30, rho=120, dijet=10, pions=200, epochs=2,
                event_dijet=20, event_samples=40, event_epochs=1)  # fmt: skip
#: the event-level network's events are not the jets' events (another seed)
EVENT_SEED_OFFSET = 1000


def _config_file(*parts: str) -> Path:
    path = CONFIGS.joinpath(*parts)
    if not path.is_file():
        raise UserError(
            f"{path}: demo configuration not found (run the demo from a source checkout)"
        )
    return path


def run_demo(cfg: DemoConfig, *, progress: bool = True) -> Path:
    """Run every stage; return the path of ``index.html``."""
    from jetpointnet.config import load_config
    from jetpointnet.data.config import PreprocessConfig
    from jetpointnet.data.preprocess import preprocess
    from jetpointnet.evaluation.evaluate import EvaluateConfig, evaluate_run
    from jetpointnet.evaluation.pflow.build import build_templates
    from jetpointnet.evaluation.pflow.templates import load_templates, save_templates
    from jetpointnet.training.config import TrainConfig
    from jetpointnet.training.loop import train

    out = Path(cfg.out)
    n = _QUICK if cfg.quick else _FULL
    sim_cfg = SimReportConfig(
        events=n.validation, dijet_events=2, seed=cfg.seed, workers=cfg.processes
    )
    if cfg.quick:
        sim_cfg.photon_energies = (10.0, 50.0, 100.0)
        sim_cfg.pion_energies = (2.0, 10.0, 40.0)
    sim_report = simulation_report(out / "simulation", sim_cfg, progress=progress)

    def sample(name: str, *, seed: int = cfg.seed, **kw: Any) -> list[Path]:
        sc = SimulateConfig(seed=seed, out=out / "data" / name, workers=cfg.processes, **kw)
        return simulate(sc, progress=progress)

    rho = sample("rho", preset="rho", events=n.rho, events_per_file=max(n.rho // 4, 1))
    dijet = sample(
        "dijet-jz2", preset="dijet-jz2", events=n.dijet, events_per_file=max(n.dijet // 2, 1)
    )
    pions = sample("pions", preset="gun", particle="pi+", energy_range=(1.0, 50.0), eta_range=(-2.5, 2.5),
                   events=n.pions, events_per_file=min(n.pions, 5000))  # fmt: skip

    # the network learns on rho; the dijets only test it (most of their events go to test)
    prep = {}
    for name, files, split in (
        ("rho", rho, []),
        ("dijet", dijet, ["split.train=0.3", "split.val=0.1", "split.test=0.6"]),
    ):
        data_cfg = load_config(PreprocessConfig, _config_file("data", "demo.yaml"), split)
        prep[name] = out / "prep" / name
        preprocess(
            [str(f) for f in files],
            prep[name],
            config=data_cfg,
            workers=cfg.processes,
            progress=progress,
        )

    train_cfg = load_config(
        TrainConfig,
        _config_file("train", "small.yaml"),
        ["task.name=binary", f"train.epochs={n.epochs}", f"train.seed={cfg.seed}"],
    )
    run_dir = out / "runs" / "pointnet-rho"
    resume = (run_dir / "last.pt").exists()
    result = train(
        train_cfg, data_dir=prep["rho"], out_dir=run_dir, resume=resume, progress=progress
    )

    templates_path = out / "templates.json"
    if templates_path.exists():
        templates = load_templates(templates_path)
    else:
        templates = build_templates(
            [str(f) for f in pions], workers=cfg.processes, progress=progress
        )
        save_templates(templates, templates_path)

    # the quick run draws one event display per split (the worst track), the full run three
    eval_cfg = EvaluateConfig(displays=["worst"]) if cfg.quick else EvaluateConfig()
    metrics = {}
    for name in ("rho", "dijet"):
        ev = out / "eval" / name
        if not _finished(ev / "report.html", *_run_files(result.run_dir), templates_path):
            evaluate_run(result.run_dir, prep[name], split="test", out_dir=ev, templates=templates,
                         progress=progress, overwrite=True, cfg=eval_cfg)  # fmt: skip
        # read back, fresh or not: a resumed demo writes the same index as an uninterrupted one
        metrics[name] = read_json_object(ev / "metrics.json")
    event_run, event_metrics = _event_level(cfg, n, out, sample, progress=progress)
    jets = _jets(dijet, out / "jets", [result.run_dir, event_run], templates_path, templates,
                 progress=progress)  # fmt: skip
    event = {"algorithm": f"event:{event_run.resolve().name}", "metrics": event_metrics}
    return write_index(out, sim_report, metrics, jets, min_jets=cfg.min_jets, event=event)


def _run_files(run_dir: Path) -> list[Path]:
    """A training run's checkpoints: they change when it trains further (a resumed run
    that had finished rewrites its config and log, but not its checkpoints)."""
    return [run_dir / "best.pt", run_dir / "last.pt"]


def _finished(record: Path, *inputs: Path) -> bool:
    """Whether a stage finished since its inputs last changed: ``record``, the file the
    stage writes last, exists and is newer than every input that exists. A re-run of the
    demo skips such a stage and reads its results back."""
    if not record.is_file():
        return False
    done = record.stat().st_mtime_ns
    return all(done > p.stat().st_mtime_ns for p in inputs if p.exists())


def _jets(dijet: list[Path], out: Path, runs: list[Path], templates_path: Path, templates: Any,
          *, progress: bool) -> dict[str, Any]:  # fmt: skip
    """Jets on every dijet event for every algorithm (neither network trained on these
    events); their summary (``summary.json``, the stage's last file)."""
    from jetpointnet.jets.run import ALGORITHMS, JetsConfig, run_jets

    track_run, event_run = runs
    if not _finished(out / "summary.json", *_run_files(track_run), *_run_files(event_run),
                     templates_path, *dijet):  # fmt: skip
        jets_cfg = JetsConfig(algorithms=[*ALGORITHMS, f"event:{event_run}", "target"])
        run_jets([str(f) for f in dijet], out, runs=[track_run], config=jets_cfg,
                 templates=templates, overwrite=True, progress=progress)  # fmt: skip
    return read_json_object(out / "summary.json")


def _event_level(
    cfg: DemoConfig, n: _Sizes, out: Path, sample, *, progress: bool
) -> tuple[Path, dict[str, Any]]:
    """Event-level particle flow: simulate other JZ2 events, preprocess them per region,
    train the small encoder-decoder and evaluate it on its test regions; its run folder
    and its evaluation metrics."""
    from jetpointnet.config import load_config
    from jetpointnet.data.event_preprocess import EventPreprocessConfig, preprocess_events
    from jetpointnet.evaluation.event_eval import evaluate_event_run
    from jetpointnet.training.config import TrainConfig
    from jetpointnet.training.loop import train

    files = sample("dijet-jz2-event", seed=cfg.seed + EVENT_SEED_OFFSET, preset="dijet-jz2",
                   events=n.event_dijet, events_per_file=max(n.event_dijet // 2, 1))  # fmt: skip
    prep = out / "prep" / "event"
    # a quarter of the events each for validation and test: the quick demo's 20 events
    # still give a test split (the splits are drawn per event from the seed)
    splits = ["split.train=0.5", "split.val=0.25", "split.test=0.25"]
    prep_cfg = load_config(EventPreprocessConfig, _config_file("data", "event.yaml"), splits)
    preprocess_events([str(f) for f in files], prep, config=prep_cfg, workers=cfg.processes,
                      progress=progress)  # fmt: skip
    train_cfg = load_config(TrainConfig, _config_file("train", "event-small.yaml"), [
        f"train.epochs={n.event_epochs}", f"train.seed={cfg.seed}",
        f"train.samples_per_epoch={n.event_samples}", f"train.val_samples={n.event_samples // 4}",
    ])  # fmt: skip
    run_dir = out / "runs" / "event-jz2"
    train(train_cfg, data_dir=prep, out_dir=run_dir, resume=(run_dir / "last.pt").exists(),
          progress=progress)  # fmt: skip
    ev = out / "eval" / "event"
    if not _finished(ev / "report.html", *_run_files(run_dir)):
        evaluate_event_run(run_dir, prep, split="test", out_dir=ev, progress=progress,
                           overwrite=True)  # fmt: skip
    return run_dir, read_json_object(ev / "particles_metrics.json")
