"""The notebooks in notebooks/ run top to bottom (nbclient, in a kernel of this interpreter)
on tiny sizes, and are committed without outputs."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("pandas")
pytest.importorskip("plotly")
pytest.importorskip("fastjet")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


KERNEL = "jetpointnet-tests"


def _kernel_env(workdir: Path) -> dict[str, str]:
    """A kernel spec that runs this very interpreter, found first through JUPYTER_PATH (a
    ``python3`` spec installed elsewhere on the machine may name another Python)."""
    spec = workdir / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": KERNEL,
                                                  "language": "python"}))  # fmt: skip
    paths = [str(workdir / "jupyter"), os.environ.get("JUPYTER_PATH", "")]
    return {"JUPYTER_PATH": os.pathsep.join(p for p in paths if p)}


def execute(name: str, params: dict, workdir: Path):
    """Run ``notebooks/name`` with ``params`` assigned in a cell after its ``parameters``
    cell (as papermill does), in a kernel of this interpreter; return the executed notebook."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    source = "\n".join(f"{k} = {v!r}" for k, v in params.items())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    cell["id"] = "injected-parameters"
    nb.cells.insert(at + 1, cell)
    client = nbclient.NotebookClient(
        nb, kernel_name=KERNEL, timeout=600, resources={"metadata": {"path": str(workdir)}}
    )
    env = _kernel_env(workdir)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        client.execute()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    nbformat.write(nb, workdir / name)  # for a look after a failure
    return nb


def outputs_text(nb) -> str:
    parts = []
    for c in nb.cells:
        for o in c.get("outputs", []):
            parts.append(o.get("text", "") + json.dumps(o.get("data", {})))
    return "\n".join(parts)


@pytest.fixture(scope="module")
def tutorial(tmp_path_factory):
    work = tmp_path_factory.mktemp("tutorial")
    params = {"OUT": str(work / "out"), "CONFIGS": str(ROOT / "configs"), "RHO_EVENTS": 120,
              "DIJET_EVENTS": 2, "EPOCHS": 1, "SEED": 3}  # fmt: skip
    return execute("tutorial.ipynb", params, work), work / "out"


@pytest.mark.parametrize("name", ["tutorial.ipynb", "real_files.ipynb"])
def test_committed_without_outputs(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.slow
def test_tutorial_runs_the_chain(tutorial):
    nb, out = tutorial
    text = outputs_text(nb)
    assert (out / "runs" / "pointnet-rho" / "best.pt").is_file()
    assert (out / "eval" / "rho" / "report.html").is_file()
    assert (out / "jets" / "report.html").is_file()
    assert list((out / "displays").glob("*.html")) and list((out / "displays").glob("*.png"))
    assert "smart_random" in text and "classical pflow" in text  # the metrics table
    assert "ml:pointnet-rho" in text  # the jets table
    assert "image/png" in text  # the static display shown inline


@pytest.mark.slow
def test_real_files_notebook_predicts_and_reads_with_pandas(tutorial, tmp_path):
    _, out = tutorial
    params = {"MLTREE_FILES": str(out / "data" / "rho" / "*.root"),
              "RUN": str(out / "runs" / "pointnet-rho"), "OUT": str(tmp_path / "out"),
              "CONFIGS": str(ROOT / "configs")}  # fmt: skip
    nb = execute("real_files.ipynb", params, tmp_path)
    text = outputs_text(nb)
    assert (tmp_path / "out" / "predictions.parquet").is_file()
    assert "pred_focal_prob" in text and "response (median pred/true)" in text
