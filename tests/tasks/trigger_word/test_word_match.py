"""Query-by-example matching on frontend steps: subsequence DTW finds a template warped in time."""

from __future__ import annotations

import numpy as np

from tasks.trigger_word.word_match import (
    combine,
    fuse,
    match_scores,
    on_encoder_clock,
    subsequence_dtw,
    template_norms,
    template_scores,
    template_span,
    unit,
)


def _stream(n: int, seed: int) -> np.ndarray:
    return unit(np.random.default_rng(seed).standard_normal((n, 96)), None)


def test_a_template_is_found_where_it_ends_whatever_its_speed():
    stream = _stream(200, 0)
    template = stream[80:95].copy()
    s = subsequence_dtw(template, stream)
    assert s.shape == (200,) and int(np.argmax(s)) == 94 and s[94] > 0.999
    assert np.sort(s)[-5] < 0.95  # elsewhere (beyond the path's last steps) it is unlike
    other = _stream(200, 1)
    slow = np.concatenate([other[:50], np.repeat(template, 2, axis=0), other[50:]])  # said at half speed
    assert int(np.argmax(subsequence_dtw(template, slow))) == 50 + 2 * 15 - 1
    fast = np.concatenate([other[:50], template[::2], other[50:]])  # twice as fast
    s_fast = subsequence_dtw(template, fast)
    assert int(np.argmax(s_fast)) == 50 + 8 - 1 and s_fast.max() > 0.5
    # a random stream matches no better than chance
    assert subsequence_dtw(template, other).max() < 0.4


def test_too_short_a_stream_scores_minus_one_and_several_templates_take_the_best():
    stream = _stream(40, 2)
    assert np.all(subsequence_dtw(stream[:30], stream[:10]) == -1.0)  # no path of slope >= 1/2 fits
    a, b = stream[5:15], _stream(10, 3)
    best = match_scores([a, b], stream)
    assert np.allclose(best, np.maximum(match_scores([a], stream), match_scores([b], stream)))
    assert best.min() >= 0.0 and best.max() <= 1.0 and best[14] > 0.999


def test_centring_clock_and_fusion():
    x = np.full((4, 96), 3.0) + np.eye(4, 96)
    centred = unit(x, np.full(96, 3.0))
    assert np.allclose(centred @ centred.T, np.eye(4), atol=1e-6)  # the shared part removed: unlike
    assert unit(x, None)[0] @ unit(x, None)[1] > 0.9
    assert np.array_equal(on_encoder_clock(np.arange(20.0), 12), np.arange(11.0, 20.0))
    assert len(on_encoder_clock(np.arange(5.0), 12)) == 0
    assert np.allclose(fuse(np.ones(3), np.zeros(3), 0.25), 0.25)
    # a take from 0.5 s to 1.3 s: the first step that hears it is 6, the last to hear it whole 16
    assert template_span(8000, 20800) == (6, 17) and template_span(8000, 20800, 2) == (6, 19)


def test_detector_counts_finds_words_near_their_end_and_counts_settled_false_accepts():
    from tasks.trigger_word.detection import StepClock
    from tasks.trigger_word.word_encoder_config import WordEncoderParams
    from tasks.trigger_word.word_eval import detector_counts

    clock = StepClock(16000, 1280, 1280, 12, 1)  # the encoder's: step t ends at (t + 12) * 80 ms
    params = WordEncoderParams()
    pos = np.zeros(60, np.float32)
    pos[25] = 0.9  # fires at (25 + 12) * 0.08 = 2.96 s
    late = np.zeros(60, np.float32)
    late[50] = 0.9  # 4.96 s: more than 1 s after the word's end
    neg = np.zeros(400, np.float32)
    neg[[5, 100, 101, 200]] = 0.9  # 1.36 s (before the segment settles: not counted), 8.96 s (once), 16.96 s
    assert detector_counts(0.5, [pos, late], [3.0, 3.0], [neg], clock, params) == (1, 2)
    assert detector_counts(0.95, [pos], [3.0], [neg], clock, params) == (1, 0)  # nothing reaches 0.95


def test_all_templates_at_once_give_each_templates_own_scores():
    stream = _stream(120, 4)
    templates = [stream[30:46], _stream(1, 5), _stream(7, 6), stream[60:72][::2], _stream(40, 7)]
    per = template_scores(templates, stream)
    assert per.shape == (5, 120)
    for x, row in zip(templates, per, strict=True):
        assert np.allclose(row, (1 + subsequence_dtw(x, stream)) / 2, atol=1e-6)
    assert per[0, 45] > 0.999 and np.all(per[4, :19] == 0.0)  # 40 steps need at least 20 of the stream


def test_template_norms_make_a_template_that_scores_everything_high_no_longer_win():
    rng = np.random.default_rng(8)
    per = np.stack([0.3 + 0.05 * rng.standard_normal(200), 0.75 + 0.02 * rng.standard_normal(200)])
    per[0, 30] = 0.7  # the first template's one clear match; the second scores everything high, matches nothing
    assert np.argmax(combine(per)) != 30  # by the max alone the second hides it
    norms = template_norms(per)
    assert np.allclose(norms, [[0.3, 0.05], [0.75, 0.02]], atol=0.01)
    normed = combine(per, norms=norms)
    assert int(np.argmax(normed)) == 30
    # moved to the templates' average mean and spread: the scale stays that of the scores
    assert abs(float(np.median(normed)) - float(per.mean())) < 0.1
    # top-2: the mean of the two best at each step
    assert np.allclose(combine(per, top=2), per.mean(axis=0)) and np.allclose(combine(per, top=9), per.mean(axis=0))
