"""Stack per-event records into the per-branch arrays of a chunk (the writer's input)."""

from __future__ import annotations

import awkward as ak
import numpy as np

from jetpointnet.io.mltree_layout import EVENT_BRANCHES, EVENT_TRUTH_BRANCHES
from jetpointnet.simulate.detector import EventRecord

__all__ = ["stack_events"]

_LAYOUT = {**EVENT_BRANCHES, **EVENT_TRUTH_BRANCHES}


def stack_events(records: list[EventRecord]) -> dict[str, ak.Array | np.ndarray]:
    """EventTree branches for a list of events: numpy for scalars, awkward for vectors."""
    out: dict[str, ak.Array | np.ndarray] = {}
    for name in records[0].values:
        dtype, depth = _LAYOUT[name]
        vals = [r.values[name] for r in records]
        if depth == 0:
            out[name] = np.asarray(vals, dtype=dtype)
        else:
            arrays: list[np.ndarray] = [np.asarray(v, dtype=dtype) for v in vals]
            counts = np.array([len(a) for a in arrays], dtype=np.int64)
            flat = np.concatenate(arrays) if arrays else np.empty(0, dtype)
            out[name] = ak.unflatten(flat.astype(dtype, copy=False), counts)
    for name in records[0].nested:
        dtype, depth = _LAYOUT[name]
        parts = [r.nested[name] for r in records]
        flat = np.concatenate([p[0] for p in parts]).astype(dtype, copy=False)
        per_event = np.array([len(p[-1]) for p in parts], dtype=np.int64)
        per_cluster = np.concatenate([p[-1] for p in parts]).astype(np.int64)
        if depth == 2:
            arr = ak.unflatten(ak.unflatten(flat, per_cluster), per_event)
        else:
            per_cell = np.concatenate([p[1] for p in parts]).astype(np.int64)
            arr = ak.unflatten(ak.unflatten(ak.unflatten(flat, per_cell), per_cluster), per_event)
        out[name] = arr
    return out
