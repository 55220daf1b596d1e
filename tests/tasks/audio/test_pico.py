"""SVOX Pico: real words out of the installed engine, repeatable, its settings honoured."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from tasks.audio import pico


def _f0(audio: np.ndarray) -> float:
    """Pitch of the loudest 100 ms, by autocorrelation (60-500 Hz)."""
    hop = pico.SAMPLE_RATE // 10
    frames = [audio[i:i + hop] for i in range(0, len(audio) - hop, hop)]
    x = max(frames, key=lambda f: float(np.sum(f * f)))
    ac = np.correlate(x, x, "full")[len(x) - 1:]
    lo, hi = pico.SAMPLE_RATE // 500, pico.SAMPLE_RATE // 60
    return pico.SAMPLE_RATE / (lo + int(np.argmax(ac[lo:hi])))


@pytest.mark.parametrize("voice", pico.VOICES)
def test_says_a_word_repeatably(voice):
    a = pico.say("activate", voice)
    assert a.dtype == np.float32 and 0.5 < len(a) / pico.SAMPLE_RATE < 1.5
    assert 0.05 < np.abs(a).max() <= 1.0
    # a fresh engine per word: the same word twice is the same bytes, whatever came between
    pico.say("the rain in spain stays mainly in the plain", voice)
    assert np.array_equal(pico.say("activate", voice), a)


def test_voices_pitch_and_rate_change_the_audio():
    us, gb = pico.say("activate", "en-US"), pico.say("activate", "en-GB")
    assert len(us) != len(gb) or not np.array_equal(us, gb)
    assert _f0(pico.say("activate", "en-US", pitch=160)) > 1.3 * _f0(pico.say("activate", "en-US", pitch=80))
    assert len(pico.say("activate", "en-US", rate=60)) > 1.4 * len(pico.say("activate", "en-US", rate=120))
    half, quarter = pico.say("activate", volume=50), pico.say("activate", volume=25)
    assert np.abs(pico.say("activate", volume=100)).max() >= 0.999  # the engine's own level clips this word
    assert np.abs(half).max() < 0.99 and np.array_equal(pico.say("activate"), half)  # the default, 50, does not
    assert abs(np.sqrt(np.mean(quarter ** 2)) / np.sqrt(np.mean(half ** 2)) - 0.5) < 0.02


def test_refuses_unknown_voices_and_settings():
    with pytest.raises(pico.PicoError, match="en-US, en-GB"):
        pico.say("activate", "de-DE")
    with pytest.raises(pico.PicoError, match="pitch 300"):
        pico.say("activate", pitch=300)


def test_corrupt_or_missing_lingware_names_the_file(tmp_path):
    for name in pico.LINGWARE_SHA256:
        shutil.copy(pico.lingware_dir() / name, tmp_path / name)
    assert len(pico.say("activate", folder=tmp_path))  # the copy passes its check
    bad = tmp_path / "bad"
    shutil.copytree(tmp_path, bad, ignore=shutil.ignore_patterns("bad", "gone"))
    data = bytearray((bad / "en-US_lh0_sg.bin").read_bytes())
    data[1000] ^= 0xFF
    (bad / "en-US_lh0_sg.bin").write_bytes(bytes(data))
    with pytest.raises(pico.PicoError, match="en-US_lh0_sg.bin does not match its SHA-256"):
        pico.say("activate", folder=bad)
    gone = tmp_path / "gone"
    shutil.copytree(tmp_path, gone, ignore=shutil.ignore_patterns("bad", "gone", "en-GB_ta.bin"))
    with pytest.raises(pico.PicoError, match="en-GB_ta.bin is missing"):
        pico.say("activate", folder=gone)
