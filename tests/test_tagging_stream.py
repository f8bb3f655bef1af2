"""The jet stream: class-mixed batches, an order fixed by (seed, epoch), per-batch padding."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from synthetic_jets import write_jet_folder

from jetpointnet.errors import UserError
from jetpointnet.io.prep_folder import split_files
from jetpointnet.io.sample_files import read_npz, write_npz
from jetpointnet.training.jet_stream import LINKS, OBSERVERS, JetStream


@pytest.fixture(scope="module")
def jets(tmp_path_factory):
    return write_jet_folder(
        tmp_path_factory.mktemp("jets"), jets={"train": 240, "val": 40}, chunk=80
    )


def test_chunks_mix_classes_and_batches_too(jets):
    files = split_files(jets, "train")
    for f in files:
        y = read_npz(f)["y_cloud"]
        assert 0.3 < y.mean() < 0.7  # the contract: no chunk of one class
    ds = JetStream(files, batch_size=32, n_classes=2, seed=3, buffer_size=100)
    frac = ds.class_fractions()
    assert frac.shape == (len(ds), 2)
    np.testing.assert_allclose(frac.sum(axis=1), 1.0)
    stats = ds.epoch_stats()
    assert 0.0 < stats["class_frac_min"] <= stats["class_frac_max"] < 1.0
    # the logged fractions are those of the batches the stream yields
    seen = [b["y_cloud"].float().mean().item() for b in ds]
    np.testing.assert_allclose(seen, frac[:, 1], atol=1e-6)


def test_order_is_a_function_of_seed_and_epoch(jets):
    files = split_files(jets, "train")
    a = JetStream(files, batch_size=50, n_classes=2, seed=1)
    b = JetStream(files, batch_size=50, n_classes=2, seed=1)
    a.set_epoch(2)
    b.set_epoch(2)
    ids_a = np.concatenate([x["sample_id"].numpy() for x in a])
    np.testing.assert_array_equal(ids_a, np.concatenate([x["sample_id"].numpy() for x in b]))
    assert sorted(ids_a) == list(range(240))  # every jet once per epoch
    b.set_epoch(3)
    assert not np.array_equal(ids_a, b.order())


def test_batches_are_padded_to_their_longest_jet_and_carry_links(jets):
    files = split_files(jets, "val")
    ds = JetStream(files, batch_size=16, n_classes=2, shuffle=False, features=[0, 1, 6])
    batch = next(iter(ds))
    n_con = batch["n_constituents"].numpy()
    assert batch["x"].shape == (16, n_con.max(), 3)
    assert batch["p4"].shape == (16, n_con.max(), 4)
    np.testing.assert_array_equal(batch["mask"].sum(1).numpy(), n_con)
    assert (batch["x"][~batch["mask"]] == 0).all()
    assert batch["y_cloud"].dtype == torch.int64 and batch["weight"].shape == (16,)
    for name in (*OBSERVERS, *LINKS):
        assert batch[name].shape == (16,)
    raw = read_npz(files[0])
    np.testing.assert_array_equal(batch["event_number"].numpy(), raw["event_number"][:16])


def test_missing_array_is_one_clear_line(jets, tmp_path):
    arrays = read_npz(split_files(jets, "val")[0])
    del arrays["p4"]
    bad = tmp_path / "arrays" / "val" / "bad_00000.npz"
    write_npz(bad, arrays)
    ds = JetStream([bad], batch_size=8, n_classes=2, shuffle=False)
    with pytest.raises(UserError, match=r"bad_00000\.npz: missing array 'p4'"):
        next(iter(ds))
    with pytest.raises(UserError, match=r"y_cloud outside \[0, 1\)"):
        JetStream([bad], batch_size=8, n_classes=1)
