"""Atomic outputs: write under a temporary name in the same folder, rename when complete.

An interrupted job therefore never leaves a half-written file under a final name, and a
re-run can trust that every final name it finds is complete.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_output", "is_partial"]

_PARTIAL = ".partial-"


def is_partial(path: str | os.PathLike[str]) -> bool:
    """True for a temporary file left by an interrupted :func:`atomic_output`."""
    return _PARTIAL in Path(path).name


@contextlib.contextmanager
def atomic_output(final: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``final``; rename it to ``final`` on success.

    The temporary keeps ``final``'s suffix (ROOT and numpy look at it). On any exception
    the temporary is removed and ``final`` is left as it was.
    """
    final = Path(final)
    if final.exists() and not overwrite:
        raise FileExistsError(f"{final}: exists (pass overwrite to replace it)")
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f"{final.stem}{_PARTIAL}{os.getpid()}{final.suffix}")
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
