"""Event-level regions with a halo, and the tracks' calorimeter impact (issue 13)."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from jetpointnet.data.event_inputs import EVENT_KIND_OPTIONAL, EVENT_KIND_REQUIRED, event_view
from jetpointnet.data.event_preprocess import EventPreprocessConfig, preprocess_events
from jetpointnet.data.event_samples import RegionConfig
from jetpointnet.data.geometry import CellTable
from jetpointnet.errors import UserError
from jetpointnet.io.mltree_reader import read_events, read_geometry
from jetpointnet.io.sample_files import read_npz

#: Small tiles, so that showers cross their edges and the halo matters.
TILES = {"mode": "region", "deta": 0.3, "dphi": 0.3}


@pytest.fixture(scope="module")
def rho(simulated):
    return simulated("rho", events=6, seed=5)[0]


def _arrays(tmp_path, path, name, **region):
    cfg = EventPreprocessConfig(events_per_chunk=6, max_cells=1500, max_tracks=16,
                                max_neutral=32, region=RegionConfig(**region))  # fmt: skip
    res = preprocess_events([path], tmp_path / name, config=cfg, progress=False)
    assert res.metadata["truncation"]["samples"] == 0
    return [read_npz(f) for f in sorted((res.out / "arrays").rglob("*.npz"))]


def _core_totals(arrays):
    """Core cells' energy per cell id, core tracks, core neutrals (count, energy)."""
    cells: dict[tuple[int, int], float] = {}
    tracks, n, e = 0, 0, 0.0
    for a in arrays:
        for s in range(len(a["entry"])):
            core = a["cell_mask"][s] & a["cell_core"][s]
            for cid, ce in zip(a["cell_id"][s][core], a["cell_energy"][s][core], strict=True):
                key = (int(a["entry"][s]), int(cid))
                assert key not in cells, "a cell is core in two samples"
                cells[key] = float(ce)
            tracks += int((a["track_mask"][s] & a["track_core"][s]).sum())
            nc = a["neutral_mask"][s] & a["neutral_core"][s]
            n += int(nc.sum())
            e += float(a["neutral_e"][s][nc].sum())
    return cells, tracks, n, e


def test_halo_cores_partition_the_event(tmp_path, rho):
    whole = _arrays(tmp_path, rho, "whole", mode="event")
    halo = _arrays(tmp_path, rho, "halo", halo=0.2, **TILES)
    bare = _arrays(tmp_path, rho, "bare", **TILES)
    ref = _core_totals(whole)
    got = _core_totals(halo)
    assert got[0].keys() == ref[0].keys()
    assert np.allclose(list(got[0].values()), [ref[0][k] for k in got[0]])
    assert got[1:3] == ref[1:3] and got[3] == pytest.approx(ref[3], rel=1e-5)
    members = sum(int(a["cell_mask"].sum()) for a in halo)
    assert members > len(ref[0])  # the halo adds context
    assert sum(int(a["cell_mask"].sum()) for a in bare) == len(ref[0])
    for a in halo:  # every real cell's shares still add up to 1, core or halo
        assert np.allclose(a["q"].sum(-1)[a["cell_mask"]], 1.0, atol=1e-5)
        assert not (a["cell_core"] & ~a["cell_mask"]).any()
    for a in bare:  # no halo: everything is core
        assert (a["cell_core"] == a["cell_mask"]).all()
        assert (a["track_core"] == a["track_mask"]).all()


def _targets_as_outputs(a: dict) -> dict[str, np.ndarray]:
    """Model outputs equal to one chunk's targets (logits of the target shares)."""
    lt = a["track_mask"].shape[1]
    exists = np.concatenate([a["track_mask"], a["neutral_mask"]], axis=1)
    cls = np.concatenate([a["charged_class"], a["neutral_class"]], axis=1).clip(min=0)
    n = len(a["entry"])
    return {
        "incidence": np.log(a["q"].astype(np.float64) + 1e-12),
        "existence": np.where(exists, 20.0, -20.0),
        "class_logits": 10.0 * np.eye(5)[cls],
        "energy": np.concatenate([np.zeros((n, lt)), a["neutral_e"]], axis=1),
        "eta": np.concatenate([np.zeros((n, lt)), a["neutral_eta"]], axis=1),
        "phi": np.concatenate([np.zeros((n, lt)), a["neutral_phi"]], axis=1),
    }


def test_targets_as_prediction_write_each_particle_once(tmp_path, rho):
    from jetpointnet.data.event_particles import particles_from_samples
    from jetpointnet.predict.event_particles import particles_from_outputs

    for a in _arrays(tmp_path, rho, "halo", halo=0.2, **TILES):
        want = particles_from_samples(a)
        got = particles_from_outputs(_targets_as_outputs(a), a)
        assert len(got["E"]) == len(want["E"])
        for key in ("track_index", "E"):
            assert np.allclose(np.sort(got[key]), np.sort(want[key]), rtol=1e-5), key


def test_tracks_enter_the_calorimeter_at_their_impact(rho):
    events = read_events(rho, EVENT_KIND_REQUIRED, optional=EVENT_KIND_OPTIONAL,
                         entry_start=0, entry_stop=6)  # fmt: skip
    table = CellTable.from_geometry(read_geometry(rho))
    seen = 0
    for i in range(6):
        v = event_view(events, i, table)
        emb2 = np.asarray(ak.to_numpy(events["trackEta_EMB2"][i]), np.float64)
        eme2 = np.asarray(ak.to_numpy(events["trackEta_EME2"][i]), np.float64)
        want = np.where(emb2 > -1e5, emb2, np.where(eme2 > -1e5, eme2, v.track_eta))
        assert np.allclose(v.track_calo_eta, want)
        seen += int((emb2 > -1e5).sum())
    assert seen > 0
    # a file without extrapolations: the perigee direction
    bare = {k: v for k, v in events.items() if not k.startswith(("trackEta_", "trackPhi_"))}
    v = event_view(bare, 0, table)
    assert np.array_equal(v.track_calo_eta, v.track_eta)
    assert np.array_equal(v.track_calo_phi, v.track_phi)


def test_bad_halo_is_one_line(tmp_path, rho):
    cfg = EventPreprocessConfig(region=RegionConfig(halo=-0.1, **TILES))
    with pytest.raises(UserError, match=r"region\.halo"):
        preprocess_events([rho], tmp_path / "bad", config=cfg, progress=False)
    assert not (tmp_path / "bad" / "metadata.json").exists()
