"""A third speech engine: SVOX Pico (Android's former offline TTS) from PyPI's ``ttspico``.

Pico is a statistical-parametric synthesiser (HMM voices trained on recorded speakers), unlike
espeak-ng's formant rules and Kokoro's neural model. ``ttspico`` 0.3.2 (Apache-2.0) bundles the
engine's C source, built at install (a C compiler is needed), and its lingware: two English
voices, ``en-US`` and ``en-GB``, 16 kHz, whose four files are SHA-256 checked before first use.

An engine carries state from one call to the next (the same word said twice differs), so every
word gets a fresh engine (under 1 ms): a word's audio then depends only on (text, voice, pitch,
rate), in any process.
"""

from __future__ import annotations

import hashlib
import threading
from functools import cache
from pathlib import Path

import numpy as np

from tasks.audio.frontend_files import SETUP_COMMAND
from tasks.errors import DataError

SAMPLE_RATE = 16_000
VOICES = ("en-US", "en-GB")
PITCH_RANGE = (50, 200)  # percent of the voice's own; the engine clamps outside it
RATE_RANGE = (20, 500)  # percent of the voice's own speed
VOLUME_RANGE = (0, 500)  # percent of the engine's own level
# The level every caller uses: at the engine's own (100) about half the words clip, at 50 none.
VOLUME = 50
# Lingware of ttspico 0.3.2: text analysis (``_ta``) and signal generation (``_sg``) per voice.
LINGWARE_SHA256 = {
    "en-US_ta.bin": "3a2a4d23de2a44dbbff50f69dcb9486be53b6d0a871d77cdc35f45c3e25e82aa",
    "en-US_lh0_sg.bin": "d6946526696d9eb085f7b23b1fbdf7a9986caca658b645e9eb73c6514fd4789d",
    "en-GB_ta.bin": "57998f6423236dea25cd572a73b13f371e64155840e31b571eba7fca0b521b7e",
    "en-GB_kh0_sg.bin": "8f9f5d13a920a9f3371517178d42ce89b835f1e587760c2db280beb593c388fa",
}
_lock = threading.Lock()


class PicoError(DataError):
    """SVOX Pico is missing, its lingware is corrupt, or a voice or setting is refused."""


def _module():
    try:
        import ttspico
    except ImportError as e:
        raise PicoError(f"SVOX Pico (ttspico, built from source: needs a C compiler) is not installed "
                        f"({e}); run `{SETUP_COMMAND}`") from None
    return ttspico


def lingware_dir() -> Path:
    """The folder of the English lingware as installed by ``ttspico``."""
    return Path(_module()._LANG_DIR)


@cache
def _checked(folder: Path) -> Path:
    for name, expected in LINGWARE_SHA256.items():
        path = folder / name
        if not path.is_file():
            raise PicoError(f"SVOX Pico lingware {path} is missing; run `{SETUP_COMMAND}`")
        if hashlib.sha256(path.read_bytes()).hexdigest() != expected:
            raise PicoError(f"SVOX Pico lingware {path} does not match its SHA-256 ({expected[:12]}...): "
                            f"the file is corrupt or another version; run `{SETUP_COMMAND}`")
    return folder


def say(text: str, voice: str = "en-US", pitch: int = 100, rate: int = 100,
        folder: Path | None = None, volume: int = VOLUME) -> np.ndarray:
    """``text`` said by ``voice`` at ``pitch``, ``rate`` and ``volume`` (percent), float32 mono at 16 kHz.

    ``folder`` overrides where the lingware is read from (default: ``ttspico``'s own). At the
    engine's own volume (100) about half the words reach full scale and clip; the default,
    :data:`VOLUME` (50), clips none (measured on 48 takes of 4 words, both voices, pitches
    60-170, rates 80-125).
    """
    if voice not in VOICES:
        raise PicoError(f"unknown SVOX Pico voice {voice!r}; known: {', '.join(VOICES)}")
    for key, value, (lo, hi) in (("pitch", pitch, PITCH_RANGE), ("rate", rate, RATE_RANGE),
                                 ("volume", volume, VOLUME_RANGE)):
        if not lo <= value <= hi:
            raise PicoError(f"SVOX Pico {key} {value} is outside {lo}-{hi}")
    ttspico = _module()
    lang = _checked(Path(folder) if folder is not None else lingware_dir())
    with _lock:
        try:
            engine = ttspico.TtsEngine(voice, lang_dir=str(lang) + "/")
        except RuntimeError as e:
            raise PicoError(f"SVOX Pico could not load voice {voice} from {lang}: {e}") from None
        engine.pitch = int(pitch)
        engine.rate = int(rate)
        engine.volume = int(volume)
        pcm = engine.speak(text) or b""
    audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
    if not audio.size or not np.any(audio):
        raise PicoError(f"SVOX Pico said nothing for {text!r} ({voice}, pitch {pitch}, rate {rate}, volume {volume})")
    return audio

