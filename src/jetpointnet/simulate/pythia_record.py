"""Pythia 8 records -> columns: the common settings, the final state, decayed particles.

Columns are lists keyed ``pdg, px, py, pz, e, m`` (GeV), ``vx, vy, vz`` (mm; Pythia's
vertices are in mm), ``q`` (charge, e) and ``bc`` (barcode: the index in the record plus an
offset); :func:`jetpointnet.simulate.generators` turns them into ``TruthEvent`` records.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "COLUMNS",
    "DECAY_XY_MAX_MM",
    "DECAY_Z_MAX_MM",
    "decayed_copies",
    "final_state",
    "new_pythia",
]

#: The decay volume of every preset but ``h2aa`` (mm): the cylinder inside the barrel
#: presampler (r = 1410 mm) and the end-cap presampler (|z| = 3620 mm); see
#: :mod:`jetpointnet.simulate.params` ``LAYERS``.
DECAY_XY_MAX_MM = 1410.0
DECAY_Z_MAX_MM = 3620.0

COLUMNS = ("pdg", "px", "py", "pz", "e", "m", "vx", "vy", "vz", "q", "bc")


def new_pythia(settings: list[str], seed: int):
    """An initialised, quiet Pythia seeded from ``seed``: the common settings (decays of
    particles with c tau0 < 1000 mm, inside the cylinder before the calorimeter), then
    ``settings`` (later ones win)."""
    import pythia8mc

    p = pythia8mc.Pythia("", False)  # no banner
    base = [
        "Print:quiet = on",
        "Next:numberCount = 0",
        "Next:numberShowEvent = 0",
        "Next:numberShowInfo = 0",
        "Next:numberShowProcess = 0",
        "Random:setSeed = on",
        f"Random:seed = {seed % 900_000_000 + 1}",
        "ParticleDecays:limitTau0 = on",
        "ParticleDecays:tau0Max = 1000",
        # Decay only inside the volume before the calorimeter (the presampler fronts): a
        # K0S or Lambda that would decay beyond it reaches the calorimeter whole and
        # showers as a hadron, as Geant4 would have it interact first.
        "ParticleDecays:limitCylinder = on",
        f"ParticleDecays:xyMax = {DECAY_XY_MAX_MM}",
        f"ParticleDecays:zMax = {DECAY_Z_MAX_MM}",
    ]
    for s in base + settings:
        if not p.readString(s):
            raise RuntimeError(f"Pythia rejected setting {s!r}")
    if not p.init():
        raise RuntimeError("Pythia failed to initialise")
    return p


def final_state(pythia, barcode_offset: int = 0, dz: float = 0.0) -> dict[str, list]:
    """Columns of the final-state particles of ``pythia.event``, vertex z shifted by ``dz``
    (mm), barcodes offset by ``barcode_offset``."""
    cols: dict[str, list] = {k: [] for k in COLUMNS}
    # a list of copies: ~3x faster to walk than the Event, but a copy's index() is not
    # its place in the record, so the place is counted here
    for index, prt in enumerate(pythia.event.particles()):
        if not prt.isFinal():
            continue
        cols["pdg"].append(prt.id())
        cols["px"].append(prt.px())
        cols["py"].append(prt.py())
        cols["pz"].append(prt.pz())
        cols["e"].append(prt.e())
        cols["m"].append(prt.m())
        cols["vx"].append(prt.xProd())
        cols["vy"].append(prt.yProd())
        cols["vz"].append(prt.zProd() + dz)
        cols["q"].append(prt.charge())
        cols["bc"].append(index + barcode_offset)
    return cols


def decayed_copies(pythia, ids: tuple[int, ...]) -> dict[str, list]:
    """Last copies of the decayed particles of |PDG id| in ``ids`` (W and Z, ALPs): their
    daughters are no longer of their kind (earlier copies recoiled in the shower)."""
    cols: dict[str, list] = {k: [] for k in COLUMNS}
    ev = pythia.event
    for prt in ev:
        if prt.idAbs() not in ids or prt.isFinal():
            continue
        d1, d2 = prt.daughter1(), prt.daughter2()
        if d1 <= 0 or any(ev[d].idAbs() == prt.idAbs() for d in range(d1, max(d1, d2) + 1)):
            continue  # not the last copy (recoiled in the shower)
        for k, v in (("pdg", prt.id()), ("px", prt.px()), ("py", prt.py()), ("pz", prt.pz()),
                     ("e", prt.e()), ("m", prt.m()), ("vx", prt.xProd()), ("vy", prt.yProd()),
                     ("vz", prt.zProd()), ("q", prt.charge()), ("bc", prt.index())):  # fmt: skip
            cols[k].append(v)
    return cols


def parent_barcodes(
    event, barcodes: np.ndarray, *, offset: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(mother barcode, mother PDG id) of each particle from a Pythia ``event`` record.

    ``barcodes`` are the particles' barcodes (their index in ``event`` plus ``offset``);
    particles not of that record (pile-up, other offsets) get (-1, 0). Reads the record
    only: no random numbers are drawn, so the event's other branches do not change.
    """
    parent = np.full(barcodes.size, -1, dtype=np.int32)
    pdg = np.zeros(barcodes.size, dtype=np.int32)
    record = event.particles()  # a list: much faster to index than the Event itself
    size = len(record)
    for i, bc in enumerate(barcodes.tolist()):
        j = bc - offset
        if 0 <= j < size:
            m = record[j].mother1()
            if m > 0:
                parent[i] = m + offset
                pdg[i] = record[m].id()
    return parent, pdg
