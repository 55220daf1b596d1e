from __future__ import annotations

import numpy as np
import pytest

from tasks.audio.checks import AudioLimits, problem_in_length, problem_in_raw, trim_silence

LIMITS = AudioLimits(min_seconds=0.2, max_seconds=2.0)


@pytest.mark.parametrize("data, reason", [
    (np.zeros((0, 1), np.float32), "empty"),
    (np.array([[0.1], [np.nan]], np.float32), "non-finite"),
    (np.full((1000, 1), 1e-5, np.float32), "silent"),
    (np.tile(np.array([[1.0], [-1.0], [0.2]], np.float32), (500, 1)), "clipped"),
])
def test_raw_problems(data, reason):
    assert problem_in_raw(data, LIMITS).startswith(reason)


def test_good_audio_has_no_problem():
    x = (0.3 * np.sin(np.arange(8000) / 5)).astype(np.float32)[:, None]
    assert problem_in_raw(x, LIMITS) is None


def test_length_limits():
    assert problem_in_length(100, 1000, LIMITS).startswith("too short")
    assert problem_in_length(2500, 1000, LIMITS).startswith("too long")
    assert problem_in_length(1000, 1000, LIMITS) is None


def test_trim_cuts_silence_but_keeps_the_word():
    sr = 16000
    word = 0.5 * np.sin(np.arange(sr // 2) / 3).astype(np.float32)
    x = np.concatenate([np.zeros(sr), word, np.zeros(sr)]).astype(np.float32)
    y = trim_silence(x, sr, threshold_db=-40, pad_s=0.02)
    assert len(word) <= len(y) <= len(word) + 2 * int(0.03 * sr)
    assert np.abs(y).max() == pytest.approx(0.5, abs=0.01)
