"""Optional stage-2 arrays (data/extras): d_eta, d_phi, sampling, neighbours; batches; cnn/gnn runs.

On simulated rho events: the image coordinates agree with the written features, the
graph links agree with the CellGeo links of the file, padded and ragged layouts carry
the same values, batches carry what a model lists in ``inputs``, and both models train
and predict through the ordinary loop.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from jetpointnet.config import load_config
from jetpointnet.data.arrays import iter_samples
from jetpointnet.data.config import PreprocessConfig
from jetpointnet.data.preprocess import preprocess
from jetpointnet.data.schema import PointType
from jetpointnet.errors import UserError
from jetpointnet.io.mltree_reader import GEOMETRY_LINKS, read_geometry
from jetpointnet.io.prep_folder import load_arrays, split_files
from jetpointnet.training.config import TrainConfig
from jetpointnet.training.dataset import ChunkStream, load_chunk
from jetpointnet.training.inference import predict
from jetpointnet.training.loop import train

EXTRA = "arrays.extra=[d_eta, d_phi, sampling, neighbours]"
RAW = [
    "arrays.features=[eta, deta, dphi, dr, layer, type, energy]",
    "arrays.scaling={}",
    EXTRA,
    "events_per_chunk=10",
]


def _config(*more: str) -> PreprocessConfig:
    return load_config(PreprocessConfig, None, [*RAW, *more])


@pytest.fixture(scope="module")
def rho(simulated, tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], Path]:
    files = simulated("rho", 20, 3)
    out = tmp_path_factory.mktemp("extra") / "data"
    preprocess([str(f) for f in files], out, config=_config(), progress=False)
    return files, out


def _chunks(out: Path) -> list[dict[str, np.ndarray]]:
    return [load_arrays(p) for s in ("train", "val", "test") for p in split_files(out, s)]


def test_image_coordinates_match_the_features(rho) -> None:
    _, out = rho
    for chunk in _chunks(out):
        x = chunk["X"]
        np.testing.assert_allclose(chunk["d_eta"], x[:, 1], atol=1e-5)
        np.testing.assert_allclose(chunk["d_phi"], x[:, 2], atol=1e-5)
        np.testing.assert_allclose(np.hypot(chunk["d_eta"], chunk["d_phi"]), x[:, 3], atol=1e-5)
        assert chunk["sampling"].dtype == np.int8
        np.testing.assert_array_equal(chunk["sampling"], x[:, 4].astype(np.int8))
        assert chunk["neighbours"].shape == (len(x), 7)
        assert chunk["neighbours"].dtype == np.int32


def test_links_are_the_cellgeo_links(rho) -> None:
    files, out = rho
    geo = read_geometry(files[0], links=True)
    gid = geo["cell_geo_ID"].astype(np.uint64)
    row_of = {int(i): r for r, i in enumerate(gid)}
    n_cell_links = n_track_links = 0
    for chunk in _chunks(out):
        for s in iter_samples(chunk):
            nb, ids, cell = s["neighbours"], s["cell_id"], s["point_type"] == PointType.CELL
            in_sample = {int(i): k for k, i in enumerate(ids) if cell[k]}
            for k in np.flatnonzero(cell):
                r = row_of[int(ids[k])]
                for j, name in enumerate(GEOMETRY_LINKS):
                    link = int(geo[name][r])
                    want = in_sample.get(int(gid[link]), -1) if link >= 0 else -1
                    assert nb[k, j] == want
                    n_cell_links += want >= 0
                t = nb[k, 6]  # nearest track point in the same layer
                same = np.flatnonzero(~cell & (s["sampling"] == s["sampling"][k]))
                if len(same) == 0:
                    assert t == -1
                    continue
                d = np.hypot(s["d_eta"][same] - s["d_eta"][k], s["d_phi"][same] - s["d_phi"][k])
                assert t in same and np.isclose(d[list(same).index(t)], d.min())
            for k in np.flatnonzero(~cell):  # a track point: its nearest same-layer cells
                got = nb[k][nb[k] >= 0]
                n_track_links += len(got)
                assert np.all(cell[got]) and np.all(s["sampling"][got] == s["sampling"][k])
                assert nb[k, 6] == -1
    assert n_cell_links > 100 and n_track_links > 10


def test_padded_layout_carries_the_same_extras(rho, tmp_path: Path) -> None:
    files, out = rho
    padded = tmp_path / "padded"
    config = _config("arrays.layout=padded")
    preprocess([str(f) for f in files], padded, config=config, progress=False)
    for name in ("train", "test"):
        for a, b in zip(split_files(out, name), split_files(padded, name), strict=True):
            ra, pa = (
                load_chunk(a, extras=["neighbours", "d_eta", "sampling"]),
                load_chunk(b, extras=["neighbours", "d_eta", "sampling"]),
            )
            for key in ("neighbours", "d_eta", "sampling"):
                np.testing.assert_array_equal(ra.points[key], pa.points[key])


def test_batches_carry_extras_and_missing_ones_are_one_line(rho, tmp_path: Path) -> None:
    _, out = rho
    files = split_files(out, "train")
    stream = ChunkStream(files, batch_size=8, shuffle=False, extras=["neighbours", "d_phi"])
    batch = next(iter(stream))
    b, n = batch["mask"].shape
    assert batch["neighbours"].shape == (b, n, 7) and batch["d_phi"].shape == (b, n)
    assert (batch["neighbours"][~batch["mask"]] == -1).all()
    assert (batch["neighbours"] < batch["mask"].sum(1).view(b, 1, 1)).all()  # stays local
    assert "sampling" not in batch
    # a folder preprocessed without the arrays: a clear error, not a KeyError
    plain = tmp_path / "plain"
    preprocess([str(f) for f in rho[0]], plain, config=_config("arrays.extra=[]"), progress=False)
    with pytest.raises(UserError, match=r"no array 'neighbours'.*arrays\.extra"):
        load_chunk(split_files(plain, "train")[0], extras=["neighbours"])
    with pytest.raises(UserError, match=r"unknown array 'neighbors' \(closest: 'neighbours'"):
        preprocess(rho[0], tmp_path / "bad", config=_config("arrays.extra=[neighbors]"))


@pytest.mark.parametrize("name", ["cnn", "gnn"])
def test_models_train_and_predict_on_their_arrays(rho, tmp_path: Path, name: str) -> None:
    _, out = rho
    cfg = load_config(
        TrainConfig,
        Path(__file__).parents[1] / "configs" / "train" / f"{name}-small.yaml",
        ["train.epochs=2", "train.device=cpu", "train.threads=1", "train.tensorboard=false"],
    )
    result = train(cfg, data_dir=out, out_dir=tmp_path / "run", progress=False)
    assert result.epochs_done == 2
    pred = predict(tmp_path / "run", out, split="test", progress=False)
    assert np.isfinite(pred["pred"]).all() and len(pred["pred"]) == pred["offsets"][-1]
