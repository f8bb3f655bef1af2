#!/usr/bin/env bash
# The main job on the embedded default data (sets up .venv first): simulate -> report.
# Output in demo-output/ unless --out DIR is given; extra arguments go to `jetpointnet demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
exec jetpointnet demo "$@"
