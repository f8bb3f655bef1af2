#!/usr/bin/env bash
# Create or update the project's virtual environment (.venv) with jetpointnet, ROOT, Pythia 8,
# PyTorch, Plotly, a Jupyter kernel and the test and documentation tools. Idempotent: it
# reinstalls only when pyproject.toml changed.
#   PYTHON=python3.11 bash scripts/setup.sh     # choose the interpreter
#   TORCH_SPEC="torch>=2.3" bash scripts/setup.sh   # another PyTorch (e.g. a CUDA build)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
stamp=.venv/.jetpointnet-installed
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "setup: installing jetpointnet and its dependencies into .venv (a few minutes the first time)"
python -m pip install -q --disable-pip-version-check --upgrade "pip>=25.1"
# PyTorch first, pinned to the CPU wheel that the project's machines hold; any torch >= 2.3 works.
python -c "import torch" 2>/dev/null || python -m pip install -q --disable-pip-version-check "$TORCH_SPEC"
python -m pip install -q --disable-pip-version-check -e ".[root,tensorboard,dask,onnx,tune,jets,display,notebook]" --group dev
echo "$want" > "$stamp"
echo "setup: done ($(python -c 'import jetpointnet, torch; print("jetpointnet", jetpointnet.__version__, "torch", torch.__version__)'))"
