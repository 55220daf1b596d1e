"""Query by example: the enrolled takes matched against a stream on the frozen frontend's steps.

The classic few-shot keyword-spotting baseline: each take's frontend steps (96 values per
80 ms, from the step that first hears the word to the one that has heard it whole) are a
*template*; a stream's score at step ``j`` is the best mean cosine along a warping path that
matches the whole template to some stretch of the stream ending at ``j`` (subsequence DTW,
free start, slopes 1/2 to 2), as ``(1 + cos) / 2``. Steps are centred on the mean of the
encoder's step bank first (the frontend's steps share a large common part that makes every
cosine high). Several templates: the best one at each step.

The *fused* score is ``w * encoder + (1 - w) * match`` step by step (both on the same 0-1 scale),
aligned on the encoder's clock (the score of step ``j`` is the window ending there).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tasks.trigger_word.word_data import end_step


def unit(steps: np.ndarray, centre: np.ndarray | None) -> np.ndarray:
    """``(T, 96)`` steps, minus ``centre`` when given, each scaled to unit length (float32)."""
    x = np.asarray(steps, np.float32)
    if centre is not None:
        x = x - centre[None, :]
    return (x / np.linalg.norm(x, axis=1, keepdims=True).clip(1e-9)).astype(np.float32)


def template_span(start_sample: int, end_sample: int, extra: int = 0) -> tuple[int, int]:
    """``(first, last + 1)`` steps of a take from ``start_sample`` to ``end_sample``: the first step
    that has heard its start, to ``extra`` steps after the one that has heard it whole."""
    return end_step(start_sample), end_step(end_sample) + extra + 1


def subsequence_dtw(template: np.ndarray, stream: np.ndarray) -> np.ndarray:
    """Best mean cosine of ``template (n, d)`` matched whole to a stretch of ``stream (T, d)`` ending
    at each step (both unit rows): ``(T,)`` in -1..1, -1 where no path fits (``j < n/2 - 1``).

    Moves (1, 1), (1, 2) and (2, 1) (template, stream) keep the slope within 1/2..2; a move adds
    the cosine distance of every cell it enters, and the path with the lowest mean distance
    so far is kept at each cell (the greedy rule of segmental query-by-example DTW)."""
    n, t = len(template), len(stream)
    if n == 0 or t == 0:
        return np.full(t, -1.0, np.float32)
    cost = 1.0 - template @ stream.T  # (n, T), 0..2
    inf = np.float64(np.inf)
    total = np.full((n, t), inf)  # accumulated distance
    cells = np.ones((n, t))  # cells on the path
    total[0] = cost[0]
    for i in range(1, n):
        cands = []
        # (1, 1) from (i-1, j-1)
        a, c = np.full(t, inf), np.ones(t)
        a[1:], c[1:] = total[i - 1, :-1] + cost[i, 1:], cells[i - 1, :-1] + 1
        cands.append((a, c))
        # (1, 2) from (i-1, j-2), through (i, j-1)
        a, c = np.full(t, inf), np.ones(t)
        a[2:], c[2:] = total[i - 1, :-2] + cost[i, 1:-1] + cost[i, 2:], cells[i - 1, :-2] + 2
        cands.append((a, c))
        if i >= 2:  # (2, 1) from (i-2, j-1), through (i-1, j)
            a, c = np.full(t, inf), np.ones(t)
            a[1:], c[1:] = total[i - 2, :-1] + cost[i - 1, 1:] + cost[i, 1:], cells[i - 2, :-1] + 2
            cands.append((a, c))
        means = np.stack([a / c for a, c in cands])
        best = np.argmin(means, axis=0)
        pick = np.arange(t)
        total[i] = np.stack([a for a, _ in cands])[best, pick]
        cells[i] = np.stack([c for _, c in cands])[best, pick]
    mean = total[-1] / cells[-1]
    return np.where(np.isfinite(mean), 1.0 - mean, -1.0).astype(np.float32)


def match_scores(templates: Sequence[np.ndarray], stream: np.ndarray) -> np.ndarray:
    """``(T,)`` 0-1 score of a stream of unit steps: the best template's ``(1 + cos) / 2`` at each step."""
    if not templates:
        return np.zeros(len(stream), np.float32)
    return ((1.0 + np.max([subsequence_dtw(x, stream) for x in templates], axis=0)) / 2).astype(np.float32)


def on_encoder_clock(scores: np.ndarray, window: int) -> np.ndarray:
    """Per-step scores ``(T,)`` -> the encoder's clock (its vector ``t`` is the window ending at step
    ``t + window - 1``): ``(T - window + 1,)``, empty when shorter than a window."""
    return scores[window - 1:] if len(scores) >= window else np.zeros(0, np.float32)


def fuse(encoder: np.ndarray, match: np.ndarray, weight: float) -> np.ndarray:
    """``weight * encoder + (1 - weight) * match`` (same clock, same length)."""
    return (weight * encoder + (1.0 - weight) * match).astype(np.float32)


def step_bank(steps: np.ndarray, n: int) -> np.ndarray:
    """The first ``n`` steps of a stream of training strips (words and the audio between them), as
    float16 ``(n, 96)``: negatives for the threshold rule and the centre of the steps."""
    return np.ascontiguousarray(steps[:n], np.float16)


def bank_centre(bank_steps: np.ndarray) -> np.ndarray:
    return np.asarray(bank_steps, np.float32).mean(axis=0).astype(np.float32)




@dataclass(frozen=True)
class Scoring:
    """How an enrolled word scores a stream: the encoder alone, the match alone, or both fused."""

    kind: str = "encoder"  # encoder | match | fused
    weight: float = 0.5  # the encoder's share of a fused score (0-1)
    extra: int = 0  # template steps kept after the one that has heard the take whole
    centred: bool = True  # steps centred on the step bank's mean before the cosines


@dataclass(frozen=True)
class EnrolledTakes:
    """Enrolled takes as the scorers need them."""

    vectors: np.ndarray  # (K, dim) encoder vectors, as enrol-word's take_vectors makes them
    contexts: list[np.ndarray]  # per take: (T, 96) frontend steps of the take in its context
    spans: list[tuple[int, int]]  # per take: its template's steps in ``contexts`` (without ``extra``)

    def templates(self, scoring: Scoring, centre: np.ndarray | None, skip: int | None = None) -> list[np.ndarray]:
        return [unit(c[a:b + scoring.extra], centre if scoring.centred else None)
                for k, (c, (a, b)) in enumerate(zip(self.contexts, self.spans, strict=True)) if k != skip]

    def mean(self, skip: int | None = None) -> np.ndarray:
        keep = [k for k in range(len(self.vectors)) if k != skip]
        m = self.vectors[keep].mean(axis=0)
        return (m / max(float(np.linalg.norm(m)), 1e-9)).astype(np.float32)


def stream_scores(scoring: Scoring, takes: EnrolledTakes, steps: np.ndarray, vectors: np.ndarray,
                  centre: np.ndarray | None, window: int, skip: int | None = None) -> np.ndarray:
    """Scores (0-1) of a stream on the encoder's clock: ``steps (T, 96)`` and its encoder vectors
    ``(T - window + 1, dim)``; ``skip`` leaves one enrolled take out."""
    enc = ((1.0 + vectors @ takes.mean(skip)) / 2).astype(np.float32)
    if scoring.kind == "encoder":
        return enc
    m = on_encoder_clock(match_scores(takes.templates(scoring, centre, skip),
                                      unit(steps, centre if scoring.centred else None)), window)
    return m if scoring.kind == "match" else fuse(enc, m, scoring.weight)


def self_score(scoring: Scoring, takes: EnrolledTakes, vectors_of, centre: np.ndarray | None, window: int) -> float:
    """How alike the takes are on this score: each take's best score, in its context around its
    end, by the other takes (mean over takes). ``vectors_of(steps)`` gives the encoder vectors."""
    out = []
    for k, c in enumerate(takes.contexts):
        s = stream_scores(scoring, takes, c, vectors_of(c), centre, window, skip=k)
        b = takes.spans[k][1] - window  # the encoder-clock index of the step that has heard it whole
        out.append(float(s[max(0, b - 1):b + 4].max()) if len(s) > max(0, b - 1) else 0.0)
    return float(np.mean(out))
