"""Streaming with the features computed once per stretch of audio gives what scoring every
window on its own gave: same windows, same scores to float tolerance, for both feature kinds."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.trigger_word import TriggerWordConfig, TriggerWordModel
from tasks.audio import speech_embedding as se
from tasks.audio.features import FeatureExtractor, FeatureSpec, speech_embedding_spec
from tasks.audio.frontend_windows import WindowFrontend
from tasks.audio.io import resample
from tasks.audio.window_features import WindowFeatures
from tasks.trigger_word.detection import detect
from tasks.trigger_word.inference import Normaliser, Scorer, score_file, stream_scores
from tests.conftest import write_audio
from tests.tasks.trigger_word.spoken import words_over_pink_noise

RATE = 16000
LOGMEL = FeatureSpec("logmel", RATE, 640, 320, 40)


@pytest.fixture(scope="module")
def speech_over_noise() -> np.ndarray:
    """37 s at 16 kHz: espeak-ng words over pink noise, with 1.5 s of digital silence in it."""
    x = words_over_pink_noise(37.0, 3, 2.3)
    x[int(21.0 * RATE):int(22.5 * RATE)] = 0.0  # 80 dB under the loudest frame: the mel model's floor clips it
    return x


def scorer(spec: FeatureSpec, kernel: int, stride: int) -> Scorer:
    torch.manual_seed(0)
    model = TriggerWordModel(TriggerWordConfig(n_freq=spec.n_bins, conv_filters=32, conv_kernel=kernel,
                                               conv_stride=stride, gru_units=24))
    rng = np.random.default_rng(0)  # a normaliser that is not the identity
    return Scorer(model, spec, Normaliser(rng.normal(0, 1, spec.n_bins).astype(np.float32),
                                          rng.uniform(0.5, 2, spec.n_bins).astype(np.float32)))


def test_frontend_of_many_windows_equals_each_window_alone(speech_over_noise):
    win, hop, count = 10 * RATE, 5 * RATE, 6
    chunk = speech_over_noise[:(count - 1) * hop + win]
    got = WindowFrontend(win, hop)(chunk, count)
    alone = se.SpeechEmbedding()
    want = np.stack([alone(chunk[i * hop:i * hop + win]) for i in range(count)])
    assert got.shape == want.shape == (count, se.DIM, 125)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)  # windows 3 and 4 hold the silence


@pytest.mark.parametrize("kind", ["speech_embedding", "logmel"])
def test_window_features_equal_the_extractor_on_each_window(speech_over_noise, kind):
    spec = speech_embedding_spec() if kind == "speech_embedding" else LOGMEL
    win, hop, count = 4 * RATE, 2 * RATE, 9
    features = WindowFeatures(spec, RATE, win, hop)
    assert features.shared
    chunk = speech_over_noise[:(count - 1) * hop + win]
    got = features(chunk, count)
    ex = FeatureExtractor(spec, RATE)
    want = torch.stack([ex(torch.from_numpy(chunk[i * hop:i * hop + win])) for i in range(count)])
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("kind", ["speech_embedding", "logmel"])
def test_detect_scores_equal_the_per_window_path(tmp_path, speech_over_noise, kind):
    spec, kernel, stride = (speech_embedding_spec(), 1, 1) if kind == "speech_embedding" else (LOGMEL, 15, 4)
    path = write_audio(tmp_path / "speech.wav", speech_over_noise, RATE, subtype="PCM_16")
    s = scorer(spec, kernel, stride)
    t_old, p_old = score_file(path, s, 10.0, per_window=True)
    t_new, p_new = score_file(path, s, 10.0)
    np.testing.assert_allclose(t_new, t_old, atol=1e-9)  # the same steps, none twice, none missing
    np.testing.assert_allclose(p_new, p_old, atol=2e-5)
    assert p_old.std() > 1e-3  # the scores move with the audio
    thr = float(np.quantile(p_old, 0.97))
    np.testing.assert_array_equal(detect(p_new, thr, 5), detect(p_old, thr, 5))
    # Groups of any size give the same scores.
    parts = list(stream_scores(path, s, 10.0, block_s=0.7, group=2))
    np.testing.assert_allclose(np.concatenate([p for _, p in parts]), p_old, atol=2e-5)


def test_another_rate_and_stereo_still_match(tmp_path, speech_over_noise):
    """At another input rate each window is resampled and computed alone (batched head only)."""
    x = resample(speech_over_noise[:18 * RATE], RATE, 22050)
    path = write_audio(tmp_path / "stereo.flac", np.stack([x, 0.5 * x], axis=1), 22050)
    s = scorer(speech_embedding_spec(), 1, 1)
    t_old, p_old = score_file(path, s, 6.0, per_window=True)
    t_new, p_new = score_file(path, s, 6.0)
    np.testing.assert_allclose(t_new, t_old, atol=1e-9)
    np.testing.assert_allclose(p_new, p_old, atol=2e-5)


def test_non_finite_samples_are_reported_at_their_window(tmp_path):
    x = np.zeros(30 * RATE, np.float32)
    x[int(17.2 * RATE)] = np.nan
    path = write_audio(tmp_path / "nan.wav", x, RATE, subtype="FLOAT")
    s = scorer(LOGMEL, 15, 4)
    messages = []
    for per_window in (True, False):
        with pytest.raises(Exception, match="non-finite samples near") as err:
            score_file(path, s, 10.0, per_window=per_window)
        messages.append(str(err.value))
    assert messages[0] == messages[1] == "non-finite samples near 10.0 s"
