#!/usr/bin/env bash
# Set everything up and run the whole default pipeline (demo scale) on built-in data.
#   bash scripts/demo.sh                 # demo scale (params.yaml)
#   FULL=1 bash scripts/demo.sh          # full scale: params-full.yaml run as a DVC experiment
#                                        # (dvc exp run --temp); params.yaml and data/ stay as they are
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
export PREFECT_SERVER_ANALYTICS_ENABLED=false
echo "==> starting the Prefect server (UI and API)"
export PREFECT_API_URL="$(python -m flows.server start)"
echo "    flow runs appear at ${PREFECT_API_URL%/api}"
if [ "${FULL:-0}" = 1 ]; then
  echo "==> full scale: params-full.yaml as a DVC experiment (dvc exp run --temp); params.yaml is not touched"
  python -m flows.pipeline --params params-full.yaml
  echo "==> done. Compare with the demo scale: dvc exp show; bring the results into data/: dvc exp apply <name>"
  echo "    (back to the demo scale afterwards: git checkout HEAD -- params.yaml dvc.lock && dvc checkout)"
  exit 0
fi
echo "==> pipeline flow: runs the stale dvc.yaml stages (independent ones side by side) through dvc repro"
python -m flows.pipeline
echo "==> done. Outputs under data/; browse the runs at ${PREFECT_API_URL%/api}"
echo "    (the server keeps running; stop it with: .venv/bin/python -m flows.server stop)"
