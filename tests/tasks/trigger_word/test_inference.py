"""Streaming a model over files of any length, and the chimed copy."""

from __future__ import annotations

import numpy as np
import soundfile as sf
import torch

from models.trigger_word import TriggerWordConfig, TriggerWordModel
from tasks.audio.features import FeatureSpec
from tasks.trigger_word.inference import Normaliser, Scorer, stream_scores, write_with_chimes
from tests.conftest import tone, write_audio

SPEC = FeatureSpec("logmel", 16000, 400, 160, 20)


def scorer() -> Scorer:
    torch.manual_seed(0)
    model = TriggerWordModel(TriggerWordConfig(n_freq=20, conv_filters=8, gru_units=8))
    return Scorer(model, SPEC, Normaliser(np.full(20, -40, np.float32), np.full(20, 20, np.float32)))


def test_stream_covers_a_long_stereo_file_at_another_rate_without_gaps(tmp_path):
    path = write_audio(tmp_path / "long.flac", tone(23.0, 22050, channels=2), 22050)
    parts = list(stream_scores(path, scorer(), window_s=4.0, block_s=0.5))
    times = np.concatenate([t for t, _ in parts])
    scores = np.concatenate([s for _, s in parts])
    assert len(parts) > 5  # windows, not the whole file at once
    steps = np.diff(times)
    assert np.allclose(steps, 0.04, atol=1e-3)  # one score per 40 ms step, none twice, none missing
    assert times[0] < 0.2 and times[-1] > 22.5
    assert ((scores >= 0) & (scores <= 1)).all()


def test_short_file_is_scored_whole(tmp_path):
    path = write_audio(tmp_path / "short.wav", tone(1.5, 16000), 16000)
    s = scorer()
    (times, scores), = list(stream_scores(path, s, window_s=10.0))
    wave, _ = sf.read(path, dtype="float32")
    assert np.allclose(scores, s.score_wave(wave, 16000))


def test_chimed_copy_keeps_length_rate_and_channels(tmp_path):
    src = write_audio(tmp_path / "in.wav", np.zeros((48000, 2), np.float32), 48000)
    write_with_chimes(src, tmp_path / "out.wav", [0.5])
    out, rate = sf.read(tmp_path / "out.wav")
    assert rate == 48000 and out.shape == (48000, 2)
    assert np.abs(out[:24000]).max() == 0 and np.abs(out[24000:30000]).max() > 0.1
