#!/usr/bin/env bash
# Run the test suite (sets up .venv first), one pytest-xdist worker per core (at most 4;
# each test file stays on one worker, so its module fixtures are made once; the longest files
# start first, tests/conftest.py::LONGEST_FIRST). Extra arguments go to pytest, e.g.
#   bash scripts/test.sh -m "not slow"     # the fast tests only
#   JPN_TEST_WORKERS=0 bash scripts/test.sh -x   # in this process, no workers
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
workers=${JPN_TEST_WORKERS:-$(python -c 'import os; print(min(os.cpu_count() or 1, 4))')}
if [ "$workers" -gt 1 ]; then
  exec python -m pytest -n "$workers" --dist loadfile --no-loadscope-reorder "$@"
fi
exec python -m pytest "$@"
