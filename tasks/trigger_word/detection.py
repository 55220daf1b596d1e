"""From per-step scores to detections, and detections to the numbers wake-word users quote.

A *detection* is a rising crossing of the threshold (the score goes from below to at or
above it), and after one the detector ignores further crossings for a refractory period, so
one word fires once. A positive word counts as *found* when a detection lands between its
end and ``window_s`` after; every other detection is a *false accept*. The false-reject
rate is missed / positives; false accepts per hour are counted on audio without the word.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class StepClock:
    """Maps output steps to seconds: the time at which a step has heard all of its audio.

    Step ``t`` reads frames ``t*stride .. t*stride + kernel - 1``; a frame ``f`` spans samples
    ``f*hop .. f*hop + n_fft``; so step ``t`` ends at sample ``(t*stride + kernel - 1)*hop + n_fft``.
    """

    sample_rate: int
    n_fft: int
    hop: int
    kernel: int
    stride: int

    def seconds(self, steps: np.ndarray | int) -> np.ndarray | float:
        return ((np.asarray(steps) * self.stride + self.kernel - 1) * self.hop + self.n_fft) / self.sample_rate

    @property
    def step_s(self) -> float:
        return self.stride * self.hop / self.sample_rate


def detect(scores: np.ndarray, threshold: float, refractory_steps: int) -> np.ndarray:
    """Indices of the steps where the detector fires (rising crossings, with refractory)."""
    above = scores >= threshold
    rising = np.flatnonzero(above & ~np.concatenate([[False], above[:-1]]))
    if refractory_steps <= 0 or len(rising) < 2:
        return rising
    fired, last = [], -(10**12)
    for t in rising:
        if t - last >= refractory_steps:
            fired.append(t)
            last = t
    return np.asarray(fired, dtype=np.int64)


def match(detection_s: np.ndarray, positive_end_s: Sequence[float], window_s: float = 1.0,
          early_s: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Which positives were found and which detections are false accepts.

    A positive's window runs from ``early_s`` before its end (a detector may fire on the
    word's final consonant, before its trimmed tail is over) to ``window_s`` after. Each
    detection can find at most one positive (the earliest unmatched one whose window holds
    it). Returns ``(found[positives], false_accept[detections])`` as booleans.
    """
    ends = np.asarray(positive_end_s, dtype=float)
    found = np.zeros(len(ends), bool)
    false_accept = np.ones(len(detection_s), bool)
    for i, t in enumerate(detection_s):
        hits = np.flatnonzero(~found & (t >= ends - early_s) & (t <= ends + window_s))
        if len(hits):
            found[hits[0]] = True
            false_accept[i] = False
    return found, false_accept


def found_at(positive_runs: Sequence[tuple[np.ndarray, Sequence[float]]], clock: StepClock, threshold: float,
             refractory_s: float, window_s: float = 1.0, early_s: float = 0.0) -> list[np.ndarray]:
    """Which positives of each run (scores, positive end times in s) are found at ``threshold``."""
    refractory = int(round(refractory_s / clock.step_s))
    return [match(clock.seconds(detect(scores, threshold, refractory)), ends, window_s, early_s)[0]
            for scores, ends in positive_runs]


@dataclass
class CurvePoint:
    threshold: float
    false_reject_rate: float
    false_accepts_per_hour: float
    misses: int
    false_accepts: int


def det_curve(positive_runs: Sequence[tuple[np.ndarray, Sequence[float]]], negative_runs: Sequence[np.ndarray],
              negative_hours: float, clock: StepClock, thresholds: Sequence[float], refractory_s: float,
              window_s: float = 1.0, clip_false_accepts: bool = False, early_s: float = 0.0
              ) -> list[CurvePoint]:
    """False-reject rate (on clips with positives) and false accepts per hour (on negative-only
    audio) at every threshold: the DET curve.

    ``positive_runs`` holds (scores, positive end times in s) per clip; ``negative_runs`` the
    scores of audio that contains no positive word, ``negative_hours`` long in all. With
    ``clip_false_accepts``, unmatched detections inside the clips count as false accepts too
    (``negative_hours`` should then include the clips' length).
    """
    refractory = int(round(refractory_s / clock.step_s))
    n_pos = sum(len(ends) for _, ends in positive_runs)
    points = []
    for thr in thresholds:
        misses = fas = 0
        for scores, ends in positive_runs:
            found, false_accept = match(clock.seconds(detect(scores, thr, refractory)), ends, window_s, early_s)
            misses += int((~found).sum())
            fas += int(false_accept.sum()) if clip_false_accepts else 0
        fas += sum(len(detect(s, thr, refractory)) for s in negative_runs)
        points.append(CurvePoint(float(thr), misses / max(n_pos, 1), fas / max(negative_hours, 1e-9), misses, fas))
    return points


def pick_threshold(curve: Sequence[CurvePoint], target_fa_per_hour: float) -> CurvePoint:
    """The operating point: fewest misses among thresholds whose false accepts per hour meet
    the target (then fewest false accepts); of thresholds tied on both, the middle one, which
    leaves the most room on either side for audio unlike the calibration set.

    When no threshold meets the target, the highest threshold of the curve is returned.
    """
    ok = [p for p in curve if p.false_accepts_per_hour <= target_fa_per_hour]
    if not ok:
        return max(curve, key=lambda p: p.threshold)
    best = min((p.false_reject_rate, p.false_accepts_per_hour) for p in ok)
    tied = sorted((p for p in ok if (p.false_reject_rate, p.false_accepts_per_hour) == best),
                  key=lambda p: p.threshold)
    return tied[len(tied) // 2]


def logit_grid(step: float, low: float = -4.0, high: float = 10.0) -> tuple[float, ...]:
    """Thresholds evenly spaced in logit space (-4 .. 10: 0.018 .. 0.99995), so the curve is as
    finely sampled near 1, where low false-accept operating points live, as in the middle."""
    return tuple(float(t) for t in np.unique(np.round(1 / (1 + np.exp(-np.arange(low, high + step / 2, step))), 6)))


# For the per-epoch dev check while training.
DEFAULT_THRESHOLDS = logit_grid(0.25)
# For choosing the shipped operating point: near 0.99 one step of 0.25 moves the threshold by
# about 0.002, which can cost a percent of misses; steps of 0.05 land within about 0.0005.
OPERATING_THRESHOLDS = logit_grid(0.05)


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a rate ``k / n`` (e.g. a false-reject rate); (0, 1) for n = 0."""
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def poisson_rate_interval(k: int, hours: float, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Garwood) interval of a count per hour, ``k`` events in ``hours`` (e.g. false accepts/h)."""
    from scipy.stats import chi2

    a = 1 - confidence
    lo = 0.0 if k == 0 else chi2.ppf(a / 2, 2 * k) / 2
    hi = chi2.ppf(1 - a / 2, 2 * k + 2) / 2
    return float(lo / max(hours, 1e-9)), float(hi / max(hours, 1e-9))
