#!/usr/bin/env bash
# Set everything up and run the test suite (slow end-to-end tests: add `-m slow`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
export PREFECT_SERVER_ANALYTICS_ENABLED=false
unset PREFECT_API_URL  # tests run against their own temporary server
ruff check .
python -m pytest "$@"
