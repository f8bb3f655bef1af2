"""Install hints of the optional extras: one helper (``jetpointnet.errors``), the same
words everywhere, each message checked with its extra made unimportable."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from jetpointnet.errors import UserError, install_hint, missing_extra, require_extra


def _hide(monkeypatch, *modules: str) -> None:
    """Make ``import m`` raise ImportError for each module (as if not installed)."""
    for m in modules:
        monkeypatch.setitem(sys.modules, m, None)


def test_helper_words():
    assert install_hint("jets") == "pip install 'jetpointnet[jets]'"
    err = missing_extra("X needs Y", "onnx", reason="no module", also="(or not)")
    assert str(err) == "X needs Y (no module): pip install 'jetpointnet[onnx]' (or not)"
    assert require_extra("json", "jets").dumps([1]) == "[1]"


def test_require_extra_missing(monkeypatch):
    _hide(monkeypatch, "optuna")
    with pytest.raises(UserError) as e:
        require_extra("optuna", "tune")
    assert str(e.value) == "this needs the package 'optuna': pip install 'jetpointnet[tune]'"


def test_display_hint(monkeypatch):
    from jetpointnet.plotting.html_display import _plotly

    _hide(monkeypatch, "plotly.graph_objects")
    with pytest.raises(UserError) as e:
        _plotly()
    assert str(e.value) == (
        "the interactive display needs Plotly: pip install 'jetpointnet[display]'"
    )


def test_tune_hint(monkeypatch):
    from jetpointnet.tuning.study import TUNE_HINT, _optuna

    _hide(monkeypatch, "optuna")
    with pytest.raises(UserError) as e:
        _optuna()
    assert str(e.value) == "tune needs the package 'optuna': pip install 'jetpointnet[tune]'"
    assert install_hint("tune") == TUNE_HINT


def test_onnx_hint(monkeypatch):
    from jetpointnet.predict.onnx_files import require_onnx

    _hide(monkeypatch, "onnxscript")
    with pytest.raises(UserError) as e:
        require_onnx()
    assert str(e.value) == (
        "ONNX export needs the package 'onnxscript': pip install 'jetpointnet[onnx]'"
    )


def test_dask_hint(monkeypatch):
    from jetpointnet.executors import run_dask

    _hide(monkeypatch, "distributed")
    with pytest.raises(UserError) as e:
        next(run_dask(None, [], workers=1, scheduler=None))  # a generator
    assert str(e.value) == (
        "--executor dask needs dask.distributed: pip install 'jetpointnet[dask]'"
    )


def test_jets_hint(monkeypatch):
    from jetpointnet.jets.clustering import _fastjet

    _hide(monkeypatch, "fastjet")
    with pytest.raises(UserError) as e:
        _fastjet()
    msg = str(e.value)
    assert msg.startswith("jets need the 'fastjet' and 'vector' packages (")
    assert msg.endswith("): pip install 'jetpointnet[jets]'")


def test_root_hint(monkeypatch):
    from jetpointnet.io._ttree_filler import import_root

    _hide(monkeypatch, "ROOT")
    with pytest.raises(UserError) as e:
        import_root()
    msg = str(e.value)
    assert msg.startswith("writing TTrees needs ROOT (")
    assert msg.endswith("): pip install 'jetpointnet[root]' (or use --format rntuple)")


def test_tensorboard_hint(monkeypatch, tmp_path: Path):
    from jetpointnet.training.logging import RunLogger

    _hide(monkeypatch, "torch.utils.tensorboard")
    logger = RunLogger(tmp_path, tensorboard=True)
    assert logger.writer is None
    assert logger.note == (
        "TensorBoard logs skipped: tensorboard is not installed "
        "(pip install 'jetpointnet[tensorboard]')"
    )
