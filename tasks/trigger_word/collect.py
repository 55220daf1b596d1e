"""Collect words and backgrounds: text to speech, users' folders, generated noise.

Every input is decoded, checked and normalised (mono, the pipeline's rate, words trimmed of
silence); what cannot be used becomes a quarantine row with the file and the reason.
Originals are only read, never modified. Words go into one 16-bit WAV shard per task and
folder (``OUT/positives/tts-<hash>.wav``; a row's ``path`` is ``SHARD#START:STOP``, see
:mod:`tasks.audio.shards`; read one with :func:`read_word`), backgrounds into
``OUT/backgrounds/<id>.wav``.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tasks.audio.checks import (
    AudioLimits,
    dbfs,
    problem_in_length,
    problem_in_raw,
    rms,
    trim_silence,
)
from tasks.audio.io import AudioReadError, read_audio, resample, to_mono, write_wav
from tasks.audio.noise import make_background
from tasks.audio.shards import ShardSet, read_ref, shard_name
from tasks.audio.tts import Utterance, Voice, speak_batch
from tasks.io import sha256_file
from tasks.trigger_word.config import AudioChecks, CollectParams

WORD_KINDS = ("positive", "negative")
# Longest word recording read (before trimming its silence), in seconds.
WORD_READ_S = 60.0
FOLDERS = {"positive": "positives", "negative": "negatives", "background": "backgrounds"}


def slug(text: str) -> str:
    """``text`` as a file-name part: lower case, runs of other characters as one ``-``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@dataclass(frozen=True)
class TTSItem:
    """One word to synthesise and where its row will say it came from."""

    kind: str
    utterance: Utterance

    @property
    def word_id(self) -> str:
        u = self.utterance
        return f"tts-{u.voice.accent}-{u.voice.variant}-{slug(u.text)}-r{u.rate}-p{u.pitch}".lower()


def word_limits(c: AudioChecks) -> AudioLimits:
    return AudioLimits(c.word_min_s, c.word_max_s, c.silence_dbfs, c.max_clipped_fraction)


def background_limits(c: AudioChecks) -> AudioLimits:
    return AudioLimits(c.background_min_s, c.background_max_s, c.silence_dbfs, c.max_clipped_fraction)


def choose_voices(accents: Sequence[str], variants: Sequence[str], count: int, seed: int) -> list[Voice]:
    """``count`` accent x variant voices drawn by ``seed`` from the grid (all when count is 0)."""
    grid = [Voice(a, v) for a, v in itertools.product(accents, variants)]
    if count == 0 or count >= len(grid):
        return grid
    rng = np.random.default_rng([seed, 1])
    picked = sorted(rng.choice(len(grid), size=count, replace=False))
    return [grid[i] for i in picked]


def tts_plan(params: CollectParams, seed: int) -> list[list[TTSItem]]:
    """Everything to synthesise, in shards of whole voices (a voice never spans two shards).

    Positives: every voice x rate x pitch. Negatives: every negative word per voice (or
    ``negatives_per_voice`` of them), each said ``negative_takes`` times (at most once per
    rate x pitch combination) at distinct combinations drawn for that voice.
    """
    t = params.tts
    voices = choose_voices(t.accents, t.variants, t.voices, seed)
    per_voice: list[list[TTSItem]] = []
    for vi, voice in enumerate(voices):
        rng = np.random.default_rng([seed, 2, vi])
        items = [TTSItem("positive", Utterance(params.positive_word, voice, r, p))
                 for r, p in itertools.product(t.rates, t.pitches)]
        words = list(params.negative_words)
        if t.negatives_per_voice:
            words = [words[i] for i in sorted(rng.choice(len(words), min(t.negatives_per_voice, len(words)),
                                                         replace=False))]
        grid = list(itertools.product(t.rates, t.pitches))
        n_takes = min(t.negative_takes, len(grid))
        for w in words:
            if n_takes == 1:  # the draws of one take per word, as before takes existed: same words, same bytes
                takes = [(int(rng.choice(t.rates)), int(rng.choice(t.pitches)))]
            else:
                takes = [grid[i] for i in sorted(rng.choice(len(grid), n_takes, replace=False))]
            items += [TTSItem("negative", Utterance(w, voice, r, p)) for r, p in takes]
        per_voice.append(items)
    return [list(itertools.chain.from_iterable(per_voice[i:i + t.voices_per_shard]))
            for i in range(0, len(per_voice), t.voices_per_shard)]


def _normalise_word(x: np.ndarray, sr: int, target_sr: int, checks: AudioChecks) -> tuple[np.ndarray | None, str | None]:
    """Resample and trim a mono word; returns (audio, None) or (None, reason)."""
    x = resample(x, sr, target_sr)
    x = trim_silence(x, target_sr, threshold_db=checks.trim_db)
    reason = problem_in_length(len(x), target_sr, word_limits(checks))
    return (None, reason) if reason else (x, None)


def checked_word(x: np.ndarray, sr: int, target_sr: int, checks: AudioChecks) -> tuple[np.ndarray | None, str | None]:
    """A synthesised mono take checked (silence, clipping, length), resampled and trimmed; returns
    (audio, None) or (None, the reason it cannot be used)."""
    reason = problem_in_raw(x[:, None], word_limits(checks))
    if reason is not None:
        return None, reason
    return _normalise_word(x, sr, target_sr, checks)


def espeak_origin(u: Utterance) -> str:
    """Where an espeak-ng take came from, as its row (or quarantine row) says."""
    return f"tts:{u.voice.accent}+{u.voice.variant} rate={u.rate} pitch={u.pitch} text={u.text!r}"


def read_word(collect_dir: Path | str, row: object, cache: dict | None = None) -> np.ndarray:
    """One collected word's (or background's) float32 samples, from its manifest row (a dict,
    a pandas row or a named tuple with a ``path``); the rate is the row's ``sample_rate``."""
    path = row["path"] if isinstance(row, dict) else row.path
    return read_ref(collect_dir, path, cache)


def _word_row(kind: str, word_id: str, path: str, x: np.ndarray, sr: int, **extra: object) -> dict:
    return {"word_id": word_id, "kind": kind, "path": path,
            "duration_s": len(x) / sr, "samples": len(x), "rms_db": dbfs(rms(x)), "sample_rate": sr, **extra}


def render_tts_shard(items: Sequence[TTSItem], out: Path, sample_rate: int,
                     checks: AudioChecks) -> tuple[list[dict], list[dict]]:
    """Synthesise one shard of words into ``out``; returns (word rows, quarantine rows)."""
    rows, bad = [], []
    audio = speak_batch([it.utterance for it in items])
    with ShardSet(out, shard_name("tts", [it.word_id for it in items]), sample_rate) as shards:
        for item, (x, sr) in zip(items, audio, strict=True):
            u = item.utterance
            y, reason = checked_word(x, sr, sample_rate, checks)
            if reason is not None:
                bad.append({"file": espeak_origin(u), "kind": item.kind, "reason": reason})
                continue
            ref = shards.add(FOLDERS[item.kind], y)
            rows.append(_word_row(item.kind, item.word_id, ref, y, sample_rate, text=u.text,
                                  group=u.voice.group, source="tts", origin=espeak_origin(u), accent=u.voice.accent,
                                  variant=u.voice.variant, rate=u.rate, pitch=u.pitch))
    return rows, bad


def user_group(rel: Path) -> str:
    """Speaker group of a user's file, from its path relative to the folder given.

    ``alice/take1.wav`` -> ``alice`` (first subfolder); ``bob_03.wav`` or ``bob-03.wav`` ->
    ``bob`` (file name up to the first ``_`` or ``-``); otherwise the file's own name, so
    an unlabelled file is its own group.
    """
    if len(rel.parts) > 1:
        return f"user:{rel.parts[0]}"
    return f"user:{re.split(r'[_-]', rel.stem, maxsplit=1)[0]}"


def file_id(kind: str, rel: Path) -> str:
    digest = hashlib.sha256(rel.as_posix().encode()).hexdigest()[:10]
    slug = re.sub(r"[^a-z0-9]+", "-", rel.stem.lower()).strip("-")[:40]
    return f"user-{slug}-{digest}"


def ingest_user_files(kind: str, root: Path, files: Sequence[Path], out: Path, sample_rate: int,
                      checks: AudioChecks) -> tuple[list[dict], list[dict]]:
    """Check and normalise a shard of a user's files of ``kind``; returns (rows, quarantine)."""
    rows, bad = [], []
    limits = background_limits(checks) if kind == "background" else word_limits(checks)
    with ShardSet(out, shard_name("user", [p.relative_to(root).as_posix() for p in files]), sample_rate) as shards:
        for path in files:
            _ingest_one(kind, root, path, out, sample_rate, checks, limits, shards, rows, bad)
    return rows, bad


def _ingest_one(kind: str, root: Path, path: Path, out: Path, sample_rate: int, checks: AudioChecks,
                limits: AudioLimits, shards: ShardSet, rows: list[dict], bad: list[dict]) -> None:
    """One user file of :func:`ingest_user_files`: a row in ``rows`` or a reason in ``bad``."""
    rel = path.relative_to(root)
    try:
        # a word is trimmed after reading, so its file may hold some silence beyond word_max_s
        data, sr = read_audio(path, max_seconds=max(limits.max_seconds, WORD_READ_S))
    except AudioReadError as exc:
        bad.append({"file": str(path), "kind": kind, "reason": str(exc)})
        return
    reason = problem_in_raw(data, limits)
    x = None
    if reason is None:
        x = to_mono(data)
        if kind == "background":
            x = resample(x, sr, sample_rate)
            reason = problem_in_length(len(x), sample_rate, limits)
        else:
            x, reason = _normalise_word(x, sr, sample_rate, checks)
    if reason is not None:
        bad.append({"file": str(path), "kind": kind, "reason": reason})
        return
    fid = file_id(kind, rel)
    extra = {"group": user_group(rel), "source": "user", "origin": str(path),
             "content_sha256": sha256_file(path)}
    if kind == "background":  # long and few: one WAV each, memory-mapped by synthesis
        write_wav(out / FOLDERS[kind] / f"{fid}.wav", x, sample_rate)
        rows.append(_background_row(fid, x, sample_rate, texture="recording", **extra))
    else:
        rows.append(_word_row(kind, fid, shards.add(FOLDERS[kind], x), x, sample_rate, text=None, **extra))


def _background_row(bid: str, x: np.ndarray, sr: int, **extra: object) -> dict:
    return {"background_id": bid, "path": f"backgrounds/{bid}.wav", "duration_s": len(x) / sr,
            "samples": len(x), "rms_db": dbfs(rms(x)), "sample_rate": sr, **extra}


def generated_background_plan(count: int, kinds: Sequence[str]) -> list[tuple[int, str]]:
    """(index, kind) of each generated background: kinds taken in turn so all appear."""
    return [(i, kinds[i % len(kinds)]) for i in range(count)]


def render_generated_backgrounds(plan: Sequence[tuple[int, str]], seconds: float, sample_rate: int,
                                 seed: int, out: Path, babble_words: Sequence[np.ndarray]) -> list[dict]:
    """Generate a shard of backgrounds; each depends only on ``(seed, index, kind)``."""
    rows = []
    for index, kind in plan:
        rng = np.random.default_rng([seed, 3, index])
        x = make_background(kind, seconds, sample_rate, rng, babble_words if kind == "babble" else ())
        bid = f"gen-{index:04d}-{kind}"
        write_wav(out / "backgrounds" / f"{bid}.wav", x, sample_rate)
        rows.append(_background_row(bid, x, sample_rate, group=f"gen:{bid}", source="generated",
                                    origin=f"generated:{kind}", texture=kind, content_sha256=None))
    return rows


def babble_material(sample_rate: int, seed: int, words: Sequence[str], n_voices: int = 12) -> list[np.ndarray]:
    """Words from several voices for the babble texture (never the positive word)."""
    voices = choose_voices(("en-us", "en-gb", "en-029", "en-gb-scotland"),
                           ("m1", "m3", "m5", "f1", "f2", "f4"), n_voices, seed)
    utterances = [Utterance(w, v, 175, 50) for v in voices for w in words]
    return [resample(x, sr, sample_rate) for x, sr in speak_batch(utterances)]


def drop_duplicate_files(kind: str, files: Sequence[Path]) -> tuple[list[Path], list[dict]]:
    """Keep the first of files with identical bytes; the others become quarantine rows."""
    seen: dict[str, Path] = {}
    kept, bad = [], []
    for path in files:
        digest = sha256_file(path)
        if digest in seen:
            bad.append({"file": str(path), "kind": kind, "reason": f"duplicate: same bytes as {seen[digest]}"})
        else:
            seen[digest] = path
            kept.append(path)
    return kept, bad
