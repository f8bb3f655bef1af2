"""Errors that are the user's to fix, and the helpers that word them.

A :class:`UserError` reaches the command line as one line on stderr and exit code 2;
anything else is our bug and keeps its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["UserError", "closest", "did_you_mean"]


class UserError(Exception):
    """A mistake in the user's input: printed as one line, never as a traceback."""


def closest(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """The names among ``candidates`` nearest to ``name`` (best first)."""
    pool = list(candidates)
    hits = difflib.get_close_matches(name, pool, n=n, cutoff=0.5)
    if not hits:
        low = name.lower()
        hits = [c for c in pool if low in c.lower() or c.lower() in low][:n]
    return hits


def did_you_mean(name: str, candidates: Iterable[str], n: int = 3) -> str:
    """`` (closest: 'a', 'b')`` or an empty string, to append to an error message."""
    hits = closest(name, candidates, n=n)
    if not hits:
        return ""
    return " (closest: " + ", ".join(repr(h) for h in hits) + ")"
