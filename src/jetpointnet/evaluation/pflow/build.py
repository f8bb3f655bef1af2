"""``pflow-templates``: templates from single charged-pion files, end to end.

Inputs are either MLTree ROOT files of a pion gun (``jetpointnet simulate --preset gun
--set particle=pi+``, or real files), which are run through ``preprocess``'s stage 1 in a
temporary folder (default preprocessing config, all splits used), or one folder already
made by ``jetpointnet preprocess``, whose stage-1 samples of every split are read. The
result is written as JSON, with a plot of <E/p> against eflowRec next to it
(``FILE`` with ``_eop.png`` / ``_eop.pdf``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from jetpointnet.evaluation.inputs import load_stage1
from jetpointnet.evaluation.pflow.adapter import measure_templates
from jetpointnet.evaluation.pflow.templates import Templates, save_templates
from jetpointnet.io.prep_folder import stage_files

__all__ = ["build_templates", "write_templates"]


def build_templates(
    inputs: Sequence[str | os.PathLike[str]],
    *,
    min_count: int = 10,
    workers: int = 1,
    progress: bool = True,
) -> Templates:
    """Measure templates from pion-gun ROOT files (globs) or one preprocessed folder."""
    if len(inputs) == 1 and Path(inputs[0]).is_dir():
        folder = Path(inputs[0])
        stage1 = load_stage1(files=stage_files(folder, stage="samples"))
        return measure_templates(stage1, min_count=min_count, source=str(folder), progress=progress)
    from jetpointnet.data.config import PreprocessConfig
    from jetpointnet.data.preprocess import preprocess

    with tempfile.TemporaryDirectory(prefix="jetpointnet-templates-") as tmp:
        preprocess(
            list(inputs),
            tmp,
            config=PreprocessConfig(),
            workers=workers,
            stage="samples",
            progress=progress,
        )
        stage1 = load_stage1(files=stage_files(tmp, stage="samples"))
        source = ", ".join(str(i) for i in inputs)
        return measure_templates(stage1, min_count=min_count, source=source, progress=progress)


def write_templates(
    templates: Templates, out: str | os.PathLike[str], *, overwrite: bool = False, plot: bool = True
) -> list[Path]:
    """Write the JSON file and (``plot``) the <E/p> comparison figure; return the paths."""
    written = [save_templates(templates, out, overwrite=overwrite)]
    if plot:
        from jetpointnet.evaluation.pflow.templates import EFLOWREC_REFERENCE
        from jetpointnet.plotting.templates import plot_eop_templates, plot_ring_profiles

        stem = Path(out).with_suffix("")
        written += plot_eop_templates(
            templates, EFLOWREC_REFERENCE, stem.with_name(stem.name + "_eop")
        )
        written += plot_ring_profiles(templates, stem.with_name(stem.name + "_rings"))
    return written
