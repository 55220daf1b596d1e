"""pocketsphinx's check of synthesised takes, on real Kokoro speech made in the test."""

from __future__ import annotations

import numpy as np
import pytest

from tasks.audio.intelligibility import WordRecogniser, check_takes, problem_in_take
from tasks.errors import DataError

VOCAB = ("activate", "captivate", "kitchen", "window", "seven")


@pytest.fixture(scope="module")
def recogniser() -> WordRecogniser:
    return WordRecogniser(VOCAB)


def kokoro_word(text: str) -> np.ndarray:
    from tasks.audio import kokoro
    from tasks.audio.io import resample
    from tasks.audio.tts import ipa

    return resample(kokoro.synthesize(ipa(text), "jf_alpha", 1.0), kokoro.SAMPLE_RATE, 16000)


@pytest.mark.slow  # Kokoro-82M on the CPU
def test_a_clear_take_passes_and_another_word_fails(recogniser):
    take = kokoro_word("activate")
    assert problem_in_take(recogniser, take, 16000, "activate") is None
    reason = problem_in_take(recogniser, kokoro_word("kitchen"), 16000, "activate")
    assert reason is not None and "pocketsphinx heard 'kitchen'" in reason and "5 vocabulary words" in reason


def test_silence_is_heard_as_nothing(recogniser):
    reason = problem_in_take(recogniser, np.zeros(8000, np.float32), 16000, "window")
    assert reason is not None and ("heard nothing" in reason or "not 'window'" in reason)


def test_words_outside_the_dictionary_are_refused():
    with pytest.raises(DataError, match="not in pocketsphinx's dictionary"):
        WordRecogniser(("activate", "zqxjvbw"))
    with pytest.raises(DataError, match="single words"):
        WordRecogniser(("turn on",))


@pytest.mark.slow
def test_check_takes_quarantines_only_failed_positive_takes(tmp_path):
    from tasks.audio.shards import ShardSet, shard_name

    good, bad = kokoro_word("activate"), kokoro_word("window")
    rows = []
    with ShardSet(tmp_path, shard_name("test", ["takes"]), 16000) as shards:
        for i, (x, kind, source) in enumerate([(good, "positive", "tts"), (bad, "positive", "tts"),
                                               (bad, "positive", "user"), (bad, "negative", "tts")]):
            rows.append({"word_id": f"w{i}", "kind": kind, "path": shards.add("positives", x), "text": "activate",
                         "source": source, "sample_rate": 16000, "origin": f"take {i}"})
    kept, quarantined = check_takes(tmp_path, rows, VOCAB, ("tts",))
    assert [r["word_id"] for r in kept] == ["w0", "w2", "w3"]
    assert [q["file"] for q in quarantined] == ["take 1"] and quarantined[0]["kind"] == "positive"
