#!/usr/bin/env bash
# Create or update the project's virtual environment (.venv) with jetpointnet, ROOT, Pythia 8,
# PyTorch, Plotly, a Jupyter kernel and the test and documentation tools. Idempotent: it
# reinstalls only when pyproject.toml changed.
#   PYTHON=python3.11 bash scripts/setup.sh     # choose the interpreter
#   TORCH_SPEC="torch>=2.3" bash scripts/setup.sh   # another PyTorch (e.g. a CUDA build)
#   JPN_INSTALLER=pip bash scripts/setup.sh          # pip only (uv is the default for speed)
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
# The rest through uv when it installs (x10 faster than pip here: 15 s against 160 s for ROOT,
# onnxruntime, pyarrow and ~130 more); pip when it does not, or with JPN_INSTALLER=pip (uv
# reads no pip.conf: a site's own index then needs UV_INDEX_URL, or pip). The torch that pip
# put there satisfies the project's range, so uv keeps it. Bytecode is compiled at install time:
# where PYTHONDONTWRITEBYTECODE is set (as on the project's machines) nothing caches it later,
# and every process would compile its ~1,800 imported modules from source (6 of the 32 s of a
# `jetpointnet jets` run).
extras=".[root,tensorboard,dask,onnx,tune,jets,display,notebook]"
if [ "${JPN_INSTALLER:-uv}" = uv ] && python -m pip install -q --disable-pip-version-check "uv>=0.8" \
    && python -m uv pip install -q --compile-bytecode --python "$(command -v python)" -e "$extras" \
      --group dev; then
  :
else
  echo "setup: installing with pip (uv not used)"
  python -m pip install -q --disable-pip-version-check -e "$extras" --group dev
fi
# The editable package itself (src/): uv and pip compile only what they install.
python -m compileall -q -j 0 src >/dev/null
echo "$want" > "$stamp"
echo "setup: done ($(python -c 'import jetpointnet, torch; print("jetpointnet", jetpointnet.__version__, "torch", torch.__version__)'))"
