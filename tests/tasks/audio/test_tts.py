from __future__ import annotations

import numpy as np
import pytest

from tasks.audio.tts import TTSError, Utterance, Voice, speak_batch


def test_same_batch_same_samples():
    batch = [Utterance("activate", Voice("en-gb", "f3"), 160, 40), Utterance("motivate", Voice("en-us", "m3"))]
    first, second = speak_batch(batch), speak_batch(batch)
    for (a, sr_a), (b, sr_b) in zip(first, second, strict=True):
        assert sr_a == sr_b == 22050
        assert np.array_equal(a, b)
        assert 0.3 < len(a) / sr_a < 1.5  # a word, not silence or a sentence


def test_voices_differ():
    (a, _), (b, _) = speak_batch([Utterance("activate", Voice("en-us", "m1")),
                                  Utterance("activate", Voice("en-gb-scotland", "f2"))])
    assert len(a) != len(b) or not np.array_equal(a, b)


def test_unknown_accent_is_named():
    with pytest.raises(TTSError, match="unknown accent 'en-mars'"):
        speak_batch([Utterance("activate", Voice("en-mars", "m1"))])
