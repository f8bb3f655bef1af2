"""The user's environment, worded: OS errors and damaged files as one line each.

Only these classes are translated; any other exception is our bug and keeps its
traceback. Library code raises :class:`~jetpointnet.errors.UserError` where it knows
the path; this is the net for the rest (a full disk mid-write, a read-only folder).
"""

from __future__ import annotations

import errno
import json
import zipfile

__all__ = ["ENVIRONMENT_ERRORS", "describe"]

_HINTS = {
    errno.ENOSPC: "no space left on the device; free some space and re-run to resume",
    errno.EDQUOT: "disk quota exceeded; free some space and re-run to resume",
    errno.EROFS: "read-only file system; choose another output",
    errno.EACCES: "permission denied; choose another output or fix the permissions",
    errno.EPERM: "operation not permitted; choose another output or fix the permissions",
    errno.EISDIR: "is a folder, where a file was expected",
    errno.ENOTDIR: "is a file, where a folder was expected (or lies below a file)",
    errno.ENOENT: "not found",
    errno.EEXIST: "exists (pass --overwrite to replace it)",
}

ENVIRONMENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    UnicodeDecodeError,
    json.JSONDecodeError,
    zipfile.BadZipFile,
)


def describe(exc: BaseException) -> str:
    """One line naming the path (where the exception knows it) and the problem."""
    if isinstance(exc, OSError):
        where = exc.filename if exc.filename is not None else None
        problem = _HINTS.get(exc.errno or -1) or exc.strerror or str(exc)
        if exc.filename2 is not None:
            where = f"{where} -> {exc.filename2}"
        return f"{where}: {problem}" if where else problem
    if isinstance(exc, UnicodeDecodeError):
        return f"a file that should be text is not ({exc.reason} at byte {exc.start})"
    if isinstance(exc, json.JSONDecodeError):
        return f"a JSON file is damaged ({exc.msg}, line {exc.lineno})"
    return f"a damaged file ({type(exc).__name__}: {exc})"
