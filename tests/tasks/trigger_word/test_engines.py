"""Engines that say the words: Kokoro blends for training, espeak-ng voices for the reverse check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from tasks.audio import kokoro
from tasks.trigger_word import engines as E
from tasks.trigger_word.collect import read_word
from tasks.trigger_word.config import AudioChecks, CollectParams

REVERSE = {"tts": {"engines": ["kokoro"]}, "cross_engine": {"engine": "espeak"}}


def test_blends_are_drawn_by_seed_within_the_mix():
    params = CollectParams(**REVERSE).tts.kokoro
    blends = E.kokoro_blends(params, 0)
    assert blends == E.kokoro_blends(params, 0) and blends != E.kokoro_blends(params, 1)
    assert len(blends) == params.voices and len({n for n, _ in blends}) == params.voices
    for _, weights in blends:
        assert params.mix[0] <= len(weights) <= params.mix[1]
        assert set(weights) <= set(params.base_voices) and abs(sum(weights.values()) - 1) < 1e-3
    assert len({tuple(w) for _, w in blends}) > 5  # many pairs and triples of the five voices


def test_a_blend_is_the_weighted_average_of_style_tables():
    a, b = kokoro.voice_table("jf_alpha"), kokoro.voice_table("jm_kumo")
    assert np.array_equal(kokoro.blend({"jf_alpha": 1.0}), a)
    assert np.allclose(kokoro.blend({"jf_alpha": 1.0, "jm_kumo": 3.0}), 0.25 * a + 0.75 * b, atol=1e-6)
    with pytest.raises(ValueError, match="unknown Kokoro voice"):
        kokoro.blend({"af_nobody": 1.0})


def test_train_plan_says_every_speed_and_some_negatives():
    p = CollectParams(**REVERSE, negative_words=["active", "motivate", "kitchen", "seven"])
    k = p.tts.kokoro
    items = [it for shard in E.kokoro_train_plan(p, 0) for it in shard]
    assert len(items) == k.voices * (len(k.speeds) + k.negatives_per_voice)
    pos = [it for it in items if it["kind"] == "positive"]
    assert {it["speed"] for it in pos} == set(k.speeds) and {it["text"] for it in pos} == {"activate"}
    assert all(it["speed"] in k.speeds for it in items)


def test_check_voices_never_in_both_parts():
    p = CollectParams(**REVERSE)
    items = [it for shard in E.espeak_check_plan(p, 0) for it in shard]
    voices = {s: {it["utterance"].voice for it in items if it["split"] == s} for s in ("dev", "test")}
    assert len(voices["dev"]) == 10 and len(voices["test"]) == 15 and not voices["dev"] & voices["test"]
    per_voice = len(p.tts.rates) * len(p.tts.pitches)
    assert sum(it["kind"] == "positive" for it in items) == 25 * per_voice
    assert sum(it["kind"] == "negative" for it in items) == 25 * p.cross_engine.negative_words


def test_the_check_engine_never_says_training_words():
    with pytest.raises(ValidationError, match="also in tts.engines"):
        CollectParams(tts={"engines": ["espeak", "kokoro"]})  # Kokoro is the default check's engine
    with pytest.raises(ValidationError, match="also in tts.engines"):
        CollectParams(cross_engine={"engine": "espeak"})
    with pytest.raises(ValidationError, match="unknown"):
        CollectParams(tts={"engines": ["flite"]}, cross_engine={"enabled": False})
    assert CollectParams(tts={"engines": ["espeak", "kokoro"]}, cross_engine={"enabled": False})


def test_rendered_takes_are_words_in_their_folders(tmp_path):
    p = CollectParams(**REVERSE)
    blend = E.kokoro_blends(p.tts.kokoro, 0)[0]
    items = [{"kind": kind, "text": text, "voice": blend[0], "weights": blend[1], "speed": 1.0}
             for kind, text in (("positive", "activate"), ("negative", "kitchen"))]
    rows, bad = E.render_kokoro_train(items, tmp_path, 16000, AudioChecks())
    assert not bad and [r["kind"] for r in rows] == ["positive", "negative"]
    assert rows[0]["path"].startswith("positives/kokoro-") and rows[1]["path"].startswith("negatives/kokoro-")
    assert rows[0]["group"] == f"kokoro:{blend[0]}" and rows[0]["source"] == "kokoro"
    take = read_word(tmp_path, rows[0])
    assert 0.3 < len(take) / 16000 < 1.5 and np.abs(take).max() > 0.05
    # The blend is a voice of its own: its take is neither base voice's.
    for voice in blend[1]:
        own, _ = E.render_kokoro_train([dict(items[0], voice=voice, weights={voice: 1.0})], tmp_path / voice,
                                       16000, AudioChecks())
        other = read_word(tmp_path / voice, own[0])
        assert len(other) != len(take) or not np.allclose(other, take, atol=1e-3)

    check = [dict(it, split=s) for s, it in (("dev", E.espeak_check_plan(p, 0)[0][0]),
                                              ("test", E.espeak_check_plan(p, 0)[-1][-1]))]
    rows, bad = E.render_espeak_check(check, tmp_path, 16000, AudioChecks())
    frame = pd.DataFrame(rows)
    assert not bad and list(frame.check_split) == ["dev", "test"] and set(frame.source) == {"espeak"}
    assert all(r.path.startswith("cross_engine/espeak-") and len(read_word(tmp_path, r)) == r.samples
               for r in frame.itertuples())

