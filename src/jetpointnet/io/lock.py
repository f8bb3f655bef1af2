"""One job per output folder: an exclusive lock file held for the whole job.

The lock is ``FOLDER/.jetpointnet.lock``, created atomically (``O_CREAT | O_EXCL``) and
holding its owner's command, pid, host and start time as JSON. A second job into the same
folder stops with one line naming the holder. A lock whose owner is on this host and no
longer alive (killed with ``kill -9``) is stale: it is taken over with a one-line notice.
The same process may take the same folder's lock again (the demo nests commands).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

from jetpointnet.errors import UserError

__all__ = ["LOCK_NAME", "output_lock", "pid_alive"]

LOCK_NAME = ".jetpointnet.lock"
_held: dict[Path, int] = {}  # lock file -> depth, for this process


def pid_alive(pid: int) -> bool:
    """True while process ``pid`` exists on this host and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True


def _holder(path: Path) -> dict | None:
    """The lock's owner record, or None when the file vanished meanwhile."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return {}  # being written by its owner this very moment, or damaged


def _describe(rec: dict) -> str:
    if not rec:
        return "another job (lock file unreadable)"
    return (
        f"jetpointnet {rec.get('command', '?')} (pid {rec.get('pid')} on {rec.get('host')}, "
        f"since {rec.get('started')})"
    )


def _create(path: Path, record: dict) -> bool:
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as f:
        json.dump(record, f)
    return True


def _acquire(path: Path, command: str) -> None:
    host = socket.gethostname()
    record = {
        "command": command,
        "pid": os.getpid(),
        "host": host,
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    for _ in range(3):
        if _create(path, record):
            return
        rec = _holder(path)
        if rec is None:
            continue  # released between our two looks
        pid = rec.get("pid")
        if rec.get("host") == host and isinstance(pid, int) and not pid_alive(pid):
            print(
                f"jetpointnet {command}: note: {path.parent}: taking over the lock of "
                f"{_describe(rec)}, which is no longer running",
                file=sys.stderr,
            )
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            continue
        raise UserError(
            f"{path.parent}: in use by {_describe(rec)}; wait for it to finish "
            f"(or remove {path} if that job is gone)"
        )
    raise UserError(f"{path.parent}: could not take the lock {path} (contended)")


@contextlib.contextmanager
def output_lock(folder: str | os.PathLike[str], command: str) -> Iterator[Path]:
    """Hold ``folder``'s lock (creating the folder) for the ``with`` block."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder}: exists and is not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    path = (folder / LOCK_NAME).resolve()
    if path in _held:
        _held[path] += 1
    else:
        _acquire(path, command)
        _held[path] = 1
    try:
        yield path
    finally:
        _held[path] -= 1
        if not _held[path]:
            del _held[path]
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
