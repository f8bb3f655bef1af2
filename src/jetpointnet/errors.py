"""Errors that are the user's to fix, and the helpers that word them.

A :class:`UserError` reaches the command line as one line on stderr and exit code 2;
anything else is our bug and keeps its traceback.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterable
from types import ModuleType

__all__ = ["UserError", "closest", "did_you_mean", "install_hint", "missing_extra", "require_extra"]


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


def install_hint(extra: str) -> str:
    """The command that installs the optional extra ``extra``: ``pip install 'jetpointnet[X]'``."""
    return f"pip install 'jetpointnet[{extra}]'"


def missing_extra(what: str, extra: str, *, reason: str = "", also: str = "") -> UserError:
    """The error for a missing optional extra: ``"{what}: pip install 'jetpointnet[extra]'"``.

    ``what`` says what needs it (``"jets need the 'fastjet' and 'vector' packages"``),
    ``reason`` (the ImportError's text) goes in brackets after it and ``also`` (another
    way out, such as ``"(or use --format rntuple)"``) after the hint.
    """
    why = f" ({reason})" if reason else ""
    tail = f" {also}" if also else ""
    return UserError(f"{what}{why}: {install_hint(extra)}{tail}")


def require_extra(module: str, extra: str, *, what: str | None = None) -> ModuleType:
    """Import ``module`` of the optional extra ``extra``, or raise :class:`UserError` with
    the install hint (``what`` needs it; default: ``"this needs the package 'module'"``)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise missing_extra(what or f"this needs the package {module!r}", extra) from None
