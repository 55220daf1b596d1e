"""Per-stream normalisation of the frontend's steps (`train.model.stream_norm`): what it removes,
that it is causal, that streaming a long file gives the scores of its windows scored as clips, and
that checkpoints without it (older ones, or made with it off) normalise as before."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from models.trigger_word import TriggerWordConfig, TriggerWordModel
from tasks.audio.features import FeatureExtractor, speech_embedding_spec
from tasks.trigger_word.config import ModelParams
from tasks.trigger_word.inference import Normaliser, Scorer, score_file
from tasks.trigger_word.modeling import normaliser, stream_meta
from tasks.trigger_word.stream_norm import StreamNorm, stream_norm_from_params
from tests.conftest import write_audio
from tests.tasks.trigger_word.spoken import words_over_pink_noise

RATE = 16000
DECAY = math.exp(-0.08 / 3.0)  # 3 s over 80 ms steps


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    """26 s at 16 kHz: espeak-ng words by two voices over pink noise."""
    return words_over_pink_noise(26.0, 5, 2.1)


@pytest.fixture(scope="module")
def steps(speech) -> torch.Tensor:
    """The frontend's ``(96, T)`` embedding steps of the first 10 s."""
    return FeatureExtractor(speech_embedding_spec(), RATE)(torch.from_numpy(speech[:10 * RATE]))


def standardiser(steps: torch.Tensor, stream: StreamNorm | None) -> Normaliser:
    x = steps.numpy()
    return Normaliser(x.mean(1).astype(np.float32), x.std(1).astype(np.float32) + 0.1, stream)


@pytest.mark.parametrize("kind", ["mean", "mean_std", "mean_l2"])
def test_a_constant_offset_on_every_step_leaves_the_normalised_steps_unchanged(steps, kind):
    offset = torch.from_numpy(np.random.default_rng(1).normal(0, 5, (steps.shape[0], 1)).astype(np.float32))
    plain, norm = standardiser(steps, None), standardiser(steps, StreamNorm(kind, DECAY))
    np.testing.assert_allclose(norm(steps + offset).numpy(), norm(steps).numpy(), atol=2e-4)
    assert (plain(steps + offset) - plain(steps)).abs().max() > 1.0  # the global standardisation keeps it


def test_mean_std_also_removes_a_gain_on_every_step(steps):
    norm = standardiser(steps, StreamNorm("mean_std", DECAY))
    # a gain on the standardised steps' deviations from the global mean: (x - m) * 2 + m
    scaled = (steps - torch.as_tensor(norm.mean)[:, None]) * 2 + torch.as_tensor(norm.mean)[:, None]
    got, want = norm(scaled)[:, 20:], norm(steps)[:, 20:]  # after the pseudo-step's weight has faded
    assert (got - want).abs().mean() < 0.05 * want.abs().mean()


def test_running_mean_is_causal_and_follows_its_recursion(steps):
    norm = StreamNorm("mean", DECAY)
    x = steps[None].double()
    changed = x.clone()
    changed[..., 60:] += 3.0
    assert torch.equal(norm(x)[..., :60], norm(changed)[..., :60])  # later steps do not reach earlier ones
    # m_t = (d S_{t-1} m_{t-1} + x_t) / (d S_{t-1} + 1), S_t = d S_{t-1} + 1
    a = x[0].numpy()
    m, total, want = np.zeros(a.shape[0]), 0.0, np.zeros_like(a)
    for t in range(a.shape[1]):
        m = (DECAY * total * m + a[:, t]) / (DECAY * total + 1)
        total = DECAY * total + 1
        want[:, t] = a[:, t] - m
    np.testing.assert_allclose(norm(x)[0].numpy(), want, atol=1e-9)
    assert torch.equal(norm(x)[..., 0], torch.zeros_like(x[..., 0]))  # the first step is its own mean


def test_plain_running_mean_and_l2():
    x = torch.from_numpy(np.random.default_rng(2).normal(3, 1, (2, 8, 30)))
    mean = StreamNorm("mean", 1.0)(x)
    want = x - torch.cumsum(x, -1) / torch.arange(1, 31)
    np.testing.assert_allclose(mean.numpy(), want.numpy(), atol=1e-9)
    l2 = StreamNorm("l2", 1.0)(x)
    np.testing.assert_allclose(l2.norm(dim=-2).numpy(), np.full((2, 30), math.sqrt(8)), rtol=1e-9)
    np.testing.assert_allclose(StreamNorm("l2", 1.0)(x * 7).numpy(), l2.numpy(), atol=1e-9)


def test_params_name_the_normalisation_and_reject_bad_values():
    assert stream_norm_from_params("none", 3.0, 0.08) is None
    assert stream_norm_from_params("mean", 3.0, 0.08) == StreamNorm("mean", DECAY)
    assert stream_norm_from_params("mean_std", None, 0.08).decay == 1.0
    with pytest.raises(ValueError, match="stream normalisation 'median'"):
        StreamNorm("median", 0.5)
    with pytest.raises(ValueError, match="decay"):
        StreamNorm("mean", 0.0)


def test_a_checkpoint_without_it_normalises_as_before_and_one_with_it_round_trips(steps):
    meta = {"mean": steps.mean(1).tolist(), "std": (steps.std(1) + 0.1).tolist(), "hop": 1280, "sample_rate": RATE}
    old = normaliser(meta)  # a checkpoint's normaliser before the option existed: mean and std only
    assert old.stream is None
    want = (steps - torch.tensor(meta["mean"])[:, None]) / torch.tensor(meta["std"])[:, None]
    np.testing.assert_allclose(old(steps).numpy(), want.numpy(), atol=1e-5)
    assert stream_meta(ModelParams(), meta) == {}  # off: the checkpoint's normaliser is what it was
    on = stream_meta(ModelParams(stream_norm="mean_std", stream_norm_s=3.0), meta)
    assert normaliser({**meta, **on}).stream == StreamNorm("mean_std", DECAY)


def test_streaming_a_long_file_gives_its_windows_scores_as_clips(tmp_path, speech):
    """`detect` and evaluate's sessions stream windows half a window apart; with the stream
    normalisation each window is normalised alone, as the clip it is, so the shared-features
    stream equals scoring each window's audio as a clip, and differs from no normalisation."""
    path = write_audio(tmp_path / "speech.wav", speech, RATE, subtype="PCM_16")
    spec = speech_embedding_spec()
    torch.manual_seed(0)
    model = TriggerWordModel(TriggerWordConfig(n_freq=spec.n_bins, conv_filters=32, conv_kernel=1, conv_stride=1,
                                               gru_units=24))
    steps = FeatureExtractor(spec, RATE)(torch.from_numpy(speech[:10 * RATE]))
    with_norm = Scorer(model, spec, standardiser(steps, StreamNorm("mean_std", DECAY)))
    t_clips, p_clips = score_file(path, with_norm, 10.0, per_window=True)  # each window's audio as a clip
    t_stream, p_stream = score_file(path, with_norm, 10.0)
    np.testing.assert_allclose(t_stream, t_clips, atol=1e-9)
    np.testing.assert_allclose(p_stream, p_clips, atol=2e-5)
    assert t_stream[0] < 0.2 and t_stream[-1] > 25.5 and (np.diff(t_stream) > 0).all()  # each step once
    _, p_plain = score_file(path, Scorer(model, spec, standardiser(steps, None)), 10.0)
    assert np.abs(p_plain - p_stream).max() > 1e-2
