"""Seed 001's baselines reach their expected values on a known class balance."""

from __future__ import annotations

import numpy as np
import pytest

from jetpointnet.errors import UserError
from jetpointnet.evaluation.baselines import baseline_predictions
from jetpointnet.evaluation.metrics import binary_metrics

F = 0.3  # focal fraction


@pytest.fixture(scope="module")
def labels():
    rng = np.random.default_rng(5)
    return (rng.random(200_000) < F).astype(np.int8)


def test_dumb(labels):
    m = binary_metrics(labels, baseline_predictions("dumb", labels))
    assert m["accuracy"] == pytest.approx(1 - labels.mean())
    assert m["f1"] == 0.0 and m["precision"] == 0.0


def test_random(labels):
    m = binary_metrics(labels, baseline_predictions("random", labels, seed=1))
    assert m["recall"] == pytest.approx(0.5, abs=0.01)
    assert m["precision"] == pytest.approx(F, abs=0.01)
    assert m["f1"] == pytest.approx(2 * F / (2 * F + 1), abs=0.01)
    assert m["accuracy"] == pytest.approx(0.5, abs=0.01)


def test_smart_random(labels):
    m = binary_metrics(labels, baseline_predictions("smart_random", labels, seed=1))
    for key in ("precision", "recall", "f1"):
        assert m[key] == pytest.approx(F, abs=0.01)
    assert m["accuracy"] == pytest.approx(F**2 + (1 - F) ** 2, abs=0.01)


def test_reproducible_and_unknown(labels):
    a = baseline_predictions("random", labels[:100], seed=3)
    assert np.array_equal(a, baseline_predictions("random", labels[:100], seed=3))
    assert not np.array_equal(a, baseline_predictions("random", labels[:100], seed=4))
    with pytest.raises(UserError, match="smart_random"):
        baseline_predictions("smart-random", labels)
