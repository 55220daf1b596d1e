"""Synthesis of labelled 10-second clips: words inserted into backgrounds without overlap.

A clip is first *planned* from its own seed and the manifests alone (which background and
where, which words, where, how loud, how augmented), then *rendered*. The plan is stored in
the clip's manifest row, so any clip can be rebuilt alone, and labels follow from the
plan: after each positive word ends at sample ``end``, with ``e = floor(end * Ty / n)``,
labels ``e+1 .. e+ones`` are 1 (clipped at ``Ty - 1``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from tasks.audio.augment import augment_word
from tasks.audio.io import float_to_pcm16, pcm16_wav_samples
from tasks.io import stable_unit
from tasks.trigger_word.config import SynthesizeParams

PEAK_LIMIT = 0.99


@dataclass(frozen=True)
class Source:
    """A word or background file as the manifests describe it (path relative to ``root``)."""

    path: str
    samples: int
    rms_db: float


@dataclass(frozen=True)
class Pools:
    """What one split may draw from."""

    root: Path
    positives: tuple[Source, ...]
    negatives: tuple[Source, ...]
    backgrounds: tuple[Source, ...]


@dataclass
class Event:
    kind: str  # "positive" | "negative"
    source: str  # word path relative to the pools' root
    start: int  # first sample in the clip
    end: int  # one past the last sample
    gain_db: float
    speed: float
    eq_seed: int
    reverb_rt60_s: float  # 0 = dry


@dataclass
class ClipPlan:
    clip_seed: int
    samples: int
    background: str
    background_offset: int
    background_gain_db: float
    events: list[Event] = field(default_factory=list)


def clip_seed(seed: int, split: str, index: int) -> int:
    """A clip's own seed (63 bits), from the root seed, its split and its index."""
    return int(stable_unit("clip", seed, split, index) * 2**63)


def place_segments(lengths: Sequence[int], n: int, rng: np.random.Generator) -> list[int]:
    """Start positions for segments of ``lengths`` in ``n`` samples, uniformly, never overlapping.

    The segments are put in random order and the free space (n - total length) is cut at
    sorted uniform points; each segment starts at its cut plus the lengths before it. No
    retries are needed and the result always fits. Raises if the total exceeds ``n``.
    """
    total = int(sum(lengths))
    if total > n:
        raise ValueError(f"segments of {total} samples do not fit in {n}")
    k = len(lengths)
    order = rng.permutation(k)
    cuts = np.sort(rng.integers(0, n - total + 1, size=k))
    starts = [0] * k
    used = 0
    for cut, i in zip(cuts, order, strict=True):
        starts[i] = int(cut) + used
        used += int(lengths[i])
    return starts


def labels_for(ends: Sequence[int], n: int, ty: int, ones: int) -> np.ndarray:
    """Per-step labels (uint8, length ``ty``) for positives ending at the given samples."""
    y = np.zeros(ty, np.uint8)
    for end in ends:
        e = (int(end) * ty) // n
        y[e + 1:min(e + 1 + ones, ty)] = 1
    return y


def plan_clip(seed: int, pools: Pools, p: SynthesizeParams, sample_rate: int) -> ClipPlan:
    """Decide everything about one clip from its seed and the manifests (no audio is read)."""
    rng = np.random.default_rng(seed)
    n = int(round(p.clip_seconds * sample_rate))
    bg = pools.backgrounds[int(rng.integers(len(pools.backgrounds)))]
    offset = int(rng.integers(0, max(bg.samples - n, 0) + 1))
    bg_db = float(rng.uniform(*p.background_db))
    plan = ClipPlan(seed, n, bg.path, offset, bg_db - bg.rms_db)

    chosen: list[tuple[str, Source]] = []
    for kind, pool, (lo, hi) in (("positive", pools.positives, p.positives),
                                 ("negative", pools.negatives, p.negatives)):
        count = int(rng.integers(lo, hi + 1)) if pool else 0
        chosen += [(kind, pool[int(i)]) for i in rng.integers(0, len(pool), size=count)] if count else []

    a = p.augment
    drafts = []
    for kind, src in chosen:
        speed = float(rng.uniform(*a.speed))
        length = int(round(src.samples / speed))
        snr = float(rng.uniform(*p.word_to_background_db))
        rt60 = float(rng.uniform(*a.rt60_s)) if rng.random() < a.reverb_prob else 0.0
        eq_seed = int(rng.integers(2**62))
        drafts.append((kind, src, length, bg_db + snr - src.rms_db, speed, eq_seed, rt60))
    # Too many words for the clip: drop negatives first, then positives, from the end.
    while drafts and sum(d[2] for d in drafts) > n:
        negs = [i for i, d in enumerate(drafts) if d[0] == "negative"]
        drafts.pop(negs[-1] if negs else -1)
    starts = place_segments([d[2] for d in drafts], n, rng)
    for (kind, src, length, gain, speed, eq_seed, rt60), start in zip(drafts, starts, strict=True):
        plan.events.append(Event(kind, src.path, start, start + length, gain, speed, eq_seed, rt60))
    plan.events.sort(key=lambda e: e.start)
    return plan


def _read_window(path: Path, offset: int, n: int, gain: float, cache: dict) -> np.ndarray:
    """``n`` samples of a background from ``offset``, times ``gain``, as float32."""
    key = ("memmap", path)
    if key not in cache:
        cache[key] = pcm16_wav_samples(path)
    pcm = cache[key]
    if pcm is not None:
        x = np.multiply(pcm[offset:offset + n], np.float32(gain / 32768.0), dtype=np.float32)
    else:
        x, _ = sf.read(str(path), start=offset, frames=n, dtype="float32", always_2d=False)
        x *= np.float32(gain)
    if len(x) < n:  # a background shorter than a clip is repeated
        x = np.resize(x, n)
    return x


def render_clip(plan: ClipPlan, root: Path, p: SynthesizeParams, sample_rate: int,
                cache: dict) -> tuple[np.ndarray, float]:
    """Mix a planned clip; returns int16 samples and the peak-limiting gain applied (dB)."""
    x = _read_window(root / plan.background, plan.background_offset, plan.samples,
                     10 ** (plan.background_gain_db / 20), cache)
    for ev in plan.events:
        word = cache.get(ev.source)
        if word is None:
            word, _ = sf.read(str(root / ev.source), dtype="float32", always_2d=False)
            cache[ev.source] = word
        w = augment_word(word, sample_rate, ev.end - ev.start, ev.speed, p.augment.eq_db,
                         ev.eq_seed, ev.reverb_rt60_s)
        x[ev.start:ev.end] += w * np.float32(10 ** (ev.gain_db / 20))
    peak = float(np.abs(x).max())
    limit_db = 0.0
    if peak > PEAK_LIMIT:
        x *= np.float32(PEAK_LIMIT / peak)
        limit_db = 20 * np.log10(PEAK_LIMIT / peak)
    return float_to_pcm16(x), limit_db


def write_pcm16_wav(path: Path, pcm: np.ndarray, sample_rate: int) -> None:
    """Write mono int16 samples as a canonical 44-byte-header WAV (fast, byte-stable).

    One ``writev`` of the header and the sample buffer: no intermediate copy of the audio.
    """
    data = np.ascontiguousarray(pcm, dtype="<i2")
    n = data.nbytes
    header = b"".join([
        b"RIFF", (36 + n).to_bytes(4, "little"), b"WAVE",
        b"fmt ", (16).to_bytes(4, "little"), (1).to_bytes(2, "little"), (1).to_bytes(2, "little"),
        sample_rate.to_bytes(4, "little"), (sample_rate * 2).to_bytes(4, "little"),
        (2).to_bytes(2, "little"), (16).to_bytes(2, "little"),
        b"data", n.to_bytes(4, "little"),
    ])
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data).cast("B")
        written = os.writev(fd, [header, view])
        while written < len(header) + n:  # short writes are rare but allowed
            written += os.write(fd, view[written - len(header):])
    finally:
        os.close(fd)
