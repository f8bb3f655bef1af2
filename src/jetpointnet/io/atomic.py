"""Atomic outputs: write under a temporary name in the same folder, rename when complete.

An interrupted job therefore never leaves a half-written file under a final name, and a
re-run can trust that every final name it finds is complete.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_output", "is_partial", "remove_stale_partials"]

_PARTIAL = ".partial-"


def is_partial(path: str | os.PathLike[str]) -> bool:
    """True for a temporary file left by an interrupted :func:`atomic_output`."""
    return _PARTIAL in Path(path).name


def _owner(path: Path) -> int | None:
    tail = path.name.split(_PARTIAL, 1)[1]
    digits = tail.split(".", 1)[0]
    return int(digits) if digits.isdigit() else None


def remove_stale_partials(
    folder: str | os.PathLike[str], *, stem: str = "", recursive: bool = False, locked: bool = False
) -> list[Path]:
    """Remove the temporaries of :func:`atomic_output` whose writer is no longer running.

    Only names of our own pattern (``NAME.partial-PID.SUFFIX``, ``NAME`` = ``stem`` if
    given) are touched, and only when process PID is gone, so that a job writing into the
    same folder right now keeps its file; ``locked``: the caller holds the folder's lock
    (:mod:`jetpointnet.io.lock`) and is starting, so every temporary there is stale.
    """
    from jetpointnet.io.lock import pid_alive

    folder = Path(folder)
    if not folder.is_dir():
        return []
    pattern = f"{stem or '*'}{_PARTIAL}*"
    found = folder.rglob(pattern) if recursive else folder.glob(pattern)
    removed = []
    for path in found:
        pid = _owner(path)
        if pid is None or not path.is_file():
            continue
        if not locked and pid != os.getpid() and pid_alive(pid):
            continue
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed.append(path)
    return removed


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
    except OSError as exc:
        if exc.filename not in (str(tmp), tmp):
            raise
        # name the file the user asked for, not our temporary (removed below)
        raise type(exc)(exc.errno, exc.strerror, str(final)) from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
