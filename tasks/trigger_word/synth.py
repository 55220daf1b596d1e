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
from tasks.audio.io import pcm16_wav_samples
from tasks.audio.rir import pick_rir
from tasks.audio.shards import read_ref
from tasks.audio.warp import warp_factor, warp_formants
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
    warp: float = 1.0  # formant warp factor (train clips only: tasks.audio.warp); not in the manifest


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


def with_warp(plan: ClipPlan, warp: tuple[float, float]) -> ClipPlan:
    """``plan`` with each word's formant warp factor set from its EQ seed (train clips only;
    ``warp`` [1, 1] leaves the plan as it is)."""
    if tuple(warp) != (1.0, 1.0):
        for ev in plan.events:
            ev.warp = warp_factor(warp[0], warp[1], ev.eq_seed)
    return plan


CHUNK = 65_536  # samples per block when converting the background: small enough to stay in the CPU cache


def _background(root: Path, name: str, offset: int, n: int, gain: float, cache: dict
                ) -> tuple[np.ndarray, np.float32]:
    """The clip's background window and the float32 factor that scales it to [-1, 1] at its level.

    For a mono 16-bit WAV at least ``offset + n`` samples long this is an int16 slice of a
    memory map and ``gain / 32768``; for any other file, a decoded float32 window already
    scaled (factor 1), repeated when the background is shorter than a clip.
    """
    key = ("memmap", name)
    if key not in cache:
        pcm = pcm16_wav_samples(root / name)
        cache[key] = None if pcm is None else pcm.view(np.ndarray)  # plain slices: no memmap bookkeeping
    pcm = cache[key]
    if pcm is not None and len(pcm) >= offset + n:
        return pcm[offset:offset + n], np.float32(gain / 32768.0)
    if pcm is not None:
        x = np.multiply(pcm[offset:offset + n], np.float32(gain / 32768.0), dtype=np.float32)
    else:
        x, _ = sf.read(str(root / name), start=offset, frames=n, dtype="float32", always_2d=False)
        x *= np.float32(gain)
    if len(x) < n:  # a background shorter than a clip is repeated
        x = np.resize(x, n)
    return x, np.float32(1.0)


def _gaps(events: Sequence[Event], n: int) -> list[tuple[int, int]]:
    """The sample ranges of a clip that no word covers (events sorted by start, never overlapping)."""
    gaps, at = [], 0
    for ev in events:
        if ev.start > at:
            gaps.append((at, ev.start))
        at = max(at, ev.end)
    if at < n:
        gaps.append((at, n))
    return gaps


def _int_peak(window: np.ndarray, spans: list[tuple[int, int]], k: np.float32) -> np.float32:
    """The float32 peak of ``window * k`` over ``spans``: the integer peak times ``k``.

    Rounding is monotonic, so this is exactly the peak of the products, without forming them.
    """
    top = max((max(int(window[a:b].max()), -int(window[a:b].min())) for a, b in spans if b > a), default=0)
    return np.float32(np.float32(top) * k)


def _to_pcm16(x: np.ndarray, scale: np.float32 | None, out: np.ndarray) -> None:
    """``out[:] = rint(x * scale * 32767)`` in float32, in place in ``x`` (``scale`` None: 1)."""
    if scale is not None:
        np.multiply(x, scale, out=x)
    np.multiply(x, np.float32(32767.0), out=x)
    np.rint(x, out=x)
    out[:] = x  # |x| <= PEAK_LIMIT * 32767 after limiting, so the cast never overflows


def render_clip(plan: ClipPlan, root: Path, p: SynthesizeParams, sample_rate: int,
                cache: dict) -> tuple[np.ndarray, float]:
    """Mix a planned clip; returns int16 samples and the peak-limiting gain applied (dB).

    In float32: the background window times its gain, plus each word times its gain; when
    the mix peaks above ``PEAK_LIMIT`` the whole clip is scaled down to it; then rounded to
    int16. Only the words' spans are ever held as float arrays: the peak of the rest is the
    background's integer peak times its gain (rounding is monotonic, so this is exact), and
    the rest is converted to int16 block by block. The result is what mixing the whole clip
    in float32 would give, bit for bit, at a fraction of the memory traffic.
    """
    window, k = _background(root, plan.background, plan.background_offset, plan.samples,
                            10 ** (plan.background_gain_db / 20), cache)
    integer = window.dtype == np.int16
    mixed = []
    for ev in plan.events:
        word = cache.get(ev.source)
        if word is None:
            word = cache[ev.source] = read_ref(root, ev.source, cache)
        if ev.warp != 1.0:
            word = warp_formants(word, sample_rate, ev.warp)
        rir = pick_rir(p.augment.rir, ev.eq_seed, sample_rate) if ev.reverb_rt60_s > 0 else None
        w = augment_word(word, sample_rate, ev.end - ev.start, ev.speed, p.augment.eq_db,
                         ev.eq_seed, ev.reverb_rt60_s, rir)
        seg = np.multiply(window[ev.start:ev.end], k, dtype=np.float32)
        seg += w * np.float32(10 ** (ev.gain_db / 20))
        mixed.append((ev.start, ev.end, seg))
    gaps = _gaps(plan.events, plan.samples)

    words_peak = max((np.abs(seg).max() for _, _, seg in mixed), default=np.float32(0.0))
    if integer:
        # The whole window's peak bounds the gaps'; only when that bound would engage the
        # limiter does the exact peak of the gaps matter.
        peak = max(words_peak, _int_peak(window, [(0, plan.samples)], k))
        if peak > PEAK_LIMIT:
            peak = max(words_peak, _int_peak(window, gaps, k))
    else:
        peak = max([words_peak] + [np.abs(window[a:b]).max() for a, b in gaps])
    peak = float(peak)
    scale, limit_db = None, 0.0
    if peak > PEAK_LIMIT:
        scale = np.float32(PEAK_LIMIT / peak)
        limit_db = 20 * np.log10(PEAK_LIMIT / peak)

    out = np.empty(plan.samples, np.int16)
    buf = cache.get(("block",))
    if buf is None:
        buf = cache[("block",)] = np.empty(CHUNK, np.float32)
    for a, b in gaps:
        for i in range(a, b, CHUNK):
            j = min(i + CHUNK, b)
            block = buf[:j - i]
            np.multiply(window[i:j], k, out=block, dtype=np.float32)
            _to_pcm16(block, scale, out[i:j])
    for a, b, seg in mixed:
        _to_pcm16(seg, scale, out[a:b])
    return out, limit_db


def write_pcm16_wav(path: Path | str, pcm: np.ndarray, sample_rate: int) -> None:
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
