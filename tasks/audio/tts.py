"""Offline text to speech through libespeak-ng's C API (bundled by ``espeakng-loader``).

No system install is needed. espeak-ng keeps global state: calls are serialised with a
lock, and its output depends on every call made before in the same process (oscillator
phase, jitter). :func:`speak_batch` therefore runs a batch in a fresh child process, which
makes a batch's waveforms depend on the batch alone: same batch, same bytes. A word takes
~20 ms, so a whole voice grid is still quick.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cache

import numpy as np

_AUDIO_OUTPUT_RETRIEVAL = 1
_ESPEAK_RATE = 1
_ESPEAK_PITCH = 3
_ESPEAK_CHARS_AUTO = 0
_ESPEAK_CHARS_UTF8 = 1
_ESPEAK_PHONEMES_IPA = 0x02
_SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

_lock = threading.Lock()
_RAND_SEED = 1  # espeak-ng's own generator (breath, klatt noise), fixed for repeatable output


class TTSError(RuntimeError):
    """espeak-ng could not be loaded, or refused a voice or text."""


class _VoiceStruct(ctypes.Structure):
    # `languages` is a raw pointer: it holds several NUL-terminated entries, which a
    # c_char_p field would cut at the first NUL.
    _fields_ = [("name", ctypes.c_char_p), ("languages", ctypes.c_void_p),
                ("identifier", ctypes.c_char_p), ("gender", ctypes.c_ubyte),
                ("age", ctypes.c_ubyte), ("variant", ctypes.c_ubyte), ("xx1", ctypes.c_ubyte),
                ("score", ctypes.c_int), ("spare", ctypes.c_void_p)]


@dataclass(frozen=True)
class Voice:
    """One speaker: an English accent (language code) with a voice variant."""

    accent: str  # espeak language code, e.g. "en-us", "en-gb-scotland"
    variant: str  # espeak variant, e.g. "m3", "f2", "Alex"

    @property
    def group(self) -> str:
        """The speaker group used for splitting: the same voice never lands in two splits."""
        return f"tts:{self.accent}+{self.variant}"


class _Engine:
    def __init__(self) -> None:
        import espeakng_loader

        try:
            self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        except OSError as exc:  # pragma: no cover - depends on the wheel
            raise TTSError(f"cannot load libespeak-ng: {exc}") from exc
        lib = self.lib
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                     ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_VoiceStruct))
        lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
        self.sample_rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_RETRIEVAL, 0, espeakng_loader.get_data_path().encode(), 0)
        if self.sample_rate <= 0:
            raise TTSError("espeak_Initialize failed")
        self._chunks: list[np.ndarray] = []
        self._callback = _SYNTH_CALLBACK(self._collect)  # keep a reference: C holds a pointer
        lib.espeak_SetSynthCallback(self._callback)
        lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        lib.espeak_ng_SetRandSeed(_RAND_SEED)
        self.languages = self._list_languages()

    def _collect(self, wav, n, _events) -> int:  # noqa: ANN001 - ctypes callback
        if wav and n > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0

    def _list_languages(self) -> dict[str, str]:
        """Language code -> voice identifier, for every voice espeak-ng ships."""
        out: dict[str, str] = {}
        voices = self.lib.espeak_ListVoices(None)
        i = 0
        while voices[i]:
            v = voices[i].contents
            # `languages`: entries of (priority byte, NUL-terminated code), ended by a 0 byte.
            pos = v.languages
            while ctypes.string_at(pos, 1) != b"\0":
                code = ctypes.string_at(pos + 1)
                out.setdefault(code.decode("ascii", "replace").lower(), v.identifier.decode())
                pos += len(code) + 2
            i += 1
        return out

    def synth(self, text: str, voice: Voice, rate: int, pitch: int) -> np.ndarray:
        identifier = self.languages.get(voice.accent.lower())
        if identifier is None:
            english = sorted(c for c in self.languages if c.startswith("en"))
            raise TTSError(f"unknown accent {voice.accent!r}; espeak-ng knows {', '.join(english)}")
        spec = f"{identifier}+{voice.variant}".encode()
        if self.lib.espeak_SetVoiceByName(spec) != 0:
            raise TTSError(f"espeak-ng has no voice {voice.accent}+{voice.variant}")
        self.lib.espeak_SetParameter(_ESPEAK_RATE, int(rate), 0)
        self.lib.espeak_SetParameter(_ESPEAK_PITCH, int(pitch), 0)
        data = text.encode("utf-8") + b"\0"
        self._chunks = []
        if self.lib.espeak_Synth(data, len(data), 0, 0, 0, _ESPEAK_CHARS_UTF8, None, None) != 0:
            raise TTSError(f"espeak-ng failed to say {text!r}")
        self.lib.espeak_Synchronize()
        return np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)


    def phonemes(self, text: str, accent: str) -> str:
        """``text`` as IPA in ``accent`` (espeak-ng's own reading), words separated by spaces."""
        identifier = self.languages.get(accent.lower())
        if identifier is None or self.lib.espeak_SetVoiceByName(identifier.encode()) != 0:
            raise TTSError(f"unknown accent {accent!r}")
        ptr = ctypes.c_char_p(text.encode("utf-8"))
        parts = []
        while ptr.value:
            out = self.lib.espeak_TextToPhonemes(ctypes.byref(ptr), _ESPEAK_CHARS_UTF8, _ESPEAK_PHONEMES_IPA)
            if out:
                parts.append(out.decode("utf-8"))
        return " ".join(p.strip() for p in parts if p.strip())


@cache
def _engine() -> _Engine:
    return _Engine()


def variants() -> list[str]:
    """Names of every voice variant espeak-ng ships (``m3``, ``f2``, ``Alex``, ...)."""
    import os

    import espeakng_loader

    return sorted(os.listdir(os.path.join(espeakng_loader.get_data_path(), "voices", "!v")))


def speak(text: str, voice: Voice, rate: int = 175, pitch: int = 50) -> tuple[np.ndarray, int]:
    """Say ``text`` with ``voice``; returns mono float32 samples in [-1, 1] and the rate (22,050 Hz).

    ``rate`` is in words per minute (80-450), ``pitch`` 0-100 (50 is the voice's normal).
    """
    with _lock:
        engine = _engine()
        pcm = engine.synth(text, voice, rate, pitch)
        return pcm.astype(np.float32) / 32768.0, engine.sample_rate


def ipa(text: str, accent: str = "en-us") -> str:
    """IPA phonemes of ``text`` as espeak-ng reads it (used to drive other engines, e.g. Kokoro)."""
    with _lock:
        return _engine().phonemes(text, accent)


@dataclass(frozen=True)
class Utterance:
    """One thing to say: text, voice, rate (words per minute) and pitch (0-100)."""

    text: str
    voice: Voice
    rate: int = 175
    pitch: int = 50


def _speak_all(utterances: Sequence[Utterance]) -> list[tuple[np.ndarray, int]]:
    return [speak(u.text, u.voice, u.rate, u.pitch) for u in utterances]


def speak_batch(utterances: Sequence[Utterance]) -> list[tuple[np.ndarray, int]]:
    """Say every utterance, in order, in a fresh process: the result depends on the batch alone."""
    if not utterances:
        return []
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        return pool.submit(_speak_all, list(utterances)).result()
