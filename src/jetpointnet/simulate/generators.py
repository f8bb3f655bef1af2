"""Pythia 8 event sources: particle guns, rho and Delta decays, JZ-sliced QCD dijets, pile-up.

Every source yields :class:`TruthEvent` records: the generator-level final-state particles
(status 1) with four-momenta in GeV and production vertices in mm, which the detector
simulation propagates. Pythia does all decays of particles with c*tau0 < 1000 mm
(``ParticleDecays:tau0Max = 1000``) inside the cylinder before the calorimeter
(``ParticleDecays:limitCylinder``, r < 1410 mm, abs(z) < 3620 mm): K0S and Lambda decay at
their displaced vertices in Pythia, or reach the calorimeter whole and shower there as
hadrons, so the detector simulation never needs to decay anything (CALO.md allows this
choice; ATLAS keeps c*tau > 10 mm stable at generator level and lets Geant4 decay them).
``h2aa`` lifts the cylinder so that its ALPs decay wherever they fly.

Recipes (CALO.md "Pythia 8 recipes", checked with pythia8mc 8.317.2):
single particles with ``ProcessLevel:all = off``, an appended particle of status 1 with a
Breit-Wigner mass, and ``next()``; dijets with ``HardQCD:all``, 13 TeV, the A14 tune
(``Tune:pp = 21``), ``pTHatMin`` at about half the slice's lower edge, and a filter on the
leading anti-kt R = 0.6 truth-jet pT (Pythia's SlowJet in anti-kt mode; ``slice_radius = 1.0``
slices on the leading large-R jet instead). A parton-level pre-selection rejects most
out-of-slice events before hadronisation, which is most of Pythia's time.

``wprime-wz`` (seed 004's signal): W' -> W Z at 13 TeV with m_W' = 2000 GeV, the A14 tune,
``Wprime:coup2WZ = 1`` (Pythia's default 0 switches the decay off), W' decays restricted to
W Z and both bosons to quarks (d, u, s, c, b). For jet labelling the last copy of each
decayed W and Z (after recoils from showering) is kept in :attr:`TruthEvent.decayed`; the
detector never sees it, and the MLTree writer appends it to the truth record with status 2
after the final-state particles (status 1), so indices of stable particles are unchanged.

ALP presets (issue 15, :mod:`jetpointnet.simulate.alp_sources`): ``h2aa`` (13 TeV
g g -> H, H -> a a, a -> gamma gamma, ALP mass ``alp_mass`` in GeV and proper decay length
``alp_ctau`` in mm; Pythia decays the ALP at its displaced vertex) and ``alp`` (a gun ALP
decaying to two photons at a lab decay length uniform in ``decay_length`` mm). The decayed
ALPs (PDG id 36) are kept in :attr:`TruthEvent.decayed` as the W and Z above; their photons
are final-state particles whose production vertex is the decay vertex.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from jetpointnet.errors import UserError, did_you_mean
from jetpointnet.io.mltree_layout import PILEUP_BARCODE_STRIDE
from jetpointnet.io.quiet import quiet_stdout
from jetpointnet.simulate import alp_sources
from jetpointnet.simulate.pythia_record import (
    decayed_copies,
    final_state,
    new_pythia,
    parent_barcodes,
)

__all__ = [
    "DECAYED_BOSONS",
    "GUN_PARTICLES",
    "JZ_SLICES",
    "MC_CHANNEL",
    "PRESETS",
    "SLICE_RADII",
    "WPRIME_WZ_SETTINGS",
    "EventSource",
    "SourceOptions",
    "TruthEvent",
    "check_source_options",
    "make_source",
]

#: Particle names accepted by the gun, with their PDG ids.
GUN_PARTICLES: dict[str, int] = {
    "pi+": 211, "pi-": -211, "pi0": 111, "gamma": 22, "e-": 11, "e+": -11, "mu-": 13, "mu+": -13,
    "K+": 321, "K-": -321, "K0L": 130, "p": 2212, "pbar": -2212, "n": 2112, "rho+": 213, "rho-": -213,
}  # fmt: skip

#: JZ slices: leading anti-kt R = 0.6 truth-jet pT window (GeV) and the pTHatMin used.
JZ_SLICES: dict[str, tuple[float, float, float]] = {
    "dijet-jz2": (60.0, 160.0, 30.0),
    "dijet-jz3": (160.0, 400.0, 80.0),
    "dijet-jz4": (400.0, 800.0, 200.0),
    "dijet-jz5": (800.0, 1300.0, 400.0),
}
#: Large-R-jet signal presets (Pythia settings beyond beams and tune).
WPRIME_WZ_SETTINGS = (
    "NewGaugeBoson:ffbar2Wprime = on",
    "Wprime:coup2WZ = 1",
    "34:m0 = 2000",
    "34:onMode = off",
    "34:onIfMatch = 23 24",
    "24:onMode = off",
    "24:onIfAny = 1 2 3 4 5",
    "23:onMode = off",
    "23:onIfAny = 1 2 3 4 5",
)
#: |PDG ID| of the decayed bosons kept in the truth record (status 2) for labelling.
DECAYED_BOSONS = (23, 24)
SLICE_RADII = (0.6, 1.0)

PRESETS = ("rho", "delta", "gun", *JZ_SLICES, "wprime-wz", "h2aa", "alp")

#: Single-particle presets: log-uniform energy (GeV), |eta| < 2.5, flat phi.
RHO_ENERGY = (2.0, 100.0)
DELTA_ENERGY = (2.0, 100.0)
_DELTAS = (2224, 2214, 2114, 1114)
_NEUTRINOS = (12, 14, 16)
MC_CHANNEL = {"rho": 900001, "delta": 900002, "gun": 900000,
               "dijet-jz2": 364702, "dijet-jz3": 364703, "dijet-jz4": 364704, "dijet-jz5": 364705,
              "wprime-wz": 900010, "h2aa": 900020, "alp": 900021}  # fmt: skip


@dataclass(frozen=True)
class SourceOptions:
    preset: str
    particle: str = "pi+"
    energy: float | None = None
    energy_range: tuple[float, float] | None = None
    eta_range: tuple[float, float] = (-2.5, 2.5)
    pileup: float = 0.0
    vertex_sigma_z: float = 45.0  # mm, luminous region (ATLAS Run 2 ~35-45 mm)
    slice_radius: float = 0.6  # anti-kt R of the truth jet that defines a JZ slice
    alp_mass: float | None = None  # GeV, presets h2aa and alp
    alp_ctau: float | None = None  # mm, proper decay length c tau (h2aa)
    decay_length: tuple[float, float] = (0.0, 0.0)  # mm, lab decay length range (alp gun)


@dataclass
class TruthEvent:
    """Final-state particles of one event (hard scatter first, then pile-up).

    ``decayed``: the decayed W and Z bosons (``wprime-wz``) or ALPs (``h2aa``, ``alp``) of
    the hard scatter (same columns; ``charge`` in e; vertex = production vertex), never
    simulated in the detector; written after the final state with status 2.
    """

    pdg: np.ndarray  # int32
    px: np.ndarray  # GeV
    py: np.ndarray
    pz: np.ndarray
    e: np.ndarray
    m: np.ndarray
    vx: np.ndarray  # mm
    vy: np.ndarray
    vz: np.ndarray
    charge: np.ndarray  # units of e
    barcode: np.ndarray  # int32, unique in the event
    n_pileup: int = 0
    weight: float = 1.0
    n_tried: int = 1  # generator calls spent on this accepted event
    decayed: TruthEvent | None = None

    @property
    def size(self) -> int:
        return int(self.pdg.size)


def _to_event(cols: dict[str, list], **kw) -> TruthEvent:
    f = lambda k: np.asarray(cols[k], dtype=np.float64)
    return TruthEvent(
        pdg=np.asarray(cols["pdg"], dtype=np.int32),
        px=f("px"), py=f("py"), pz=f("pz"), e=f("e"), m=f("m"),
        vx=f("vx"), vy=f("vy"), vz=f("vz"),
        charge=f("q"),
        barcode=np.asarray(cols["bc"], dtype=np.int32),
        **kw,
    )  # fmt: skip


class EventSource:
    """An endless, seeded stream of :class:`TruthEvent` for one preset."""

    def __init__(self, options: SourceOptions, seed: int) -> None:
        self.options = options
        self.rng = np.random.default_rng([seed, 17])
        self.channel = MC_CHANNEL[options.preset]
        o = options
        if o.preset in JZ_SLICES:
            lo, hi, pthat = JZ_SLICES[o.preset]
            self.window = (lo, hi)
            self.pythia = new_pythia(
                ["Beams:eCM = 13000.", "HardQCD:all = on", f"PhaseSpace:pTHatMin = {pthat}",
                 "Tune:pp = 21", "HadronLevel:all = off"],
                seed,
            )  # fmt: skip
            import pythia8mc

            # Pythia's SlowJet in anti-kt mode (power -1), R = 0.6 (or 1.0), |eta| < 4.9, all
            # visible final-state particles (select = 2): the same jets as fastjet's
            # anti-kt, computed in C++ without a Python loop over particles.
            self.jets = pythia8mc.SlowJet(-1, o.slice_radius, 5.0, 4.9, 2, 2)
            with quiet_stdout():  # fjcore prints its banner on the first clustering
                self.jets.analyze(self.pythia.event)
        elif o.preset == "wprime-wz":
            self.pythia = new_pythia(
                ["Beams:eCM = 13000.", "Tune:pp = 21", *WPRIME_WZ_SETTINGS], seed
            )
        elif o.preset == "h2aa":
            assert o.alp_mass is not None and o.alp_ctau is not None  # make_source checks
            self.pythia = new_pythia(alp_sources.h2aa_settings(o.alp_mass, o.alp_ctau), seed)
            alp_sources.check_only_alp_decays_change(
                self.pythia, alp_sources.h2aa_tau0_max(o.alp_ctau)
            )
        elif o.preset == "alp":
            self.pythia = None  # the gun decays the ALP itself (alp_sources)
        else:
            extra = ["ProcessLevel:all = off"]
            if o.preset == "rho":
                extra += ["213:onMode = off", "213:onIfMatch = 211 111"]
            self.pythia = new_pythia(extra, seed)
        self.pileup = None
        if o.pileup > 0:
            self.pileup = new_pythia(
                ["Beams:eCM = 13000.", "SoftQCD:inelastic = on", "Tune:pp = 21"], seed + 7_919
            )

    # ------------------------------------------------------------------ single particles
    def _single(self) -> TruthEvent:
        o, rng, py = self.options, self.rng, self.pythia
        erange: tuple[float, float] | None
        if o.preset == "rho":
            pdg = int(rng.choice((213, -213)))
            erange = RHO_ENERGY
        elif o.preset == "delta":
            pdg = int(rng.choice(_DELTAS))
            erange = DELTA_ENERGY
        else:
            pdg = GUN_PARTICLES[o.particle]
            erange = o.energy_range
        if o.preset == "gun" and o.energy is not None:
            energy = float(o.energy)
        else:
            if erange is None:  # SourceOptions checks: a gun has energy or energy_range
                raise ValueError("gun options need energy or energy_range")
            lo, hi = erange
            energy = float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
        eta = float(rng.uniform(*o.eta_range))
        phi = float(rng.uniform(-math.pi, math.pi))
        m = py.particleData.mSel(pdg) if abs(pdg) in (213, *_DELTAS) else py.particleData.m0(pdg)
        energy = max(energy, m * 1.0001)
        pabs = math.sqrt(energy * energy - m * m)
        pt = pabs / math.cosh(eta)
        py.event.reset()
        py.event.append(
            pdg, 1, 0, 0, pt * math.cos(phi), pt * math.sin(phi), pt * math.sinh(eta), energy, m
        )
        if not py.next():
            raise RuntimeError("Pythia failed to decay a single particle")
        return _to_event(final_state(py))

    # ------------------------------------------------------------------ dijets
    def _dijet(self) -> TruthEvent:
        py = self.pythia
        lo, hi = self.window
        tried = 0
        while True:
            tried += 1
            if not py.next():
                continue
            # parton-level pre-selection: leading R = 0.6 parton jet well outside the
            # window -> no hadronisation (measured: keeps >99 % of accepted events)
            lead = _leading_jet_pt(self.jets, py.event)
            if lead < 0.6 * lo or lead > 1.6 * hi:
                continue
            if not py.forceHadronLevel():
                continue
            lead = _leading_jet_pt(self.jets, py.event)
            if lo <= lead < hi:
                break
        cols = final_state(py)
        ev = _to_event(cols, n_tried=tried, weight=float(py.infoPython().weight()))
        dz = float(self.rng.normal(0.0, self.options.vertex_sigma_z))
        ev.vz += dz
        return ev

    def _alp_gun(self) -> TruthEvent:
        o, rng = self.options, self.rng
        assert o.alp_mass is not None  # make_source checks
        if o.energy is not None:
            energy = float(o.energy)
        else:
            assert o.energy_range is not None
            lo, hi = o.energy_range
            energy = float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
        eta = float(rng.uniform(*o.eta_range))
        phi = float(rng.uniform(-math.pi, math.pi))
        photons, alp = alp_sources.alp_gun_columns(
            rng, mass=o.alp_mass, energy=energy, eta=eta, phi=phi, decay_length=o.decay_length
        )
        ev = _to_event(photons)
        ev.decayed = _to_event(alp)
        return ev

    def _resonance(self, decayed: tuple[int, ...]) -> TruthEvent:
        """One hard-process event (W' -> W Z, H -> a a) with its decayed ``decayed`` ids."""
        py = self.pythia
        tried = 1
        while not py.next():
            tried += 1
        ev = _to_event(final_state(py), n_tried=tried, weight=float(py.infoPython().weight()))
        ev.decayed = _to_event(decayed_copies(py, decayed))
        dz = float(self.rng.normal(0.0, self.options.vertex_sigma_z))
        ev.vz += dz
        ev.decayed.vz += dz
        return ev

    def _overlay(self, ev: TruthEvent) -> TruthEvent:
        n = int(self.rng.poisson(self.options.pileup))
        if n == 0 or self.pileup is None:
            return ev
        parts = [ev]
        for k in range(1, n + 1):
            while not self.pileup.next():
                pass
            dz = float(self.rng.normal(0.0, self.options.vertex_sigma_z))
            cols = final_state(self.pileup, barcode_offset=k * PILEUP_BARCODE_STRIDE, dz=dz)
            parts.append(_to_event(cols))
        merged = TruthEvent(**{
            k: np.concatenate([getattr(p, k) for p in parts])
            for k in ("pdg", "px", "py", "pz", "e", "m", "vx", "vy", "vz", "charge", "barcode")
        }, n_pileup=n, weight=ev.weight, n_tried=ev.n_tried, decayed=ev.decayed)  # fmt: skip
        return merged

    def __iter__(self) -> Iterator[TruthEvent]:
        while True:
            p = self.options.preset
            if p in JZ_SLICES:
                ev = self._dijet()
            elif p == "wprime-wz":
                ev = self._resonance(DECAYED_BOSONS)
            elif p == "h2aa":
                ev = self._resonance((alp_sources.ALP_ID,))
            elif p == "alp":
                ev = self._alp_gun()
            else:
                ev = self._single()
            if self.options.pileup > 0:
                ev = self._overlay(ev)
            yield ev

    def parents(self, barcodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mother barcode, mother PDG id) of the hard scatter's particles of the event last
        yielded, -1 and 0 for none (the gun's ALP, pile-up); see ``pythia_record.parent_barcodes``."""
        if self.pythia is not None:
            return parent_barcodes(self.pythia.event, barcodes)
        photon = np.isin(barcodes, (2, 3))  # the alp gun: the ALP is 1, its photons 2, 3
        parent = np.where(photon, 1, -1).astype(np.int32)
        return parent, np.where(photon, alp_sources.ALP_ID, 0).astype(np.int32)


def _leading_jet_pt(jets, event) -> float:
    """Leading anti-kt jet pT (GeV, R of ``jets``) of the final state, neutrinos excluded."""
    jets.analyze(event)
    return float(jets.pT(0)) if jets.sizeJet() > 0 else 0.0


def make_source(options: SourceOptions, seed: int) -> EventSource:
    """Validate ``options`` (user errors are one line) and build the event source."""
    check_source_options(options)
    return EventSource(options, seed)


def check_source_options(options: SourceOptions) -> None:
    """Raise :class:`UserError` (one line) if ``options`` are invalid; starts no Pythia."""
    o = options
    if o.preset not in PRESETS:
        raise UserError(
            f"unknown preset {o.preset!r}; valid: {', '.join(PRESETS)}"
            + did_you_mean(o.preset, PRESETS)
        )
    if o.preset in ("gun", "alp"):
        if o.preset == "gun" and o.particle not in GUN_PARTICLES:
            raise UserError(
                f"unknown particle {o.particle!r}; valid: {', '.join(GUN_PARTICLES)}"
                + did_you_mean(o.particle, GUN_PARTICLES)
            )
        if (o.energy is None) == (o.energy_range is None):
            raise UserError(
                f"--preset {o.preset} needs exactly one of --energy E or --energy-range LO HI"
            )
        if o.energy is not None and not o.energy > 0:
            raise UserError(f"--energy must be positive, got {o.energy}")
        if o.energy_range is not None:
            lo, hi = o.energy_range
            if not (0 < lo <= hi):
                raise UserError(f"--energy-range needs 0 < LO <= HI, got {lo} {hi}")
    a, b = o.eta_range
    if not a < b:
        raise UserError(f"--eta-range needs A < B, got {a} {b}")
    if o.slice_radius not in SLICE_RADII:
        raise UserError(
            f"--slice-radius {o.slice_radius:g}: choose from {', '.join(map(str, SLICE_RADII))}"
        )
    if o.pileup < 0:
        raise UserError(f"--pileup must be >= 0, got {o.pileup}")
    alp_sources.check_alp_options(o)
