"""Strict JSON out: every file we write parses with any JSON reader (no NaN, no Infinity).

A non-finite float is written as ``null``; the writer documents what a ``null`` means
in the file itself where that is not obvious (for example jets' ``summary.json``).
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

__all__ = ["finite_or_none", "strict_dumps"]


def finite_or_none(obj: Any) -> Any:
    """``obj`` with every non-finite float (also numpy scalars and arrays) made None."""
    if isinstance(obj, dict):
        return {k: finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [finite_or_none(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return finite_or_none(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def strict_dumps(obj: Any, **kwargs: Any) -> str:
    """:func:`json.dumps` of ``obj`` with non-finite floats as ``null`` (``allow_nan=False``)."""
    return json.dumps(finite_or_none(obj), allow_nan=False, **kwargs)
