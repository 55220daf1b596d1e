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


def pcm16_wav_samples(path: Path | str) -> np.ndarray | None:
    """Memory-map the samples of a mono 16-bit PCM WAV (no decoding); None for any other file.

    Synthesis reads many short windows of long backgrounds: a memory map makes a window a
    slice instead of a decode of the file.
    """
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        fmt_ok = False
        while chunk := f.read(8):
            if len(chunk) < 8:
                return None
            cid, size = chunk[:4], int.from_bytes(chunk[4:], "little")
            if cid == b"fmt ":
                fmt = f.read(size)
                fmt_ok = (int.from_bytes(fmt[0:2], "little") == 1 and int.from_bytes(fmt[2:4], "little") == 1
                          and int.from_bytes(fmt[14:16], "little") == 16)
                f.seek(size % 2, 1)
            elif cid == b"data":
                if not fmt_ok:
                    return None
                return np.memmap(path, dtype="<i2", mode="r", offset=f.tell(), shape=(size // 2,))
            else:
                f.seek(size + size % 2, 1)
    return None
