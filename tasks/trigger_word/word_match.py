"""Query by example: the enrolled takes matched against a stream on the frozen frontend's steps.

The classic few-shot keyword-spotting baseline: each take's frontend steps (96 values per
80 ms, from the step that first hears the word to the one that has heard it whole) are a
*template*; a stream's score at step ``j`` is the best mean cosine along a warping path that
matches the whole template to some stretch of the stream ending at ``j`` (subsequence DTW,
free start, slopes 1/2 to 2), as ``(1 + cos) / 2``. Steps are centred on the mean of the
encoder's step bank first (the frontend's steps share a large common part that makes every
cosine high). Several templates: the best one at each step (or the mean of the best few),
optionally after moving each template's scores to the same mean and spread over the step bank
(a z-norm per template, mapped back to the templates' average scale). Enrolment can add
augmented copies of each take as more templates (:class:`Scoring`'s ``speeds``, ``noise_db``,
``pitch``, ``warps`` and ``stretches``; made in :func:`tasks.trigger_word.enrol.augmented`).

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


def stream_unit(steps: np.ndarray, centre: np.ndarray | None, running: float = 0.0) -> np.ndarray:
    """:func:`unit` of a stream, or with ``running > 0`` centred on its own causal running mean
    (an exponential mean with a time constant of ``running`` steps, starting from ``centre``: a
    cepstral-mean-normalisation-like centring on what the stream has sounded like so far)."""
    if running <= 0:
        return unit(steps, centre)
    from scipy.signal import lfilter

    x = np.asarray(steps, np.float64)
    a = 1.0 / max(running, 1.0)
    start = np.zeros(x.shape[1]) if centre is None else np.asarray(centre, np.float64)
    mean, _ = lfilter([a], [1.0, -(1.0 - a)], x, axis=0, zi=((1.0 - a) * start)[None, :])
    y = x - mean
    return (y / np.linalg.norm(y, axis=1, keepdims=True).clip(1e-9)).astype(np.float32)


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


def template_scores(templates: Sequence[np.ndarray], stream: np.ndarray, kind: str = "linear") -> np.ndarray:
    """``(K, T)`` 0-1 score of each template at each step of a stream of unit steps, ``(1 + cos) / 2``
    of :func:`subsequence_dtw`, all templates at once (padded to the longest: the same numbers as
    one call per template, for a fraction of numpy's per-call cost).

    ``kind="log"``: each cell costs ``-log((1 + cos) / 2)`` instead of ``1 - cos`` and the score is
    ``exp(-mean cost)``, the geometric mean of the cells' ``(1 + cos) / 2`` along the best path: a
    sharper local cost (one badly matched step pulls the score down more than in the mean)."""
    k, t = len(templates), len(stream)
    if k == 0 or t == 0:
        return np.zeros((k, t), np.float32)
    lens = np.asarray([len(x) for x in templates])
    n = int(lens.max())
    pad = np.zeros((k, n, stream.shape[1]), np.float32)
    for i, x in enumerate(templates):
        pad[i, :len(x)] = x
    if kind not in ("linear", "log"):
        raise ValueError(f"unknown match cost {kind!r} (linear or log)")
    cos = pad @ stream.T  # (K, n, T)
    if kind == "linear":
        cost = (1.0 - cos).astype(np.float64)  # 0..2
    else:
        cost = -np.log(np.clip((1.0 + cos.astype(np.float64)) / 2.0, 1e-6, 1.0))
    inf = np.inf
    out = np.full((k, t), inf)
    prev2 = prev2c = None
    prev, prevc = cost[:, 0].copy(), np.ones((k, t))
    out[lens == 1] = prev[lens == 1]
    for i in range(1, n):
        ca, cc = np.full((k, t), inf), np.ones((k, t))  # (1, 1)
        ca[:, 1:], cc[:, 1:] = prev[:, :-1] + cost[:, i, 1:], prevc[:, :-1] + 1
        cands = [(ca, cc)]
        ca, cc = np.full((k, t), inf), np.ones((k, t))  # (1, 2), through (i, j-1)
        ca[:, 2:], cc[:, 2:] = prev[:, :-2] + cost[:, i, 1:-1] + cost[:, i, 2:], prevc[:, :-2] + 2
        cands.append((ca, cc))
        if i >= 2:  # (2, 1), through (i-1, j)
            ca, cc = np.full((k, t), inf), np.ones((k, t))
            ca[:, 1:], cc[:, 1:] = prev2[:, :-1] + cost[:, i - 1, 1:] + cost[:, i, 1:], prev2c[:, :-1] + 2
            cands.append((ca, cc))
        tot, cel = np.stack([a for a, _ in cands]), np.stack([c for _, c in cands])  # (M, K, T)
        best = np.argmin(tot / cel, axis=0)[None]
        prev2, prev2c = prev, prevc
        prev, prevc = np.take_along_axis(tot, best, 0)[0], np.take_along_axis(cel, best, 0)[0]
        done = lens == i + 1
        out[done] = prev[done] / prevc[done]
    score = 1.0 - out / 2.0 if kind == "linear" else np.exp(-out)
    return np.where(np.isfinite(out), score, 0.0).astype(np.float32)


def template_norms(bank_scores: np.ndarray) -> np.ndarray:
    """``(K, 2)`` mean and spread of each template's scores ``(K, T)`` over the step bank."""
    return np.stack([bank_scores.mean(axis=1), bank_scores.std(axis=1).clip(1e-6)], axis=1).astype(np.float32)


def combine(per_template: np.ndarray, top: int = 1, norms: np.ndarray | None = None) -> np.ndarray:
    """``(K, T)`` template scores -> ``(T,)``: the mean of the ``top`` best templates at each step.
    With ``norms`` (:func:`template_norms`), each template's scores are first moved to the same
    mean and spread over the bank (the templates' average ones, so the scale stays 0-1-like):
    a template that scores everything high no longer wins the max."""
    if len(per_template) == 0:
        return np.zeros(per_template.shape[1], np.float32)
    s = per_template
    if norms is not None:
        mu, sd = norms[:, :1], norms[:, 1:]
        s = float(mu.mean()) + (s - mu) * (float(sd.mean()) / sd)
    if top <= 1 or len(s) == 1:
        return s.max(axis=0).astype(np.float32)
    k = min(top, len(s))
    return np.sort(s, axis=0)[-k:].mean(axis=0).astype(np.float32)


def match_scores(templates: Sequence[np.ndarray], stream: np.ndarray, top: int = 1,
                 norms: np.ndarray | None = None, cost: str = "linear") -> np.ndarray:
    """``(T,)`` 0-1 score of a stream of unit steps: the best template's ``(1 + cos) / 2`` at each
    step (or as :func:`combine` says; ``cost`` as :func:`template_scores`)."""
    if not templates:
        return np.zeros(len(stream), np.float32)
    return combine(template_scores(templates, stream, cost), top, norms)


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
    top: int = 1  # the match is the mean of this many best templates at each step
    norm: bool = False  # templates moved to the same mean and spread over the step bank first
    speeds: tuple[float, ...] = ()  # each take also as a speed-perturbed copy at each of these factors
    noise_db: tuple[float, ...] = ()  # each take also in a context of noise this far below it (dB)
    noise_alpha: float = 0.0  # that noise's colour: power as 1/f**alpha (white 0, pink 1, brown 2)
    cost: str = "linear"  # the DTW's local cost: linear (1 - cos) or log (-log((1 + cos) / 2))
    running: float = 0.0  # > 0: each stream centred on its own causal running mean (time constant, steps)
    pitch: tuple[float, ...] = ()  # each take also pitch-shifted by each of these semitones (tempo, formants kept)
    pitch_formants: bool = False  # the pitch copies' formants move with the pitch (tempo still kept)
    warps: tuple[float, ...] = ()  # each take also with its formants moved by each factor (pitch, tempo kept)
    stretches: tuple[float, ...] = ()  # each take also this many times faster in tempo alone (pitch kept)


def scoring_of(about: dict) -> Scoring:
    """A scorer's settings as a rule or ``detector.json`` stores them (keys added later
    default to the scorer they extend: folders from before them score as they did)."""
    def floats(key: str) -> tuple[float, ...]:
        return tuple(float(f) for f in about.get(key, ()))

    return Scoring(about["kind"], float(about.get("weight", 0.5)),
                   int(about.get("extra", 0)), bool(about.get("centred", True)), int(about.get("top", 1)),
                   bool(about.get("norm", False)), floats("speeds"), floats("noise_db"),
                   float(about.get("noise_alpha", 0.0)), str(about.get("cost", "linear")),
                   float(about.get("running", 0.0)), floats("pitch"), bool(about.get("pitch_formants", False)),
                   floats("warps"), floats("stretches"))


def scoring_doc(scoring: Scoring) -> dict:
    """The settings as stored; the keys added after the fifth round (``cost``, ``running``, the
    pitch, formant and tempo copies) only when not the default, so that the stage's outputs and
    the folders it enrols read as before."""
    doc = {"kind": scoring.kind, "weight": scoring.weight, "extra": scoring.extra, "centred": scoring.centred,
           "top": scoring.top, "norm": scoring.norm, "speeds": list(scoring.speeds),
           "noise_db": list(scoring.noise_db), "noise_alpha": scoring.noise_alpha}
    if scoring.cost != "linear":
        doc["cost"] = scoring.cost
    if scoring.running:
        doc["running"] = scoring.running
    for key in ("pitch", "warps", "stretches"):
        if getattr(scoring, key):
            doc[key] = list(getattr(scoring, key))
    if scoring.pitch_formants:
        doc["pitch_formants"] = True
    return doc


@dataclass(frozen=True)
class EnrolledTakes:
    """Enrolled takes as the scorers need them: the takes first, then any augmented copies."""

    vectors: np.ndarray  # (K, dim) encoder vectors of the takes, as enrol-word's take_vectors makes them
    contexts: list[np.ndarray]  # per template: (T, 96) frontend steps of a take (or a copy) in its context
    spans: list[tuple[int, int]]  # per template: its steps in ``contexts`` (without ``extra``)
    origin: tuple[int, ...] = ()  # per template: the take it comes from (empty: one template per take)

    def of_take(self, i: int) -> int:
        return self.origin[i] if self.origin else i

    def templates(self, scoring: Scoring, centre: np.ndarray | None, skip: int | None = None) -> list[np.ndarray]:
        return [stream_unit(c, centre if scoring.centred else None, scoring.running)[a:b + scoring.extra]
                for i, (c, (a, b)) in enumerate(zip(self.contexts, self.spans, strict=True)) if self.of_take(i) != skip]

    def mean(self, skip: int | None = None) -> np.ndarray:
        keep = [k for k in range(len(self.vectors)) if k != skip]
        m = self.vectors[keep].mean(axis=0)
        return (m / max(float(np.linalg.norm(m)), 1e-9)).astype(np.float32)

    def kept(self, skip: int | None) -> np.ndarray:
        """Indices of the templates left when take ``skip`` is left out."""
        return np.asarray([i for i in range(len(self.contexts)) if self.of_take(i) != skip], np.int64)


def stream_scores(scoring: Scoring, takes: EnrolledTakes, steps: np.ndarray, vectors: np.ndarray,
                  centre: np.ndarray | None, window: int, skip: int | None = None,
                  norms: np.ndarray | None = None) -> np.ndarray:
    """Scores (0-1) of a stream on the encoder's clock: ``steps (T, 96)`` and its encoder vectors
    ``(T - window + 1, dim)``; ``skip`` leaves one enrolled take (and its copies) out; ``norms``
    (one row per template, :func:`template_norms`) when ``scoring.norm``."""
    enc = ((1.0 + vectors @ takes.mean(skip)) / 2).astype(np.float32)
    if scoring.kind == "encoder":
        return enc
    per = template_scores(takes.templates(scoring, centre, skip),
                          stream_unit(steps, centre if scoring.centred else None, scoring.running), scoring.cost)
    return combined(scoring, per, enc, window, norms[takes.kept(skip)] if norms is not None else None)


def combined(scoring: Scoring, per_template: np.ndarray, enc: np.ndarray, window: int,
             norms: np.ndarray | None) -> np.ndarray:
    """A match scorer's score on the encoder's clock, from the templates' per-step scores ``(K, T)``
    and the encoder's ``enc (T - window + 1,)``."""
    m = on_encoder_clock(combine(per_template, scoring.top, norms if scoring.norm else None), window)
    return m if scoring.kind == "match" else fuse(enc, m, scoring.weight)


def self_score(scoring: Scoring, takes: EnrolledTakes, vectors_of, centre: np.ndarray | None, window: int,
               norms: np.ndarray | None = None) -> float:
    """How alike the takes are on this score: each take's best score, in its context around its
    end, by the other takes (mean over takes). ``vectors_of(steps)`` gives the encoder vectors."""
    out = []
    for k in range(len(takes.vectors)):
        c = takes.contexts[k]
        s = stream_scores(scoring, takes, c, vectors_of(c), centre, window, skip=k, norms=norms)
        out.append(self_near_end(s, takes.spans[k][1], window))
    return float(np.mean(out))


def self_near_end(scores: np.ndarray, span_end: int, window: int) -> float:
    """A take's best score near its end in its own context (encoder clock)."""
    b = span_end - window  # the encoder-clock index of the step that has heard it whole
    return float(scores[max(0, b - 1):b + 4].max()) if len(scores) > max(0, b - 1) else 0.0
