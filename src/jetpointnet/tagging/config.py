"""Configuration of ``jetpointnet preprocess --kind jet`` (typed, from YAML)."""

from __future__ import annotations

from dataclasses import dataclass, field

from jetpointnet.data.config import SplitConfig
from jetpointnet.data.splits import split_fractions
from jetpointnet.errors import UserError, did_you_mean
from jetpointnet.tagging.labels import LabelCuts, SelectionCuts

__all__ = ["ALGORITHMS", "JetPrepConfig", "TrimConfig", "validate_jet_config"]

#: Constituent sources: the ``jets`` stage's algorithms (``ml:RUN`` = a trained run folder).
ALGORITHMS = ("classical", "calo", "truth", "ml")


@dataclass
class TrimConfig:
    """Trimming: kt subjets of ``radius``, kept above ``f_cut`` x the jet pT."""

    radius: float = 0.2
    f_cut: float = 0.05


@dataclass
class JetPrepConfig:
    """Options of the jet preprocess (GeV, radians).

    ``inputs``: class name -> MLTree file globs (added to by ``--input CLASS=GLOB``);
    ``classes``: the class names in index order (``y_cloud``), background first;
    ``background``: the classes whose every selected jet is kept (the others keep only the
    jets labelled W/Z); ``algorithm``: classical | calo | truth | ml:RUN.
    """

    kind: str = "jet"
    inputs: dict[str, list[str]] = field(default_factory=dict)
    classes: list[str] = field(default_factory=lambda: ["qcd", "wz"])
    background: list[str] = field(default_factory=lambda: ["qcd"])
    algorithm: str = "classical"
    templates: str | None = None  # classical: a pflow-templates JSON (default eflowRec's)
    radius: float = 1.0
    min_pt: float = 150.0  # ungroomed jets clustered (reco and truth) above this
    trim: TrimConfig = field(default_factory=TrimConfig)
    selection: SelectionCuts = field(default_factory=SelectionCuts)
    label: LabelCuts = field(default_factory=LabelCuts)
    length: int = 128  # L: constituents per jet (the hardest kept)
    pt_bins: list[float] = field(
        default_factory=lambda: [200.0 + 50.0 * k for k in range(17)] + [1200.0, 1500.0, 3000.0]
    )
    events_per_chunk: int = 250
    jets_per_file: int = 5000
    split: SplitConfig = field(default_factory=SplitConfig)
    seed: int = 0  # shuffling of the jets across the stage-2 files
    compress: bool = True
    event_tree: str = "EventTree"
    geometry_tree: str = "CellGeo"


def validate_jet_config(cfg: JetPrepConfig) -> None:
    """One line naming the key of a value that cannot work."""
    if cfg.kind != "jet":
        raise UserError(f"kind: {cfg.kind!r} is not a jet config (kind: jet)")
    algo = cfg.algorithm.split(":", 1)[0]
    if algo not in ALGORITHMS or (algo == "ml") != (":" in cfg.algorithm):
        raise UserError(
            f"algorithm: unknown {cfg.algorithm!r}; valid: classical, calo, truth, ml:RUN"
            + did_you_mean(cfg.algorithm, ALGORITHMS)
        )
    if len(set(cfg.classes)) != len(cfg.classes) or len(cfg.classes) < 2:
        raise UserError(f"classes: need at least two distinct names, got {cfg.classes}")
    for name in [*cfg.inputs, *cfg.background]:
        if name not in cfg.classes:
            raise UserError(
                f"class {name!r} is not in classes {cfg.classes}" + did_you_mean(name, cfg.classes)
            )
    if not cfg.inputs:
        raise UserError("no inputs: give inputs in the config or --input CLASS=GLOB")
    if len(cfg.background) != 1 or len(cfg.classes) != 2:
        raise UserError("classes / background: one background and one W/Z class are supported")
    if cfg.length < 1 or cfg.events_per_chunk < 1 or cfg.jets_per_file < 1:
        raise UserError("length, events_per_chunk and jets_per_file must be >= 1")
    if not 0 < cfg.radius <= 2 or not 0 < cfg.trim.radius < cfg.radius:
        raise UserError(f"radius {cfg.radius} / trim.radius {cfg.trim.radius}: need 0 < trim < R")
    if not 0 <= cfg.trim.f_cut < 1:
        raise UserError(f"trim.f_cut must be in [0, 1), got {cfg.trim.f_cut}")
    try:
        split_fractions(cfg.split.train, cfg.split.val, cfg.split.test)
    except ValueError as exc:
        raise UserError(f"split: {exc}") from None
    if list(cfg.pt_bins) != sorted(cfg.pt_bins) or len(cfg.pt_bins) < 2:
        raise UserError(f"pt_bins must be at least two increasing edges, got {cfg.pt_bins}")
