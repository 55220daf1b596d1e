"""The word encoder's other engines and hard negatives, on real audio: SVOX Pico training takes,
Kokoro check takes, and windows cut before a word's end."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from tasks.audio import pico
from tasks.audio import speech_embedding as se
from tasks.trigger_word.word_data import RATE, kokoro_takes, pico_takes, strip_steps
from tasks.trigger_word.word_encoder import WindowSet, with_cut_windows
from tasks.trigger_word.word_encoder_config import VOCABULARY, WordEncoderParams
from tasks.trigger_word.word_encoder_stage import pico_plan


def test_pico_plan_says_each_word_in_both_voices_at_drawn_settings():
    p = WordEncoderParams(vocabulary=3, lexicon_words=20, pico_lexicon_voices=3, pico_vocabulary_voices=2,
                          pico_pitch=(70, 130), pico_rate=(80, 120))
    held = {"activate", "marmalade"}
    plan = pico_plan(p, held, seed=0)
    assert plan == pico_plan(p, held, seed=0) and plan != pico_plan(p, held, seed=1)
    words = [w for w, *_ in plan]
    assert len(plan) == 3 * 2 + 20 * 3 and set(VOCABULARY[:3]) <= set(words)
    assert not any(w.startswith(("activ", "marma")) for w in words)
    for w in set(words):
        voices = [v for x, v, *_ in plan if x == w]
        assert set(voices) == set(pico.VOICES)  # 2+ variants: both voices
    assert all(70 <= q <= 130 and 80 <= r <= 120 for *_, q, r in plan)
    assert len({(q, r) for *_, q, r in plan}) > len(plan) // 2  # settings vary
    assert pico_plan(p.model_copy(update={"pico_lexicon_voices": 0, "pico_vocabulary_voices": 0}), held, 0) == []


def test_pico_takes_are_trimmed_words_at_16khz_named_by_voice():
    plan = [("yesterday", "en-US", 100, 100), ("yesterday", "en-GB", 150, 70), ("kitchen", "en-US", 60, 140)]
    takes = pico_takes(plan)
    assert [t.group for t in takes] == ["pico:en-US", "pico:en-GB", "pico:en-US"]
    assert [t.text for t in takes] == ["yesterday", "yesterday", "kitchen"]
    raw = pico.say("yesterday", "en-US", 100, 100)
    assert abs(raw[:400]).max() < 0.01 and len(takes[0].wave) < len(raw) - 1000  # the silence is gone
    assert abs(takes[0].wave[:800]).max() > 0.01
    # slower is longer; the same settings give the same bytes
    assert len(takes[1].wave) > len(takes[0].wave)
    assert np.array_equal(pico_takes(plan[:1])[0].wave, takes[0].wave)


def test_kokoro_takes_are_words_at_16khz_in_the_check_groups():
    takes = kokoro_takes([("lighthouse", "jf_alpha", 1.0), ("lighthouse", "jf_alpha", 0.8)])
    assert [t.group for t in takes] == ["kokoro:jf_alpha"] * 2
    assert all(0.3 < len(t.wave) / RATE < 2.0 and t.wave.dtype == np.float32 for t in takes)
    assert len(takes[1].wave) > len(takes[0].wave)  # slower


def test_cut_windows_end_before_the_word_as_classes_of_their_own():
    takes = pico_takes([(w, v, 100, 100) for w in ("window", "tomorrow") for v in pico.VOICES])
    rng = np.random.default_rng(0)
    bgs = [(0.01 * rng.standard_normal(5 * RATE)).astype(np.float32)]
    steps, ends = strip_steps(se.SpeechEmbedding(), takes, bgs, rng, (10.0, 20.0), (-40.0, -30.0))
    ws = WindowSet(steps, ends, np.asarray([0, 0, 1, 1]))
    assert with_cut_windows(ws, 0.0, (3, 5), 0) is ws
    cut = with_cut_windows(ws, 0.5, (3, 5), 0)
    assert len(cut.ends) == 6 and np.array_equal(cut.ends[:4], ends) and np.array_equal(cut.labels[:4], ws.labels)
    assert set(cut.labels[4:]) <= {2, 3}  # word 0 -> class 2, word 1 -> class 3
    for e, c in zip(cut.ends[4:], cut.labels[4:], strict=True):  # 3-5 steps before a take of its word ends
        assert any(ws.labels[i] == c - 2 and 3 <= ends[i] - e <= 5 for i in range(4))
    assert np.array_equal(with_cut_windows(ws, 0.5, (3, 5), 0).ends, cut.ends)


@pytest.mark.parametrize("update", [{"pico_pitch": (40, 100)}, {"pico_rate": (150, 100)},
                                    {"kokoro_speeds": (3.0,)}, {"cut_steps": (0, 2)},
                                    {"match_pitch_semitones": (0.0,)}, {"match_pitch_semitones": (-3.0, 15.0)},
                                    {"match_warps": (1.0,)}, {"match_warps": (0.5,)}])
def test_bad_settings_are_refused_naming_the_key(update):
    key = next(iter(update))
    with pytest.raises(ValidationError, match=key):
        WordEncoderParams(**update)
