"""Detection logic on fixed score sequences: rising crossings, refractory, matching, the curve."""

from __future__ import annotations

import numpy as np
import pytest

from tasks.trigger_word.detection import (
    DEFAULT_THRESHOLDS,
    OPERATING_THRESHOLDS,
    StepClock,
    det_curve,
    detect,
    match,
    pick_threshold,
)

# 16 kHz log-mel, 400-sample window, 160 hop, conv kernel 15 stride 4: one step = 40 ms.
CLOCK = StepClock(16000, 400, 160, 15, 4)


def test_clock_maps_steps_to_the_end_of_their_audio():
    assert CLOCK.step_s == pytest.approx(0.04)
    # step 0 reads frames 0-14; frame 14 ends at sample 14*160 + 400 = 2640.
    assert CLOCK.seconds(0) == pytest.approx(2640 / 16000)
    assert CLOCK.seconds(10) - CLOCK.seconds(9) == pytest.approx(0.04)


def test_detect_fires_on_rising_crossings_only():
    s = np.array([0.1, 0.6, 0.9, 0.7, 0.2, 0.8, 0.3, 0.1])
    assert detect(s, 0.5, 0).tolist() == [1, 5]
    assert detect(s, 0.95, 0).tolist() == []
    # Already above threshold at the start counts as a crossing.
    assert detect(np.array([0.9, 0.9, 0.1]), 0.5, 0).tolist() == [0]


def test_refractory_period_suppresses_refires():
    s = np.zeros(100)
    s[[10, 12, 14, 40]] = 1.0
    assert detect(s, 0.5, 0).tolist() == [10, 12, 14, 40]
    assert detect(s, 0.5, 25).tolist() == [10, 40]  # 12 and 14 fall in 10's refractory period


def test_match_finds_positives_within_a_second_after_their_end():
    found, fa = match(np.array([2.1, 5.1, 8.95]), [2.0, 4.0, 8.0], window_s=1.0)
    assert found.tolist() == [True, False, True]  # 5.1 is more than 1 s after 4.0's end
    assert fa.tolist() == [False, True, False]
    # A detection before the word ends does not count.
    found, fa = match(np.array([1.9]), [2.0])
    assert found.tolist() == [False] and fa.tolist() == [True]


def synthetic_scores(ends_s: list[float], n_steps: int, fire_delay_s: float = 0.2) -> np.ndarray:
    """Scores of an ideal detector: a bump of 0.9 starting ``fire_delay_s`` after each word ends."""
    s = np.full(n_steps, 0.05)
    t = np.asarray(CLOCK.seconds(np.arange(n_steps)))
    for e in ends_s:
        s[(t >= e + fire_delay_s) & (t < e + fire_delay_s + 0.3)] = 0.9
    return s


def test_detection_times_land_right_after_known_positive_ends():
    ends = [1.5, 4.25, 7.0]
    scores = synthetic_scores(ends, 246)
    fired = np.asarray(CLOCK.seconds(detect(scores, 0.5, 25)))
    assert len(fired) == 3
    assert np.all(fired >= np.asarray(ends) + 0.2) and np.all(fired < np.asarray(ends) + 0.2 + 0.04 + 1e-9)


def test_det_curve_and_threshold_choice():
    ends = [[1.5, 6.0], [3.0]]
    positives = [(synthetic_scores(e, 246), e) for e in ends]
    noise = np.full(2000, 0.05)
    noise[[100, 900]] = 0.6  # two false accepts at thresholds <= 0.6
    hours = 2000 * 0.04 / 3600
    curve = det_curve(positives, [noise], hours, CLOCK, [0.5, 0.7, 0.95], refractory_s=1.0)
    by_thr = {p.threshold: p for p in curve}
    assert by_thr[0.5].false_reject_rate == 0 and by_thr[0.5].false_accepts == 2
    assert by_thr[0.7].false_reject_rate == 0 and by_thr[0.7].false_accepts == 0
    assert by_thr[0.95].false_reject_rate == 1.0
    assert by_thr[0.5].false_accepts_per_hour == pytest.approx(2 / hours)
    assert pick_threshold(curve, target_fa_per_hour=0.5).threshold == 0.7


def test_operating_grid_is_fine_near_one_and_holds_the_training_grid():
    fine, coarse = np.array(OPERATING_THRESHOLDS), np.array(DEFAULT_THRESHOLDS)
    assert np.all(np.diff(fine) > 0) and np.all(np.diff(coarse) > 0)
    assert set(coarse) <= set(fine)  # the training-time dev check's thresholds are on the curve too
    near = (fine > 0.98) & (fine < 0.998)
    assert np.diff(fine)[near[:-1]].max() < 0.001 < np.diff(coarse)[(coarse > 0.98)[:-1] & (coarse < 0.998)[:-1]].max()
    # One false-accept peak just above each fine threshold in 0.98-0.99: the curve resolves them all.
    band = fine[(fine > 0.98) & (fine < 0.99)]
    noise = np.zeros(2 * len(band))
    noise[1::2] = band + 1e-7
    curve = [p for p in det_curve([], [noise], 1.0, CLOCK, fine, refractory_s=0.0) if 0.98 < p.threshold < 0.99]
    assert [p.false_accepts for p in curve] == list(range(len(band), 0, -1))


def test_match_counts_a_detection_just_before_the_end_only_within_early_s():
    found, fa = match(np.array([2.97]), [3.0], window_s=1.0)
    assert not found[0] and fa[0]  # strict: fired 30 ms before the end
    found, fa = match(np.array([2.97, 1.0]), [3.0], window_s=1.0, early_s=0.2)
    assert found[0] and list(fa) == [False, True]
    found, _ = match(np.array([2.7]), [3.0], window_s=1.0, early_s=0.2)
    assert not found[0]


def test_intervals_wilson_and_poisson():
    from tasks.trigger_word.detection import poisson_rate_interval, wilson_interval

    lo, hi = wilson_interval(10, 100)
    assert lo == pytest.approx(0.0552, abs=1e-4) and hi == pytest.approx(0.1744, abs=1e-4)
    assert wilson_interval(0, 50)[0] == 0.0 and 0 < wilson_interval(0, 50)[1] < 0.1
    assert wilson_interval(0, 0) == (0.0, 1.0)
    lo, hi = poisson_rate_interval(0, 0.5)
    assert lo == 0.0 and hi == pytest.approx(3.689 / 0.5, rel=1e-3)  # -ln(0.025) events in 0.5 h
    lo, hi = poisson_rate_interval(8, 16.0)
    assert lo < 0.5 < hi and hi == pytest.approx(0.985, abs=1e-3)
