#!/usr/bin/env bash
# The house rules, checked (sets up .venv first): ruff (style, imports, the layer rules in
# each src/jetpointnet/*/ruff.toml), ruff's formatter, and mypy on src/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
ruff check src tests benchmarks docs/hooks
ruff format --check --quiet src tests benchmarks docs/hooks
mypy
echo "lint: ruff, ruff format and mypy pass"
