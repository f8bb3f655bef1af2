"""What a re-run of ``preprocess`` may reuse: the folder's identity and each chunk's inputs.

``run.json`` holds the resolved configuration and input paths: another configuration is
refused. Each finished stage-1 chunk records the fingerprints of its input and geometry
files (:mod:`jetpointnet.io.fingerprint`); a chunk is reused only while they are
unchanged, else the run refuses, or with ``overwrite`` forgets the chunk and its files
so that they are redone.
"""

from __future__ import annotations

from pathlib import Path

from jetpointnet.data.pipeline import output_name
from jetpointnet.errors import UserError
from jetpointnet.io.lock import LOCK_NAME
from jetpointnet.io.mltree_inputs import Chunk
from jetpointnet.io.sample_files import read_json, read_json_object, write_json

__all__ = ["RUN_FILE", "check_run_folder", "chunk_sources", "drop_changed"]

RUN_FILE = "run.json"


def chunk_sources(chunk: Chunk, prints: dict[str, dict]) -> dict[str, dict]:
    return {"events": prints[str(chunk.path)], "geometry": prints[str(chunk.geometry)]}


def drop_changed(out: Path, chunks: list[Chunk], sources: dict, *, overwrite: bool) -> None:
    """Refuse, or with ``overwrite`` forget, finished chunks whose input files changed."""
    for c in chunks:
        marker = out / "samples" / "_chunks" / f"{c.name}.json"
        if not marker.exists():
            continue
        record = read_json_object(marker)
        if record.get("sources") == sources[c.name]:
            continue
        if not overwrite:
            raise UserError(
                f"{c.path}: changed since chunk {c.name} was made from it (size, time or "
                f"contents; or made by an older version); pass --overwrite to redo its "
                f"chunks, or choose a new --out"
            )
        for split, fname in record.get("files", {}).items():
            (out / "samples" / split / fname).unlink(missing_ok=True)
            output_name(out, "arrays", split, Path(fname).stem, ".npz").unlink(missing_ok=True)
        marker.unlink()


def check_run_folder(out: Path, record: dict) -> None:
    path = out / RUN_FILE
    if path.exists():
        old = read_json(path)
        if old != record:
            raise UserError(
                f"{out}: holds outputs of another configuration or other inputs "
                f"(see {RUN_FILE}); choose a new --out or remove it"
            )
        return
    if out.exists() and any(p.name != LOCK_NAME for p in out.iterdir()):
        raise UserError(f"{out}: exists and is not a preprocess output folder; choose a new --out")
    write_json(path, record)
