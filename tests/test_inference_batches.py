"""Inference batches: sorted by length, at most batch_size samples and a padded-point budget."""

from __future__ import annotations

import numpy as np

from jetpointnet.training.inference import padded_batches


def _ragged(lengths: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    x = np.arange(offsets[-1] * 2, dtype=np.float32).reshape(-1, 2)
    return x, x[:, 0].copy(), offsets


def test_budget_caps_padded_points_and_keeps_every_point() -> None:
    rng = np.random.default_rng(3)
    lengths = (
        list(rng.integers(1, 100, size=200)) + list(rng.integers(100, 2000, size=100)) + [5000]
    )
    x, e, offsets = _ragged(lengths)
    batches = list(padded_batches(x, e, offsets, batch_size=64, max_points=20_000))
    for b in batches:
        assert len(b.x) <= 64
        assert len(b.x) == 1 or b.x.shape[0] * b.x.shape[1] <= 20_000
    assert max(len(b.x) for b in batches) == 64  # short clouds still fill whole batches
    assert any(b.x.shape[1] == 5000 and len(b.x) == 1 for b in batches)  # too long: alone
    rows = np.sort(np.concatenate([b.rows for b in batches]))
    assert np.array_equal(rows, np.arange(offsets[-1]))  # every real point exactly once
    for b in batches:  # the padded arrays hold the right points
        assert np.array_equal(b.x[b.mask], x[b.rows])


def test_short_clouds_unchanged_by_the_budget() -> None:
    x, e, offsets = _ragged([10, 3, 7, 128, 64] * 100)
    a = list(padded_batches(x, e, offsets, batch_size=256))
    b = list(padded_batches(x, e, offsets, batch_size=256, max_points=10**9))
    assert [len(t.x) for t in a] == [len(t.x) for t in b] == [256, 244]
