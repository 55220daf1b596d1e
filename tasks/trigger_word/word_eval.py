"""The check of the trigger word by embeddings: unseen words, unseen voices, real backgrounds.

For each voice of a split (espeak-ng voices never trained on, and Kokoro voices) and each
word never trained on that the voice said 4+ times, one detector is enrolled from
``enrol_takes`` takes (chosen by seed), exactly as ``enrol-word`` does; the voice's other takes
of the word are pasted into 4.5 s of the split's backgrounds at 0-15 dB and must be found
(a detection from ``match_early_s`` before the word's end to ``match_window_s`` after).
False accepts are counted on negative-only audio (other words of the split's voices, Kokoro
words, real speech) over the same backgrounds, pooled over every detector.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tasks.trigger_word.detection import detect, match, poisson_rate_interval, wilson_interval
from tasks.trigger_word.enrol import centroid, rule_threshold, take_vectors, threshold_parts
from tasks.trigger_word.word_data import RATE, Take, background_slice, mix_word
from tasks.trigger_word.word_encoder import WindowEmbedder
from tasks.trigger_word.word_encoder_config import WordEncoderParams

CLIP_S = 4.5
END_S = (2.4, 4.0)  # where a positive word ends in its clip
SEGMENT_S = 30.0
SETTLE_S = 2.0  # false accepts are counted from here on in each segment (full context before)
LAMBDAS = tuple(round(x, 3) for x in np.arange(-0.6, 1.21, 0.025))


@dataclass
class Enrolment:
    word: str
    group: str
    engine: str
    mean: np.ndarray  # (dim,)
    self_cos: float
    imp_cos: float
    positives: list[np.ndarray]  # per clip: (T, dim) vectors
    ends: list[float]  # per clip: the word's end, in s
    vectors: np.ndarray | None = None  # (K, dim) the enrolled takes' vectors


def enrolments(takes: Sequence[Take], embedder: WindowEmbedder, bank: np.ndarray, backgrounds: Sequence[np.ndarray],
               params: WordEncoderParams, seed: int) -> list[Enrolment]:
    """One detector per (voice, word) with more than ``enrol_takes`` takes, and its positive clips."""
    by_key: dict[tuple[str, str], list[Take]] = {}
    for t in takes:
        by_key.setdefault((t.group, t.text), []).append(t)
    rng = np.random.default_rng([seed, 11])
    out = []
    for (group, word), ts in sorted(by_key.items()):
        if len(ts) <= params.enrol_takes:
            continue
        order = rng.permutation(len(ts))
        enrol = [ts[i].wave for i in order[:params.enrol_takes]]
        vectors = take_vectors(embedder, enrol, params.jitter_steps)
        self_cos, imp_cos = threshold_parts(vectors, bank, params.bank_quantile)
        clips, ends = [], []
        for i in order[params.enrol_takes:]:
            level = float(rng.uniform(*params.background_db))
            x = background_slice(backgrounds, int(CLIP_S * RATE), rng, level)
            end = float(rng.uniform(*END_S))
            mix_word(x, ts[i].wave, int(end * RATE) - len(ts[i].wave), float(rng.uniform(*params.word_to_background_db)),
                     level)
            clips.append(embedder.embed_wave(np.clip(x, -1, 1), RATE))
            ends.append(end)
        out.append(Enrolment(word, group, group.split(":")[0], centroid(vectors), self_cos, imp_cos, clips, ends,
                              vectors))
    return out


def negative_segments(takes: Sequence[Take], embedder: WindowEmbedder, backgrounds: Sequence[np.ndarray],
                      params: WordEncoderParams, seed: int) -> tuple[list[np.ndarray], float]:
    """Vectors of negative-only audio: ``takes`` (shuffled) with 0.3-1.5 s gaps, in 30 s segments,
    until ``negative_minutes``; returns (per segment (T, dim), hours counted)."""
    rng = np.random.default_rng([seed, 12])
    order = list(rng.permutation(len(takes)))
    segments, seconds = [], 0.0
    n = int(SEGMENT_S * RATE)
    while order and seconds < params.negative_minutes * 60:
        level = float(rng.uniform(*params.background_db))
        x = background_slice(backgrounds, n, rng, level)
        pos = int(rng.uniform(0.3, 1.5) * RATE)
        while order and pos + len(takes[order[0]].wave) < n:
            w = takes[order.pop(0)].wave
            mix_word(x, w, pos, float(rng.uniform(*params.word_to_background_db)), level)
            pos += len(w) + int(rng.uniform(0.3, 1.5) * RATE)
        segments.append(embedder.embed_wave(np.clip(x, -1, 1), RATE))
        seconds += SEGMENT_S - SETTLE_S
    return segments, seconds / 3600


def counts(enrols: Sequence[Enrolment], segments: Sequence[np.ndarray], embedder: WindowEmbedder, lam: float,
           params: WordEncoderParams) -> dict:
    """Misses and false accepts of every detector at rule parameter ``lam``."""
    clock = embedder.clock
    refractory = int(round(params.refractory_s / clock.step_s))
    settle = [clock.seconds(np.arange(len(s))) >= SETTLE_S for s in segments]
    rows = []
    for e in enrols:
        thr = rule_threshold(e.self_cos, e.imp_cos, lam)
        misses = 0
        for vecs, end in zip(e.positives, e.ends, strict=True):
            fired = clock.seconds(detect((1 + vecs @ e.mean) / 2, thr, refractory))
            found, _ = match(np.asarray(fired), [end], params.match_window_s, params.match_early_s)
            misses += int(not found[0])
        fas = sum(int(ok[detect((1 + s @ e.mean) / 2, thr, refractory)].sum()) for s, ok in zip(segments, settle,
                                                                                                 strict=True))
        rows.append({"word": e.word, "engine": e.engine, "misses": misses, "positives": len(e.ends), "fas": fas})
    return {"rows": rows, "misses": sum(r["misses"] for r in rows), "positives": sum(r["positives"] for r in rows),
            "false_accepts": sum(r["fas"] for r in rows)}


def curve(enrols: Sequence[Enrolment], segments: Sequence[np.ndarray], hours: float, embedder: WindowEmbedder,
          params: WordEncoderParams) -> list[dict]:
    """Missed rate and false accepts per hour (per detector) at every rule parameter."""
    out = []
    for lam in LAMBDAS:
        c = counts(enrols, segments, embedder, lam, params)
        det_hours = hours * max(len(enrols), 1)
        out.append({"lambda": lam, "missed_rate": round(c["misses"] / max(c["positives"], 1), 6),
                    "false_accepts_per_hour": round(c["false_accepts"] / max(det_hours, 1e-9), 6),
                    "misses": c["misses"], "false_accepts": c["false_accepts"]})
    return out


def pick_lambda(points: Sequence[dict], target_fa_per_hour: float) -> float:
    """Fewest misses among rule parameters meeting the false-accept target (ties: the middle one);
    the strictest parameter when none does."""
    ok = [p for p in points if p["false_accepts_per_hour"] <= target_fa_per_hour]
    if not ok:
        return max(p["lambda"] for p in points)
    best = min(p["missed_rate"] for p in ok)
    tied = sorted(p["lambda"] for p in ok if p["missed_rate"] == best)
    return tied[len(tied) // 2]


def report(enrols: Sequence[Enrolment], segments: Sequence[np.ndarray], hours: float, embedder: WindowEmbedder,
           lam: float, params: WordEncoderParams, prefix: str) -> dict:
    """Figures at ``lam`` with 95% intervals (Wilson for the missed rate, Poisson for FA/h), overall
    and per engine."""
    c = counts(enrols, segments, embedder, lam, params)
    out: dict = {f"{prefix}_detectors": len(enrols), f"{prefix}_negative_hours_per_detector": round(hours, 4)}
    groups = {"all": c["rows"]} | {e: [r for r in c["rows"] if r["engine"] == e] for e in sorted({r["engine"] for r in c["rows"]})}
    for name, rows in groups.items():
        k, n, fa = sum(r["misses"] for r in rows), sum(r["positives"] for r in rows), sum(r["fas"] for r in rows)
        h = hours * max(len(rows), 1)
        key = prefix if name == "all" else f"{prefix}_{name}"
        lo, hi = wilson_interval(k, n)
        flo, fhi = poisson_rate_interval(fa, h)
        out |= {f"{key}_missed_rate": round(k / max(n, 1), 6), f"{key}_missed_rate_ci95": [round(lo, 6), round(hi, 6)],
                f"{key}_misses": k, f"{key}_positives": n,
                f"{key}_false_accepts_per_hour": round(fa / max(h, 1e-9), 6),
                f"{key}_false_accepts_per_hour_ci95": [round(flo, 6), round(fhi, 6)], f"{key}_false_accepts": fa}
    return out
