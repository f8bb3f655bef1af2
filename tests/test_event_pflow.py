"""The event-level model, its batch stream and its Hungarian loss (issue 13)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from synthetic_events import write_event_dataset

from jetpointnet.io.prep_folder import split_files
from jetpointnet.models.event_pflow import EventPflow, EventPflowConfig
from jetpointnet.training.config import TaskConfig
from jetpointnet.training.event_stream import EventStream
from jetpointnet.training.event_task import EventTask

INPUTS = ("cell_x", "cell_mask", "cell_energy", "cell_eta", "cell_phi",
          "track_x", "track_mask", "track_pt", "track_eta", "track_phi")  # fmt: skip
TINY = EventPflowConfig(dim=16, heads=2, enc_depth=1, dec_depth=1, n_neutral=4, embed=[16],
                        pair_mlp=[8], head_mlp=[16])  # fmt: skip


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models: one thread is fastest and does not fight other work for the cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_event_dataset(tmp_path_factory.mktemp("events"), events_per_file=24)


@pytest.fixture(scope="module")
def batch(folder):
    return next(iter(EventStream(split_files(folder, "train"), batch_size=8, shuffle=False)))


def _model(seed: int = 0) -> EventPflow:
    torch.manual_seed(seed)
    return EventPflow(4, 3, TINY).eval()


def _run(model, b):
    with torch.no_grad():
        return model(**{k: b[k] for k in INPUTS})


def test_stream_order_is_a_function_of_seed_and_epoch(folder):
    files = split_files(folder, "train")
    a, b = (EventStream(files, batch_size=5, seed=3) for _ in range(2))
    a.set_epoch(1)
    b.set_epoch(1)
    ids = [np.concatenate(s.batches()) for s in (a, b)]
    assert np.array_equal(*ids) and sorted(ids[0]) == list(range(48))
    b.set_epoch(2)
    assert not np.array_equal(ids[0], np.concatenate(b.batches()))
    for batch in a:
        q = batch["q"].sum(-1)
        assert (
            torch.allclose(q[batch["cell_mask"]], torch.ones(()))
            and (q[~batch["cell_mask"]] == 0).all()
        )
        assert batch["cell_mask"].any(1).all()


def test_cells_permute_equivariantly(batch):
    model = _model()
    out = _run(model, batch)
    perm = torch.randperm(batch["cell_x"].shape[1], generator=torch.Generator().manual_seed(1))
    pb = {k: (v[:, perm] if k.startswith("cell_") else v) for k, v in batch.items()}
    pout = _run(model, pb)
    assert torch.allclose(pout["incidence"], out["incidence"][:, perm], atol=1e-4)
    for k in ("existence", "class_logits", "energy", "eta", "phi"):
        assert torch.allclose(pout[k], out[k], atol=1e-4, rtol=1e-4), k


def test_neutral_slots_permute_equivariantly(batch):
    model = _model()
    out = _run(model, batch)
    nt, k = batch["track_x"].shape[1], TINY.n_neutral
    perm = torch.tensor([2, 0, 3, 1])
    with torch.no_grad():
        model.neutral_queries.copy_(model.neutral_queries[perm])
    pout = _run(model, batch)
    slots = torch.cat([torch.arange(nt), nt + perm])
    cols = torch.cat([slots, torch.tensor([nt + k])])
    assert torch.allclose(pout["incidence"], out["incidence"][:, :, cols], atol=1e-4)
    for name in ("existence", "energy", "eta"):
        assert torch.allclose(pout[name], out[name][:, slots], atol=1e-4, rtol=1e-4), name


def test_padding_changes_nothing(batch):
    model = _model()
    out = _run(model, batch)
    pb = dict(batch)
    for k in INPUTS:
        v = batch[k]
        if k.startswith(("cell_", "track_")):
            fill = False if v.dtype == torch.bool else 0.3
            pad = torch.full((v.shape[0], 5, *v.shape[2:]), fill, dtype=v.dtype)
            pb[k] = torch.cat([v, pad], dim=1)
    pout = _run(model, pb)
    nc, nt = batch["cell_x"].shape[1], batch["track_x"].shape[1]
    cm = batch["cell_mask"]
    real = torch.cat([torch.arange(nt), torch.arange(nt + 5, nt + 5 + TINY.n_neutral)])
    inc = torch.softmax(out["incidence"], -1)
    pinc = torch.softmax(pout["incidence"], -1)[:, :nc][:, :, torch.cat([real, real[-1:] * 0 - 1])]
    assert torch.allclose(pinc[cm], inc[cm], atol=1e-5)
    tm = torch.cat([batch["track_mask"], torch.ones(len(cm), TINY.n_neutral, dtype=torch.bool)], 1)
    for k in ("existence", "energy", "eta", "class_logits"):
        assert torch.allclose(pout[k][:, real][tm], out[k][tm], atol=1e-4, rtol=1e-4), k


def _perfect(b, *, k: int, order: torch.Tensor) -> dict[str, torch.Tensor]:
    """The outputs of a network that reproduces the targets, neutrals in slot ``order``."""
    nt, kn = b["track_x"].shape[1], b["neutral_mask"].shape[1]
    n, nc = b["cell_x"].shape[:2]
    slot = order[:kn]  # target t sits in neutral slot slot[t]
    q = torch.zeros(n, nc, nt + k + 1)
    q[:, :, :nt] = b["q"][:, :, :nt]
    q[:, :, nt + slot] = b["q"][:, :, nt : nt + kn]
    q[:, :, -1] = b["q"][:, :, -1]
    exists = torch.zeros(n, nt + k, dtype=torch.bool)
    exists[:, :nt] = b["charged_class"] >= 0
    exists[:, nt + slot] = b["neutral_mask"]
    cls = torch.zeros(n, nt + k, dtype=torch.long)
    cls[:, :nt] = b["charged_class"].clamp(min=0)
    cls[:, nt + slot] = b["neutral_class"].clamp(min=0)
    kin = {}
    for name, src in (("energy", "neutral_e"), ("eta", "neutral_eta"), ("phi", "neutral_phi")):
        v = torch.ones(n, nt + k)
        v[:, nt + slot] = torch.where(b["neutral_mask"], b[src], 1.0)
        kin[name] = v
    return {"incidence": torch.log(q + 1e-12), "existence": 40.0 * exists.float() - 20.0,
            "class_logits": 40.0 * torch.nn.functional.one_hot(cls, 5).float(), **kin}  # fmt: skip


def test_loss_is_zero_for_the_targets_whatever_the_slot_order(batch):
    task = EventTask(TaskConfig(name="event"))
    k = 5
    for seed in range(3):
        order = torch.randperm(k, generator=torch.Generator().manual_seed(seed))
        loss = task.loss(_perfect(batch, k=k, order=order), batch)
        assert abs(loss.item()) < 1e-6
    worse = _perfect(batch, k=k, order=torch.arange(k))
    worse["energy"] = worse["energy"] * 1.5
    a = task.loss(worse, batch)
    nt = batch["track_x"].shape[1]
    perm = torch.tensor([3, 1, 4, 0, 2])
    slots = torch.cat([torch.arange(nt), nt + perm])
    shuffled = {n: (v[:, :, torch.cat([slots, torch.tensor([nt + k])])] if n == "incidence"
                    else v[:, slots]) for n, v in worse.items()}  # fmt: skip
    b = task.loss(shuffled, batch)
    assert a.item() > 0.1 and abs(a.item() - b.item()) < 1e-6


def test_loss_falls_on_the_synthetic_folder(folder):
    torch.manual_seed(0)
    model = EventPflow(4, 3, TINY)
    task = EventTask(TaskConfig(name="event"))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    stream = EventStream(split_files(folder, "train"), batch_size=12, seed=0)
    val = next(iter(EventStream(split_files(folder, "val"), batch_size=24, shuffle=False)))

    def val_loss() -> float:
        model.eval()
        with torch.no_grad():
            return task.loss(model(**{k: val[k] for k in INPUTS}), val).item()

    before = val_loss()
    for epoch in range(5):
        stream.set_epoch(epoch)
        model.train()
        for b in stream:
            loss = task.loss(model(**{k: b[k] for k in INPUTS}), b)
            opt.zero_grad()
            loss.backward()
            opt.step()
    assert val_loss() < 0.8 * before
