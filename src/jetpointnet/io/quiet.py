"""Silence C++ libraries that print to the process's standard output (Pythia, FastJet).

Python's ``contextlib.redirect_stdout`` only catches Python writes; the banners and
per-event chatter of compiled libraries go straight to file descriptor 1, which
:func:`quiet_stdout` points at ``/dev/null`` for the duration of the block.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

__all__ = ["quiet_stdout"]


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """Send file descriptor 1 to ``/dev/null`` inside the block, then restore it."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
