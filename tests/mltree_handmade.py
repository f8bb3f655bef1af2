"""A tiny hand-made MLTree file (TTree layout, written with ROOT) with known contents.

Two events, four + one tracks, shared cells, an end-cap track at eta < 0, a cone across
phi = +-pi, ``hitsTruth`` vectors longer than the cell lists, a NaN cell energy, a cell
missing from the geometry, and a ``CellGeo`` tree in shuffled ID order. The expected
stage-1 content is spelled out by hand in ``tests/test_samples.py``.

:func:`refuse_decompression` makes uproot fail on a codec as an uproot without that
codec's package does (uproot < 5.3 without ``lz4`` / ``zstandard``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jetpointnet.io.mltree_layout import TRACK_LAYERS

__all__ = ["CELLS", "refuse_decompression", "write_handmade"]

S = -999999999.0  # MLTree's "not reached"

# id: (sampling, eta, phi, rPerp mm, sigma GeV)
CELLS = {
    1001: (2, 0.10, 0.20, 1700.0, 0.03),
    1002: (2, 0.125, 0.2245, 1700.0, 0.03),
    1003: (2, 0.15, 0.25, 1700.0, 0.03),
    1004: (2, 0.15, 0.30, 1700.0, 0.03),
    1005: (2, 0.05, 0.15, 1700.0, 0.03),
    1006: (2, 0.00, -3.10, 1700.0, 0.03),
    2001: (3, 0.10, 0.20, 1900.0, 0.025),
    3001: (6, -1.80, 1.00, 3983.68 / np.sinh(1.8), 0.04),
    4001: (2, 1.00, -2.00, 1700.0, 0.03),
}

LAYERS = TRACK_LAYERS  # every layer with trackEta_<L> / trackPhi_<L> branches


def _track(pt, p, eta, phi, truth, layers):
    """layers: {name: (eta, phi)}; the others are sentinels."""
    out = {"pt": pt, "p": p, "eta": eta, "phi": phi, "truth": truth}
    for name in LAYERS:
        out[name] = layers.get(name, (S, S))
    return out


EVENTS = [
    {
        "eventNumber": 1000,
        "truth": [(211, 10.1), (-211, 5.1), (22, 3.0)],
        "tracks": [
            _track(
                10.0,
                10.05,
                0.1,
                0.2,
                0,
                {"EMB1": (0.1, 0.2), "EMB2": (0.1, 0.2), "EMB3": (0.1, 0.2)},
            ),
            _track(5.0, 5.06, 0.15, 0.3, 1, {"EMB2": (0.15, 0.3)}),
            _track(2.0, 6.2, -1.8, 1.0, -1, {"EME2": (-1.8, 1.0)}),
            _track(1.0, 1.0, 0.5, 0.5, -1, {}),
        ],
        # clusters: list of cells (id, E, [(truth index, truth E), ...]) + extra hit lists
        "clusters": [
            (
                [
                    (1001, 2.0, [(0, 1.8)]),
                    (1002, 1.5, [(0, 0.5), (1, 0.7)]),
                    (1003, 0.5, [(2, 0.4)]),
                ],
                [[(1, 99.0)]],
            ),
            (
                [
                    (1003, 0.3, [(2, 0.4)]),
                    (1004, 1.0, [(1, 0.9)]),
                    (5001, 0.2, []),
                    (1005, 0.05, []),
                ],
                [],
            ),
            ([(3001, 4.0, [(2, 0.1)])], []),
        ],
    },
    {
        "eventNumber": 1001,
        "truth": [(211, 20.0)],
        "tracks": [_track(20.0, 20.0, 0.0, 3.1, 0, {"EMB2": (0.0, 3.1)})],
        "clusters": [([(1006, 1.0, [(0, 0.9)]), (2001, float("nan"), [(0, 0.1)])], [])],
    },
]


def write_handmade(
    path: Path,
    *,
    copies: int = 1,
    skip: tuple[str, ...] = (),
    no_tracks: bool = False,
    geometry: bool = True,
    id_offset: int = 0,
    compression: int | None = None,
) -> Path:
    """Write the file (EventTree + CellGeo) and return its path.

    ``copies`` repeats the events (event numbers shifted by 10 per copy); ``skip`` leaves
    branches out; ``no_tracks`` empties every track list; ``geometry`` writes CellGeo;
    ``id_offset`` is added to every cell ID (real files' IDs can be any uint64);
    ``compression`` is ROOT's code (algorithm * 100 + level; None: ROOT's default).
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "ROOT is in alpha stage"
        import ROOT

    events = []
    for k in range(copies):
        for ev in EVENTS:
            e = dict(ev, eventNumber=ev["eventNumber"] + 10 * k)
            if no_tracks:
                e["tracks"] = []
            events.append(e)

    V = ROOT.std.vector
    f = ROOT.TFile(str(path), "RECREATE", "", *(() if compression is None else (compression,)))
    t = ROOT.TTree("EventTree", "EventTree")
    run = np.zeros(1, np.int32)
    evn = np.zeros(1, np.int64)
    t.Branch("runNumber", run, "runNumber/I")
    t.Branch("eventNumber", evn, "eventNumber/L")
    fvec = {
        n: V("float")()
        for n in ("trackPt", "trackP", "trackEta", "trackPhi", "trackChiSquared", "truthPartE")
    }
    for name in LAYERS:
        fvec[f"trackEta_{name}"] = V("float")()
        fvec[f"trackPhi_{name}"] = V("float")()
    ivec = {n: V("int")() for n in ("trackTruthParticleIndex", "trackNumberDOF", "truthPartPdgId")}
    cid = V(V("unsigned long"))()
    ce = V(V("float"))()
    hti = V(V(V("int")))()
    hte = V(V(V("float")))()
    branches = {
        **fvec,
        **ivec,
        "cluster_cell_ID": cid,
        "cluster_cell_E": ce,
        "cluster_cell_hitsTruthIndex": hti,
        "cluster_cell_hitsTruthE": hte,
    }
    for n, v in branches.items():
        if n not in skip:
            t.Branch(n, v)
    for ev in events:
        for v in (*fvec.values(), *ivec.values(), cid, ce, hti, hte):
            v.clear()
        run[0] = 7
        evn[0] = ev["eventNumber"]
        for pdg, e in ev["truth"]:
            ivec["truthPartPdgId"].push_back(pdg)
            fvec["truthPartE"].push_back(e)
        for tr in ev["tracks"]:
            fvec["trackPt"].push_back(tr["pt"])
            fvec["trackP"].push_back(tr["p"])
            fvec["trackEta"].push_back(tr["eta"])
            fvec["trackPhi"].push_back(tr["phi"])
            fvec["trackChiSquared"].push_back(12.0)
            ivec["trackNumberDOF"].push_back(10)
            ivec["trackTruthParticleIndex"].push_back(tr["truth"])
            for name in LAYERS:
                fvec[f"trackEta_{name}"].push_back(tr[name][0])
                fvec[f"trackPhi_{name}"].push_back(tr[name][1])
        for cells, extra in ev["clusters"]:
            ids, es = V("unsigned long")(), V("float")()
            ti, tE = V(V("int"))(), V(V("float"))()
            for hits in [c[2] for c in cells] + extra:
                a, b = V("int")(), V("float")()
                for i, e in hits:
                    a.push_back(i)
                    b.push_back(e)
                ti.push_back(a)
                tE.push_back(b)
            for c in cells:
                ids.push_back(c[0] + id_offset)
                es.push_back(c[1])
            cid.push_back(ids)
            ce.push_back(es)
            hti.push_back(ti)
            hte.push_back(tE)
        t.Fill()
    t.Write()
    if not geometry:
        f.Close()
        return path

    g = ROOT.TTree("CellGeo", "CellGeo")
    order = [3001, 1004, 4001, 1001, 2001, 1006, 1003, 1005, 1002]  # shuffled on purpose
    gid = V("unsigned long")()
    gs = V("unsigned short")()
    cols = {
        n: V("float")()
        for n in (
            "cell_geo_eta",
            "cell_geo_phi",
            "cell_geo_rPerp",
            "cell_geo_deta",
            "cell_geo_dphi",
            "cell_geo_volume",
            "cell_geo_sigma",
        )
    }
    g.Branch("cell_geo_ID", gid)
    g.Branch("cell_geo_sampling", gs)
    for n, v in cols.items():
        g.Branch(n, v)
    for i in order:
        s, eta, phi, r, sig = CELLS[i]
        gid.push_back(i + id_offset)
        gs.push_back(s)
        for n, val in zip(cols, (eta, phi, r, 0.025, 0.0245, 1000.0, sig), strict=True):
            cols[n].push_back(val)
    g.Fill()
    g.Write()
    f.Close()
    return path


def refuse_decompression(monkeypatch, codec: str) -> None:
    """Make uproot's ``codec`` ("LZ4" or "ZSTD") decompressor raise what an uproot without
    its package raises: ModuleNotFoundError("install the 'lz4' package ...") from the
    failed import."""
    import uproot

    module = {"LZ4": "lz4", "ZSTD": "zstandard"}[codec]
    compression = uproot.compression
    cls = getattr(compression, f"_Decompress{codec}", getattr(compression, codec))

    def missing(self, data, uncompressed_bytes=None):
        cause = ModuleNotFoundError(f"No module named {module!r}", name=module)
        message = f"install the {module!r} package with:\n\n    pip install {module}\n"
        raise ModuleNotFoundError(message) from cause

    monkeypatch.setattr(cls, "decompress", missing)
