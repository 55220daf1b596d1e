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

from tasks.trigger_word.detection import (
    StepClock,
    detect,
    match,
    poisson_rate_interval,
    wilson_interval,
)
from tasks.trigger_word.enrol import (
    centroid,
    enrolled_takes,
    match_rule_parts,
    rule_threshold,
    threshold_parts,
)
from tasks.trigger_word.word_data import RATE, Take, background_slice, mix_word
from tasks.trigger_word.word_encoder import WindowEmbedder
from tasks.trigger_word.word_encoder_config import WordEncoderParams
from tasks.trigger_word.word_match import EnrolledTakes, Scoring, bank_centre, stream_scores

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
    takes: EnrolledTakes | None = None  # the enrolled takes as the match scorers need them
    clip_steps: list[np.ndarray] | None = None  # per clip: (T, 96) frontend steps


def enrolments(takes: Sequence[Take], embedder: WindowEmbedder, bank: np.ndarray, backgrounds: Sequence[np.ndarray],
               params: WordEncoderParams, seed: int, scoring: Scoring | None = None) -> list[Enrolment]:
    """One detector per (voice, word) with more than ``enrol_takes`` takes, and its positive clips;
    ``scoring``'s augmented copies of the takes ride along as templates (for the match scorers)."""
    by_key: dict[tuple[str, str], list[Take]] = {}
    for t in takes:
        by_key.setdefault((t.group, t.text), []).append(t)
    rng = np.random.default_rng([seed, 11])
    out = []
    for (group, word), ts in sorted(by_key.items()):
        if len(ts) <= params.enrol_takes:
            continue
        order = rng.permutation(len(ts))
        enrolled = enrolled_takes(embedder, [ts[i].wave for i in order[:params.enrol_takes]], params.jitter_steps,
                                  scoring)
        vectors = enrolled.vectors
        self_cos, imp_cos = threshold_parts(vectors, bank, params.bank_quantile)
        clips, ends, clip_steps = [], [], []
        for i in order[params.enrol_takes:]:
            level = float(rng.uniform(*params.background_db))
            x = background_slice(backgrounds, int(CLIP_S * RATE), rng, level)
            end = float(rng.uniform(*END_S))
            mix_word(x, ts[i].wave, int(end * RATE) - len(ts[i].wave), float(rng.uniform(*params.word_to_background_db)),
                     level)
            clip_steps.append(embedder.steps(np.clip(x, -1, 1), RATE))
            clips.append(embedder.embed_steps(clip_steps[-1]))
            ends.append(end)
        out.append(Enrolment(word, group, group.split(":")[0], centroid(vectors), self_cos, imp_cos, clips, ends,
                              vectors, enrolled, clip_steps))
    return out


def negative_segments(takes: Sequence[Take], embedder: WindowEmbedder, backgrounds: Sequence[np.ndarray],
                      params: WordEncoderParams, seed: int) -> tuple[list[np.ndarray], float]:
    """Vectors of negative-only audio (:func:`negative_steps`): (per segment (T, dim), hours counted)."""
    steps, hours = negative_steps(takes, embedder, backgrounds, params, seed)
    return [embedder.embed_steps(s) for s in steps], hours


def negative_steps(takes: Sequence[Take], embedder: WindowEmbedder, backgrounds: Sequence[np.ndarray],
                   params: WordEncoderParams, seed: int) -> tuple[list[np.ndarray], float]:
    """Frontend steps of negative-only audio: ``takes`` (shuffled) with 0.3-1.5 s gaps, in 30 s
    segments, until ``negative_minutes``; returns (per segment (T, 96), hours counted)."""
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
        segments.append(embedder.steps(np.clip(x, -1, 1), RATE))
        seconds += SEGMENT_S - SETTLE_S
    return segments, seconds / 3600


def detector_counts(threshold: float, positives: Sequence[np.ndarray], ends: Sequence[float],
                    negatives: Sequence[np.ndarray], clock: StepClock, params: WordEncoderParams) -> tuple[int, int]:
    """``(misses, false accepts)`` of one detector at ``threshold``, from its per-step scores of
    each positive clip (the word ending at ``ends`` s) and of each negative segment (counted from
    ``SETTLE_S`` on): the same rule for any scorer on ``clock``."""
    refractory = int(round(params.refractory_s / clock.step_s))
    misses = 0
    for scores, end in zip(positives, ends, strict=True):
        fired = clock.seconds(detect(scores, threshold, refractory))
        found, _ = match(np.asarray(fired), [end], params.match_window_s, params.match_early_s)
        misses += int(not found[0])
    fas = 0
    for scores in negatives:
        settled = clock.seconds(np.arange(len(scores))) >= SETTLE_S
        fas += int(settled[detect(scores, threshold, refractory)].sum())
    return misses, fas


def counts(enrols: Sequence[Enrolment], segments: Sequence[np.ndarray], embedder: WindowEmbedder, lam: float,
           params: WordEncoderParams) -> dict:
    """Misses and false accepts of every detector at rule parameter ``lam``."""
    rows = []
    for e in enrols:
        thr = rule_threshold(e.self_cos, e.imp_cos, lam)
        misses, fas = detector_counts(thr, [(1 + v @ e.mean) / 2 for v in e.positives], e.ends,
                                      [(1 + s @ e.mean) / 2 for s in segments], embedder.clock, params)
        rows.append({"word": e.word, "engine": e.engine, "misses": misses, "positives": len(e.ends), "fas": fas})
    return totals(rows)


def totals(rows: list[dict]) -> dict:
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
    return summary(counts(enrols, segments, embedder, lam, params)["rows"], hours, prefix)


def summary(rows: list[dict], hours: float, prefix: str) -> dict:
    """Per-detector ``{"engine", "misses", "positives", "fas"}`` rows -> the report's figures."""
    out: dict = {f"{prefix}_detectors": len(rows), f"{prefix}_negative_hours_per_detector": round(hours, 4)}
    groups = {"all": rows} | {e: [r for r in rows if r["engine"] == e] for e in sorted({r["engine"] for r in rows})}
    for name, mine in groups.items():
        k, n, fa = sum(r["misses"] for r in mine), sum(r["positives"] for r in mine), sum(r["fas"] for r in mine)
        h = hours * max(len(mine), 1)
        key = prefix if name == "all" else f"{prefix}_{name}"
        lo, hi = wilson_interval(k, n)
        flo, fhi = poisson_rate_interval(fa, h)
        out |= {f"{key}_missed_rate": round(k / max(n, 1), 6), f"{key}_missed_rate_ci95": [round(lo, 6), round(hi, 6)],
                f"{key}_misses": k, f"{key}_positives": n,
                f"{key}_false_accepts_per_hour": round(fa / max(h, 1e-9), 6),
                f"{key}_false_accepts_per_hour_ci95": [round(flo, 6), round(fhi, 6)], f"{key}_false_accepts": fa}
    return out


@dataclass
class Scored:
    """One detector's per-step scores under a match scorer, and its rule's parts (score scale)."""

    engine: str
    positives: list[np.ndarray]
    ends: list[float]
    negatives: list[np.ndarray]
    self_score: float
    imp_score: float


def match_scored(scoring: Scoring, enrols: Sequence[Enrolment], segment_steps: Sequence[np.ndarray],
                 segments: Sequence[np.ndarray], embedder: WindowEmbedder, step_bank: np.ndarray,
                 params: WordEncoderParams) -> list[Scored]:
    """Every detector of the check scored by ``scoring`` (the enrolments' steps, the negative
    segments' steps and vectors), with the rule's parts as enrol-word sets them."""
    centre, w = bank_centre(step_bank), embedder.model.config.window
    out = []
    for e in enrols:
        if e.takes is None or e.clip_steps is None:
            raise ValueError("enrolments without frontend steps cannot be scored by a match scorer")
        self_s, imp_s, norms = match_rule_parts(scoring, e.takes, step_bank, embedder, params.bank_quantile)
        pos = [stream_scores(scoring, e.takes, st, vc, centre, w, norms=norms)
               for st, vc in zip(e.clip_steps, e.positives, strict=True)]
        neg = [stream_scores(scoring, e.takes, st, vc, centre, w, norms=norms)
               for st, vc in zip(segment_steps, segments, strict=True)]
        out.append(Scored(e.engine, pos, e.ends, neg, self_s, imp_s))
    return out


def scored_rows(scored: Sequence[Scored], lam: float, clock: StepClock, params: WordEncoderParams) -> list[dict]:
    rows = []
    for d in scored:
        thr = float(np.clip(d.imp_score + lam * (d.self_score - d.imp_score), 0.0, 1.0))
        misses, fas = detector_counts(thr, d.positives, d.ends, d.negatives, clock, params)
        rows.append({"engine": d.engine, "misses": misses, "positives": len(d.ends), "fas": fas})
    return rows


def scored_curve(scored: Sequence[Scored], hours: float, clock: StepClock, params: WordEncoderParams) -> list[dict]:
    """As :func:`curve`, for a match scorer's detectors."""
    out = []
    for lam in LAMBDAS:
        t = totals(scored_rows(scored, lam, clock, params))
        out.append({"lambda": lam, "missed_rate": round(t["misses"] / max(t["positives"], 1), 6),
                    "false_accepts_per_hour": round(t["false_accepts"] / max(hours * max(len(scored), 1), 1e-9), 6),
                    "misses": t["misses"], "false_accepts": t["false_accepts"]})
    return out
