"""The head sweep's ensemble (the mean of several heads' per-step outputs, as one head), and its
cache of the frontend's features, shared by heads with different normalisers."""

import numpy as np
import torch
from torch import nn

from benchmarks.trigger_word_head_sweep import CachedScorer, MeanHead
from models.trigger_word import TriggerWordConfig, TriggerWordModel
from tasks.audio.features import FeatureSpec
from tasks.trigger_word.inference import Normaliser, Scorer
from tasks.trigger_word.stream_norm import StreamNorm
from tests.conftest import tone


class Fixed(nn.Module):
    """A 'head' whose per-step logits are a fixed row, whatever the input."""

    def __init__(self, logits: list[float]):
        super().__init__()
        self.config = {"steps": len(logits)}
        self.logits = torch.tensor([logits])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits.expand(len(x), -1)


def test_mean_of_logits_and_of_probabilities():
    heads = [Fixed([0.0, 4.0, -2.0]), Fixed([2.0, 0.0, -6.0])]
    x = torch.zeros(3, 96, 10)
    by_logit = MeanHead(heads)(x)
    assert by_logit.shape == (3, 3)
    assert torch.allclose(by_logit[0], torch.tensor([1.0, 2.0, -4.0]))
    by_prob = MeanHead(heads, mode="prob")(x)
    expected = (torch.sigmoid(torch.tensor([0.0, 4.0, -2.0])) + torch.sigmoid(torch.tensor([2.0, 0.0, -6.0]))) / 2
    assert torch.allclose(torch.sigmoid(by_prob[0]), expected, atol=1e-6)
    # The two rules differ where the heads disagree: the mean probability is not the mean logit's.
    assert not torch.allclose(by_prob, by_logit, atol=1e-3)
    assert MeanHead(heads).config == heads[0].config


def test_cached_features_serve_heads_with_other_normalisers_as_the_plain_scorer_would():
    """The cache keeps features before normalisation: a second head with a stream normalisation,
    scoring audio the first head put in the cache, gets what the plain :class:`Scorer` gives it."""
    spec = FeatureSpec("logmel", 16000, 400, 160, 20)
    torch.manual_seed(0)
    model = TriggerWordModel(TriggerWordConfig(n_freq=20, conv_filters=8, gru_units=8))
    plain = Normaliser(np.full(20, -40, np.float32), np.full(20, 20, np.float32))
    streamed = Normaliser(plain.mean, plain.std, StreamNorm("mean_std", 0.95))
    wave = tone(6.0, 16000)
    win, hop, count = 32000, 16000, 4
    cache: dict[str, np.ndarray] = {}
    first = CachedScorer(model, spec, plain, cache)
    first.score_windows(wave, 16000, win, hop, count)
    first.score_wave(wave[:win], 16000)
    assert len(cache) == 2
    second = CachedScorer(model, spec, streamed, cache)
    reference = Scorer(model, spec, streamed)
    np.testing.assert_allclose(second.score_windows(wave, 16000, win, hop, count),
                               reference.score_windows(wave, 16000, win, hop, count), atol=1e-6)
    np.testing.assert_allclose(second.score_wave(wave[:win], 16000), reference.score_wave(wave[:win], 16000),
                               atol=1e-6)
    assert len(cache) == 2  # served from the cache
    assert np.abs(second.score_wave(wave[:win], 16000) - first.score_wave(wave[:win], 16000)).max() > 1e-3
