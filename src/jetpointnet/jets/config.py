"""The options of the ``jets`` stage (:class:`JetsConfig`) and its algorithm names.

``ALGORITHMS`` are the built-in particle-flow answers; ``target`` and ``target-visible``
(the event-level ceilings) and ``event:RUN`` (an event-level run) are accepted as well.
A typo in any closed choice fails when the config is built, before any work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

from jetpointnet.config import ConfigValueError, check_choices
from jetpointnet.errors import did_you_mean
from jetpointnet.io.mltree_layout import CELL_GEO_TREE, EVENT_TREE
from jetpointnet.jets.event import (
    EVENT_ALGORITHMS,
)
from jetpointnet.jets.event_runs import EVENT_PREFIX
from jetpointnet.jets.response import PT_BINS

__all__ = ["ALGORITHMS", "Algorithm", "JetsConfig"]


Algorithm = Literal["calo", "classical", "ml", "oracle", "oracle-calibrated"]  # ends in CEILINGS
ALGORITHMS: tuple[Algorithm, ...] = get_args(Algorithm)


@dataclass
class JetsConfig:
    """Options of :func:`run_jets` (GeV, radians)."""

    #: names of ALGORITHMS; all of them (the default) skips ml without runs, ceilings without truth
    #: (also the event-level ceilings ``target``, ``target-visible`` and ``event:RUN``)
    algorithms: list[str] = field(default_factory=lambda: list(ALGORITHMS))
    radius: float = 0.4
    min_pt: float = 20.0  # truth jets
    max_abs_eta: float = 2.5  # truth jets
    reco_min_pt: float = 5.0  # reco jets kept for matching
    match_dr: float = 0.2
    pt_bins: list[float] = field(default_factory=lambda: list(PT_BINS))
    chs: Literal["auto", "on", "off"] = "auto"  # auto: on in events with pile-up (mu > 0)
    claim: Literal["expected", "threshold"] = "expected"
    ml_max_pt: float | None = None  # tracks above (GeV): no subtraction, calorimeter only
    oracle: bool = False  # per run also "oracle:RUN": its samples with the true focal energies
    min_neutral_energy: float = 0.0
    events_per_chunk: int = 200
    event_tree: str = EVENT_TREE  # the inputs' tree names
    geometry_tree: str = CELL_GEO_TREE
    checkpoint: str = "best"
    batch_size: int = 256
    n_boot: int = 200
    seed: int = 0

    def __post_init__(self) -> None:
        check_choices(self)  # chs, claim: a typo fails before any work; and the algorithms:
        names = (*ALGORITHMS, *EVENT_ALGORITHMS)
        for i, a in enumerate(self.algorithms):
            if a not in names and not a.startswith(EVENT_PREFIX):
                allowed = ", ".join(repr(n) for n in names)
                raise ConfigValueError(
                    f"algorithms[{i}]",
                    f"must be one of {allowed} or {EVENT_PREFIX}RUN, got {a!r}"
                    + did_you_mean(a, names),
                )
