"""Test audio shared by the streaming tests: real espeak-ng words over pink noise."""

from __future__ import annotations

import numpy as np

from tasks.audio.io import resample
from tasks.audio.noise import make_background
from tasks.audio.tts import Utterance, Voice, speak_batch

RATE = 16000


def words_over_pink_noise(seconds: float, seed: int, every_s: float) -> np.ndarray:
    """``seconds`` at 16 kHz of pink noise with "activate" and "kitchen lights" by two espeak-ng
    voices (m3, f2) pasted in turn every ``every_s`` seconds from 0.5 s on."""
    rng = np.random.default_rng(seed)
    x = make_background("pink", seconds, RATE, rng) * np.float32(0.05)
    words = [resample(w, sr, RATE) for w, sr in speak_batch(
        [Utterance(t, Voice("en-us", v)) for t in ("activate", "kitchen lights") for v in ("m3", "f2")])]
    for k, at in enumerate(range(RATE // 2, len(x) - 2 * RATE, int(every_s * RATE))):
        w = words[k % len(words)]
        x[at:at + len(w)] += 0.4 * w
    return x
