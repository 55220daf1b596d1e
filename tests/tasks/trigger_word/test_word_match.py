"""Query-by-example matching on frontend steps: subsequence DTW finds a template warped in time."""

from __future__ import annotations

import numpy as np

from tasks.trigger_word.word_match import (
    Scoring,
    combine,
    fuse,
    match_scores,
    on_encoder_clock,
    scoring_doc,
    scoring_of,
    stream_unit,
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


def test_the_log_cost_scores_the_geometric_mean_and_punishes_one_bad_step_more():
    stream = _stream(120, 4)
    template = stream[40:52].copy()
    lin, log = template_scores([template], stream)[0], template_scores([template], stream, "log")[0]
    assert int(np.argmax(log)) == int(np.argmax(lin)) == 51 and log[51] > 0.999
    assert np.all((log >= 0) & (log <= 1))
    # the same template with one step turned around: the mean barely moves, the geometric mean falls further
    bad = template.copy()
    bad[6] = -bad[6]
    lin_bad, log_bad = template_scores([bad], stream)[0, 51], template_scores([bad], stream, "log")[0, 51]
    assert 1 - lin_bad < 0.1 and log_bad < lin_bad - 0.01
    try:
        template_scores([template], stream, "cubic")
    except ValueError as exc:
        assert "cubic" in str(exc)
    else:
        raise AssertionError("an unknown cost was accepted")


def test_running_centring_removes_a_stream_s_own_steady_background():
    rng = np.random.default_rng(5)
    background = rng.standard_normal(96) * 4
    word = rng.standard_normal((10, 96))
    quiet = np.concatenate([rng.standard_normal((30, 96)) * 0.1, word, rng.standard_normal((10, 96)) * 0.1])
    noisy = quiet + background  # the same word over a steady background the bank's centre does not know
    centre = np.zeros(96, np.float32)
    assert np.array_equal(stream_unit(noisy, centre, 0.0), unit(noisy, centre))
    plain = np.sum(unit(noisy, centre)[30:40] * unit(quiet, centre)[30:40], axis=1).mean()
    running = np.sum(stream_unit(noisy, centre, 25.0)[30:40] * stream_unit(quiet, centre, 25.0)[30:40], axis=1).mean()
    assert plain < 0.5 < running
    # stored settings: folders from before score as they did
    old = scoring_of({"kind": "fused"})
    assert old.cost == "linear" and old.running == 0.0
    new = Scoring("fused", cost="log", running=25.0)
    assert scoring_of(scoring_doc(new)) == new
    assert "cost" not in scoring_doc(Scoring("fused")) and "running" not in scoring_doc(Scoring("fused"))


def test_the_params_pitch_and_formant_copies_reach_the_stored_scorer_only_when_on():
    from tasks.trigger_word.word_encoder_config import WordEncoderParams
    from tasks.trigger_word.word_encoder_stage import match_scoring

    off = match_scoring(WordEncoderParams(), "fused")
    assert off.pitch == off.warps == () and not {"pitch", "warps", "stretches", "pitch_formants"} & set(
        scoring_doc(off))
    on = match_scoring(WordEncoderParams(match_pitch_semitones=(-3.0, 3.0), match_warps=(0.9, 1.1)), "fused")
    doc = scoring_doc(on)
    assert doc["pitch"] == [-3.0, 3.0] and doc["warps"] == [0.9, 1.1] and scoring_of(doc) == on
    dev = Scoring("fused", pitch=(2.0,), pitch_formants=True, stretches=(0.8,))
    assert scoring_of(scoring_doc(dev)) == dev
