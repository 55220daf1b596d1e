"""Many short recordings in a few files: 16-bit WAV shards, each recording named by reference.

Why: a no-op ``dvc repro`` stats and looks up every file of every output, so its time grows
with the file count; at full scale one WAV per word and per clip made about 110,000. Here
each task writes its recordings back to back into one shard: a mono 16-bit PCM WAV (any
player opens it and plays them in order), and each manifest row names its recording by the
reference ``SHARD.wav#START:STOP`` (samples, like a Python slice), relative to the output
folder. A reference without ``#`` is a whole audio file (hard negatives, a user's files, the
``dataset`` command's one WAV per clip), so readers never care which they were given:
everything reads through :func:`read_ref` (float32) or :func:`pcm_ref` (int16).

Samples are stored as the int16 values :func:`tasks.audio.io.write_wav` would write, and read
back as ``int16 / 32768`` like soundfile reads a 16-bit WAV, so a recording read from a shard
equals, bit for bit, the same recording read from its own WAV file.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import uuid
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import soundfile as sf

from tasks.audio.io import pcm16_wav_samples, wav_truncation
from tasks.errors import DataError
from tasks.io import atomic_file

_REF = re.compile(r"(?P<file>.+\.wav)#(?P<start>\d+):(?P<stop>\d+)")
_SCALE = np.float32(1.0 / 32768.0)


class ShardError(DataError):
    """A shard that cannot be read (missing, corrupt, truncated); the message names the file."""


def make_ref(shard: str, start: int, stop: int) -> str:
    return f"{shard}#{start}:{stop}"


def parse_ref(ref: str) -> tuple[str, int | None, int | None]:
    """``(file, start, stop)`` of a reference; start and stop are None for a whole file."""
    m = _REF.fullmatch(ref)
    if m is None:
        return ref, None, None
    return m["file"], int(m["start"]), int(m["stop"])


def shard_name(prefix: str, keys: Iterable[str]) -> str:
    """A shard's file name from what it holds (stable across runs, distinct between tasks)."""
    digest = hashlib.sha256("\n".join(keys).encode()).hexdigest()[:12]
    return f"{prefix}-{digest}.wav"


def to_pcm16(x: np.ndarray) -> np.ndarray:
    """Mono float audio as the int16 samples ``write_wav`` stores (libsndfile's own conversion)."""
    buf = io.BytesIO()
    sf.write(buf, np.asarray(x, dtype=np.float32), 16000, subtype="PCM_16", format="RAW")
    return np.frombuffer(buf.getbuffer(), dtype="<i2").copy()


def _wav_header(n_bytes: int, sample_rate: int) -> bytes:
    return b"".join([
        b"RIFF", (36 + n_bytes).to_bytes(4, "little"), b"WAVE",
        b"fmt ", (16).to_bytes(4, "little"), (1).to_bytes(2, "little"), (1).to_bytes(2, "little"),
        sample_rate.to_bytes(4, "little"), (sample_rate * 2).to_bytes(4, "little"),
        (2).to_bytes(2, "little"), (16).to_bytes(2, "little"),
        b"data", n_bytes.to_bytes(4, "little"),
    ])


class ShardWriter:
    """Appends int16 recordings to one shard; the file appears whole at :meth:`close`.

    Written under a temporary name and renamed, so a retried task never leaves half a shard.
    ``root`` is the output folder references are relative to; ``name`` the shard's path in it.
    """

    def __init__(self, root: Path | str, name: str, sample_rate: int):
        self.root, self.name, self.sample_rate = Path(root), name, sample_rate
        self.path = self.root / name
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # the project's temporary-name pattern (tasks.io), so a killed run's leftovers are recognised
        self._tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        self._f = open(self._tmp, "wb")  # noqa: SIM115 - closed in close()/abort()
        self._f.write(_wav_header(0, sample_rate))
        self.samples = 0

    def add(self, pcm: np.ndarray) -> str:
        """Append one recording (int16); returns its reference."""
        data = np.ascontiguousarray(pcm, dtype="<i2")
        if data.ndim != 1:
            raise ValueError(f"{self.name}: a shard holds mono recordings, got shape {data.shape}")
        if 36 + 2 * (self.samples + len(data)) > 0xFFFFFFFF:
            raise ValueError(f"{self.name}: a WAV shard holds at most 4 GB; make the task's shard smaller")
        self._f.write(memoryview(data).cast("B"))
        start = self.samples
        self.samples += len(data)
        return make_ref(self.name, start, self.samples)

    def close(self) -> None:
        self._f.seek(0)
        self._f.write(_wav_header(self.samples * 2, self.sample_rate))
        self._f.close()
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        self._f.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class ShardSet:
    """One task's shards, one per folder, each opened when its first recording arrives."""

    def __init__(self, root: Path | str, name: str, sample_rate: int):
        self.root, self.name, self.sample_rate = Path(root), name, sample_rate
        self._writers: dict[str, ShardWriter] = {}

    def add(self, folder: str, x: np.ndarray) -> str:
        """Append float audio ``x`` to ``folder``'s shard; returns its reference."""
        if folder not in self._writers:
            self._writers[folder] = ShardWriter(self.root, f"{folder}/{self.name}", self.sample_rate)
        return self._writers[folder].add(to_pcm16(x))

    def __enter__(self) -> ShardSet:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        for w in self._writers.values():
            w.__exit__(exc_type)


def _shard_samples(path: Path, cache: dict | None) -> np.ndarray:
    key = ("shard", str(path))
    if cache is not None and key in cache:
        return cache[key]
    if not path.is_file():
        raise ShardError(f"{path}: audio shard not found (re-run the stage that writes it)")
    problem = wav_truncation(path)
    if problem:
        raise ShardError(f"{path}: audio shard {problem}")
    pcm = pcm16_wav_samples(path)
    if pcm is None:
        raise ShardError(f"{path}: not a mono 16-bit PCM WAV shard (corrupt header?)")
    pcm = pcm.view(np.ndarray)  # plain slices: no memmap bookkeeping per read
    if cache is not None:
        cache[key] = pcm
    return pcm


def pcm_ref(root: Path | str, ref: str, cache: dict | None = None) -> np.ndarray:
    """The int16 samples a reference names (a read-only view into the shard for shard refs)."""
    file, start, stop = parse_ref(ref)
    path = Path(root) / file
    if start is None:
        x, _ = sf.read(str(path), dtype="int16", always_2d=False)
        return x
    pcm = _shard_samples(path, cache)
    if stop > len(pcm) or start > stop:
        raise ShardError(f"{path}: audio shard holds {len(pcm)} samples; {ref!r} asks for {start}:{stop} "
                         "(truncated or replaced?)")
    return pcm[start:stop]


def read_ref(root: Path | str, ref: str, cache: dict | None = None) -> np.ndarray:
    """The float32 mono samples a reference names (as soundfile reads a 16-bit WAV)."""
    file, start, _ = parse_ref(ref)
    if start is None:
        x, _ = sf.read(str(Path(root) / file), dtype="float32", always_2d=False)
        return x
    return np.multiply(pcm_ref(root, ref, cache), _SCALE, dtype=np.float32)


def write_ref_wav(root: Path | str, ref: str, out: Path | str) -> Path:
    """Write the recording a reference names as its own 16-bit WAV (for listening), atomically."""
    data = np.ascontiguousarray(pcm_ref(root, ref), dtype="<i2")
    if data.ndim != 1:
        raise ValueError(f"{ref}: only mono recordings are exported, this one has shape {data.shape}")
    rate = sf.info(str(Path(root) / parse_ref(ref)[0])).samplerate
    with atomic_file(out) as tmp, open(tmp, "wb") as f:
        f.write(_wav_header(data.nbytes, rate))
        f.write(memoryview(data).cast("B"))
    return Path(out)
