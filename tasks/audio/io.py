"""Reading and writing audio with soundfile (WAV, FLAC, OGG); mono float32 in memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF

from tasks.io import atomic_file

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg")


class AudioReadError(ValueError):
    """A file soundfile cannot decode; the message says why."""


def list_audio(folder: Path | str) -> list[Path]:
    """Every audio file under ``folder`` (recursively), sorted for a stable order."""
    folder = Path(folder)
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)


def read_audio(path: Path | str) -> tuple[np.ndarray, int]:
    """Decode a file to ``(samples, sample_rate)``; samples are float32 ``(n, channels)``."""
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioReadError(f"undecodable: {exc}") from None
    return data, int(sr)


def to_mono(data: np.ndarray) -> np.ndarray:
    """Average the channels of ``(n, channels)`` audio into ``(n,)`` float32."""
    if data.ndim == 1:
        return data.astype(np.float32, copy=False)
    return data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0].copy()


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Band-limited resampling (torchaudio's sinc interpolation); float32 in and out."""
    if sr_in == sr_out:
        return x.astype(np.float32, copy=False)
    y = AF.resample(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), sr_in, sr_out)
    return y.numpy()


def write_wav(path: Path | str, x: np.ndarray, sr: int) -> None:
    """Write mono float audio as 16-bit PCM WAV, atomically."""
    with atomic_file(path) as tmp:
        sf.write(str(tmp), x, sr, subtype="PCM_16", format="WAV")


def float_to_pcm16(x: np.ndarray) -> np.ndarray:
    """Round float audio in [-1, 1] to int16 exactly as soundfile does for PCM_16."""
    return np.clip(np.rint(x * 32767.0), -32768, 32767).astype(np.int16)
