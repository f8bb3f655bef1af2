"""Outputs never overwrite inputs: the one check every writing command makes."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from jetpointnet.errors import UserError

__all__ = ["folder_files", "refuse_overlap"]


def _real(path: str | os.PathLike[str]) -> Path:
    return Path(os.path.realpath(os.fspath(path)))


def refuse_overlap(
    inputs: Iterable[str | os.PathLike[str] | None], output: str | os.PathLike[str]
) -> None:
    """Raise :class:`UserError` when ``output`` is, contains or lies inside an input.

    ``inputs`` are files or folders (None entries are skipped); symbolic links are
    followed, so a link to an input counts as the input. Checked with or without
    ``--overwrite``: nothing a command reads is ever replaced by what it writes.
    """
    out = _real(output)
    for item in inputs:
        if item is None:
            continue
        src = _real(item)
        if out == src:
            raise UserError(f"{output}: is the input {item}; choose another output")
        if src.is_relative_to(out):
            raise UserError(f"{output}: contains the input {item}; choose another output")
        if out.is_relative_to(src) and src.is_dir():
            raise UserError(f"{output}: lies inside the input {item}; choose another output")


def folder_files(folder: str | os.PathLike[str]) -> list[Path]:
    """The files directly in ``folder`` (a run folder's inputs: config, checkpoints, ...).

    A command may write new files into a run folder (``evaluate``'s ``RUN/eval``), never
    over the ones it reads; an output equal to the folder contains them and is refused.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return [folder]
    return sorted(p for p in folder.iterdir() if p.is_file())
