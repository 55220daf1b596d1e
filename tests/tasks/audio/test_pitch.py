"""The pitch shift moves a real voice's pitch as espeak-ng's own pitch setting does and keeps its
length, level and (by default) formants; the time stretch changes the length and keeps the pitch."""

from __future__ import annotations

import numpy as np
import pytest

from tasks.audio.io import resample
from tasks.audio.pitch import pitch_shift, shift_factor, time_stretch
from tasks.audio.tts import Utterance, Voice, speak_batch
from tests.tasks.audio.test_warp import first_formant, resonances, vowel

SR = 16000


def f0(x: np.ndarray) -> float:
    """Median fundamental of the voiced 40 ms frames (normalised autocorrelation peak above 0.6), Hz."""
    n, hop, found = 640, 160, []
    for s in range(0, len(x) - n, hop):
        fr = x[s:s + n] - x[s:s + n].mean()
        if np.sqrt(np.mean(fr ** 2)) < 0.02 * np.abs(x).max():
            continue
        ac = np.correlate(fr, fr, "full")[n - 1:]
        ac /= ac[0] + 1e-12
        lo, hi = SR // 400, SR // 60
        k = lo + int(np.argmax(ac[lo:hi]))
        if ac[k] > 0.6:
            found.append(SR / k)
    return float(np.median(found))


def semitones(a: float, b: float) -> float:
    return 12 * np.log2(b / a)


@pytest.fixture(scope="module")
def takes() -> dict[int, np.ndarray]:
    """"marmalade" by an espeak-ng voice at its pitch settings 35, 50 and 65 (16 kHz)."""
    said = speak_batch([Utterance("marmalade", Voice("en-gb", "f2"), 175, p) for p in (35, 50, 65)])
    return {p: resample(np.asarray(x, np.float32), sr, SR) for p, (x, sr) in zip((35, 50, 65), said, strict=True)}


def test_a_shift_moves_a_real_voice_as_its_pitch_setting_does_and_keeps_length_and_level(takes):
    x = takes[50]
    for s in (-3.0, -1.5, 2.0, 3.0):
        y = pitch_shift(x, SR, s)
        assert len(y) == len(x) and y.dtype == np.float32
        assert np.isclose(np.sqrt(np.mean(y ** 2)), np.sqrt(np.mean(x ** 2)), rtol=1e-3)
        assert abs(semitones(f0(x), f0(y)) - s) < 0.5, s
    # espeak-ng's pitch 35 and 65 lie about 3 semitones either side of 50 for this voice; the
    # shifted copies land nearer those takes' pitch than the take itself
    for p, s in ((35, -3.0), (65, 3.0)):
        target = f0(takes[p])
        assert abs(semitones(target, f0(pitch_shift(x, SR, s)))) < 0.5 < abs(semitones(target, f0(x)))


def test_formants_stay_by_default_and_move_with_the_pitch_when_asked():
    x = resonances()
    base = first_formant(x)
    for s in (-3.0, 3.0):
        r = float(shift_factor(s))
        assert abs(first_formant(pitch_shift(x, SR, s)) / base - 1) < 0.05
        assert abs(first_formant(pitch_shift(x, SR, s, keep_formants=False)) / base - r) < 0.04
    v = vowel(125.0)  # harmonics at 125 Hz: the shift moves them, formants kept or not
    for keep in (True, False):
        assert abs(f0(pitch_shift(v, SR, 3.0, keep)) - 125 * 2 ** 0.25) < 3


def test_a_stretch_changes_the_length_and_keeps_the_pitch(takes):
    x = takes[50]
    for factor in (0.8, 1.25):
        y = time_stretch(x, SR, int(len(x) * factor))
        assert len(y) == int(len(x) * factor) and y.dtype == np.float32
        assert abs(semitones(f0(x), f0(y))) < 0.3
        assert np.isclose(np.sqrt(np.mean(y ** 2)), np.sqrt(np.mean(x ** 2)), rtol=1e-3)


def test_identity_cases_factors_and_determinism(takes):
    x = takes[50]
    assert pitch_shift(x, SR, 0.0) is x and time_stretch(x, SR, len(x)) is x
    short = x[:100]  # shorter than one frame
    assert pitch_shift(short, SR, 3.0) is short and time_stretch(short, SR, 200) is short
    for s in (-4.0, -1.0, 2.5, 12.0):
        assert abs(semitones(1.0, float(shift_factor(s))) - s) < 0.03 and shift_factor(s).denominator <= 64
    assert np.array_equal(pitch_shift(x, SR, 2.0), pitch_shift(x, SR, 2.0))
