"""Reading and writing audio with soundfile (WAV, FLAC, OGG, MP3, AIFF); mono float32 in memory.

Every command opens audio through :func:`open_audio` (or :func:`read_audio` on top of it), so
what one command reads every other reads too, and a file that cannot be used gets a reason:
missing, a symlink loop or broken link, an unsupported format, a WAV cut short, too long
(from its header, before anything is decoded).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF

from tasks.io import atomic_file

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff")

# A WAV data chunk size meaning "unknown" (written by recorders that stream).
_UNKNOWN_SIZES = (0, 0xFFFFFFFF)


class AudioReadError(ValueError):
    """A file soundfile cannot decode; the message says why."""


def list_audio(folder: Path | str) -> list[Path]:
    """Every audio file under ``folder`` (recursively, not following folder links), sorted.

    Links with an audio extension are listed even when they are broken or loop, so that
    reading them reports why instead of the file silently going missing.
    """
    found = []
    for root, _dirs, files in os.walk(folder):
        found += [Path(root) / name for name in files if Path(name).suffix.lower() in AUDIO_EXTENSIONS]
    return sorted(found)


def path_problem(path: Path | str) -> str | None:
    """Why ``path`` cannot be opened as an audio file (missing, link loop, folder, format), or None."""
    path = Path(path)
    if path.is_symlink():
        try:
            path.resolve(strict=True)
        except FileNotFoundError:
            return f"broken link: {path} points to {os.readlink(path)}, which does not exist"
        except (RuntimeError, OSError):
            return f"symlink loop: {path} links back to itself"
    if not path.exists():
        return "not found"
    if path.is_dir():
        return "a folder, not an audio file"
    if path.suffix.lower() not in AUDIO_EXTENSIONS:
        return f"unsupported format {path.suffix or '(no extension)'}: read are {', '.join(AUDIO_EXTENSIONS)}"
    if path.stat().st_size == 0:
        return "empty: the file has no bytes"
    return None


def wav_truncation(path: Path | str) -> str | None:
    """For a WAV whose data chunk is shorter than its header says, the reason; else None."""
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        total = os.fstat(f.fileno()).st_size
        while len(chunk := f.read(8)) == 8:
            cid, size = chunk[:4], int.from_bytes(chunk[4:], "little")
            if cid == b"data":
                held = total - f.tell()
                if size not in _UNKNOWN_SIZES and held < size:
                    return (f"truncated: the WAV header says {size} bytes of audio, the file holds {held} "
                            "(cut short while copying or recording?)")
                return None
            f.seek(size + size % 2, 1)
    return None


def open_audio(path: Path | str) -> sf.SoundFile:
    """Open an audio file for reading, after the checks of :func:`path_problem` and :func:`wav_truncation`."""
    problem = path_problem(path) or wav_truncation(path)
    if problem:
        raise AudioReadError(problem)
    try:
        return sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioReadError(f"undecodable: {exc}") from None


def read_audio(path: Path | str, max_seconds: float | None = None) -> tuple[np.ndarray, int]:
    """Decode a file to ``(samples, sample_rate)``; samples are float32 ``(n, channels)``.

    With ``max_seconds``, a longer file is refused from its header before it is decoded, and
    never more than that much is read whatever the header says.
    """
    with open_audio(path) as f:
        sr = int(f.samplerate)
        limit = None if max_seconds is None else int(max_seconds * sr)
        if limit is not None and f.frames > limit:
            raise AudioReadError(f"too long: {f.frames / sr:.1f} s (from its header) > {max_seconds:g} s; not read")
        try:
            data = f.read(-1 if limit is None else limit + 1, dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
            raise AudioReadError(f"undecodable: {exc}") from None
    if limit is not None and len(data) > limit:
        raise AudioReadError(f"too long: more than {max_seconds:g} s")
    return data, sr


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
