"""Words for the word encoder: the collected takes, extra espeak-ng words, and strips of them.

:func:`collected_words` is the one place the collect stage's storage is read (re-point it if
that storage changes). A *strip* is many takes one after another over one background, run
through the frozen frontend in one call (as a stream is in ``detect``); a take's window is
then a slice of the strip's steps ending just after the take ends.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tasks.audio import speech_embedding as se
from tasks.audio.checks import rms, trim_silence
from tasks.audio.io import read_audio, resample, to_mono
from tasks.audio.shards import parse_ref, read_ref
from tasks.audio.tts import Utterance, Voice, speak_batch

RATE = se.RATE
# Seconds of background before each take in a strip (the window's context), and after the last.
GAP_S = (1.0, 1.6)
TAIL_S = 0.6


@dataclass(frozen=True)
class Take:
    """One word said once: 16 kHz mono audio, trimmed of silence."""

    text: str  # the word ("" for real speech, which no other take matches)
    group: str  # the speaker (voice) it came from
    wave: np.ndarray  # (n,) float32


def collected_words(collect_dir: Path | str, split_dir: Path | str) -> pd.DataFrame:
    """Every collected word take: columns ``path`` (absolute; a shard reference), ``text``, ``group``,
    ``split``, ``source``, ``sample_rate``.

    espeak-ng and users' takes get their split from the split stage; the cross-engine material
    (Kokoro voices, real speech) carries its own (dev or test, never train).
    """
    collect_dir, split_dir = Path(collect_dir), Path(split_dir)
    words = pd.concat([pd.read_parquet(collect_dir / f"{k}.parquet") for k in ("positives", "negatives")])
    splits = pd.read_parquet(split_dir / "assignments.parquet")
    words = words.merge(splits[["id", "split"]], left_on="word_id", right_on="id", how="inner")
    frames = [words.assign(path=[str(collect_dir / p) for p in words.path])]
    cross = collect_dir / "cross_engine" / "words.parquet"
    if cross.is_file():
        c = pd.read_parquet(cross)
        frames.append(c.assign(path=[str(collect_dir / p) for p in c.path], split=c.check_split))
    out = pd.concat(frames, ignore_index=True)
    out["text"] = out.text.fillna("").str.lower()
    return out[["path", "text", "group", "split", "source", "sample_rate"]].sort_values("path", ignore_index=True)


def read_take(path: str | Path, text: str, group: str, sample_rate: int) -> Take:
    """One collected take at 16 kHz; ``path`` is a whole file or a shard reference (``SHARD#START:STOP``)."""
    if parse_ref(str(path))[1] is None:
        data, sr = read_audio(path)
    else:
        data, sr = read_ref("", str(path)), int(sample_rate)
    return Take(text, group, resample(to_mono(data), sr, RATE))


def voice_of(group: str) -> Voice | None:
    """The espeak-ng voice of a ``tts:ACCENT+VARIANT`` group (None for other sources)."""
    if not group.startswith("tts:") or "+" not in group:
        return None
    accent, variant = group[4:].split("+", 1)
    return Voice(accent, variant)


def espeak_takes(plan: Sequence[tuple[str, str, int, int]], trim_db: float = -40.0, batch: int = 400) -> list[Take]:
    """``(word, voice group, rate, pitch)`` said by espeak-ng, trimmed, at 16 kHz (in plan order)."""
    utterances = [(w, g, Utterance(w, v, r, p)) for w, g, r, p in plan if (v := voice_of(g)) is not None]
    takes = []
    for i in range(0, len(utterances), batch):
        part = utterances[i:i + batch]
        for (w, g, _), (x, sr) in zip(part, speak_batch([u for *_, u in part]), strict=True):
            y = trim_silence(resample(np.asarray(x, np.float32), sr, RATE), RATE, threshold_db=trim_db)
            takes.append(Take(w, g, y))
    return takes


def pico_takes(plan: Sequence[tuple[str, str, int, int]], trim_db: float = -40.0) -> list[Take]:
    """``(word, Pico voice, pitch %, rate %)`` said by SVOX Pico, trimmed, at 16 kHz (in plan order);
    the group is ``pico:VOICE``."""
    from tasks.audio import pico

    return [Take(w, f"pico:{v}", trim_silence(pico.say(w, v, p, r), RATE, threshold_db=trim_db))
            for w, v, p, r in plan]


def kokoro_takes(plan: Sequence[tuple[str, str, float]], trim_db: float = -40.0) -> list[Take]:
    """``(word, Kokoro voice, speed)`` said by Kokoro-82M (fed espeak-ng's IPA), trimmed, at 16 kHz;
    the group is ``kokoro:VOICE`` as in the collected cross-engine takes."""
    from tasks.audio import kokoro
    from tasks.audio.tts import ipa

    out = []
    for w, v, speed in plan:
        x = resample(kokoro.synthesize(ipa(w), v, speed), kokoro.SAMPLE_RATE, RATE)
        out.append(Take(w, f"kokoro:{v}", trim_silence(x, RATE, threshold_db=trim_db)))
    return out


def background_slice(backgrounds: Sequence[np.ndarray], n: int, rng: np.random.Generator, level_db: float
                     ) -> np.ndarray:
    """``n`` samples of a random background from a random offset (looped), at ``level_db`` RMS."""
    bg = backgrounds[int(rng.integers(len(backgrounds)))]
    start = int(rng.integers(len(bg)))
    x = np.resize(np.roll(bg, -start), n).astype(np.float32)
    return x * np.float32(10 ** (level_db / 20) / max(rms(x), 1e-9))


def mix_word(x: np.ndarray, word: np.ndarray, at: int, snr_db: float, level_db: float) -> None:
    """Add ``word`` into ``x`` from sample ``at``, its RMS ``snr_db`` above ``level_db`` (in place)."""
    gain = 10 ** ((level_db + snr_db) / 20) / max(rms(word), 1e-9)
    x[at:at + len(word)] += (word * gain).astype(np.float32)[:len(x) - at]


def make_strip(takes: Sequence[Take], backgrounds: Sequence[np.ndarray], rng: np.random.Generator,
               snr_db: tuple[float, float], background_db: tuple[float, float], gap_s: tuple[float, float] = GAP_S
               ) -> tuple[np.ndarray, list[int]]:
    """Takes one after another over a background; returns ``(audio (n,), end sample of each take)``."""
    gaps = [int(rng.uniform(*gap_s) * RATE) for _ in takes]
    n = sum(gaps) + sum(len(t.wave) for t in takes) + int(TAIL_S * RATE)
    level = float(rng.uniform(*background_db))
    x = background_slice(backgrounds, n, rng, level)
    pos, ends = 0, []
    for gap, take in zip(gaps, takes, strict=True):
        pos += gap
        mix_word(x, take.wave, pos, float(rng.uniform(*snr_db)), level)
        pos += len(take.wave)
        ends.append(pos)
    return np.clip(x, -1.0, 1.0), ends


def end_step(end_sample: int) -> int:
    """The first frontend step that has heard a take ending at ``end_sample`` whole."""
    return max(0, math.ceil(end_sample / se.STEP) - 1)


def strip_steps(frontend: se.SpeechEmbedding, takes: Sequence[Take], backgrounds: Sequence[np.ndarray],
                rng: np.random.Generator, snr_db: tuple[float, float], background_db: tuple[float, float],
                per_strip: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Frontend steps of strips of ``takes``: ``(steps (S, 96), each take's end step (len(takes),))``,
    the end steps indexing the concatenation of every strip's steps."""
    steps, ends, offset = [], [], 0
    for i in range(0, len(takes), per_strip):
        wave, end_samples = make_strip(takes[i:i + per_strip], backgrounds, rng, snr_db, background_db)
        e = frontend(wave).T  # (T, 96)
        ends += [offset + end_step(s) for s in end_samples]
        steps.append(e)
        offset += len(e)
    if not steps:
        return np.zeros((0, se.DIM), np.float32), np.zeros(0, np.int64)
    return np.concatenate(steps), np.asarray(ends, np.int64)


def windows(steps: np.ndarray, ends: np.ndarray, window: int, offsets: np.ndarray) -> np.ndarray:
    """``(N, window, 96)`` windows of ``steps`` ending at ``ends + offsets`` (clamped inside)."""
    last = np.clip(ends + offsets, window - 1, len(steps) - 1)
    idx = last[:, None] - np.arange(window - 1, -1, -1)[None, :]
    return steps[idx]
