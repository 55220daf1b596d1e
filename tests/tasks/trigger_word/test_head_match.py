"""The head's second opinion by query by example: real espeak-ng takes through the real frontend."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.trigger_word import TriggerWordConfig, TriggerWordModel
from tasks.audio import speech_embedding as se
from tasks.audio.features import speech_embedding_spec
from tasks.audio.io import resample
from tasks.audio.noise import make_background
from tasks.audio.tts import Utterance, Voice, speak_batch
from tasks.trigger_word.head_match import (
    MatchedHead,
    MatchFusion,
    coverage_order,
    take_steps,
    to_space,
)
from tasks.trigger_word.inference import Normaliser, Scorer, score_file
from tasks.trigger_word.word_match import template_span
from tests.conftest import write_audio

RATE = se.RATE


@pytest.fixture(scope="module")
def words() -> dict[str, np.ndarray]:
    said = speak_batch([Utterance(t, Voice(a, v)) for t, a, v in (
        ("activate", "en-us", "m3"), ("activate", "en-gb", "f2"), ("activate", "en-us", "f3"),
        ("kitchen lights", "en-us", "f3"))])
    return dict(zip(("m3", "f2", "f3", "other"), (resample(w, sr, RATE) for w, sr in said), strict=True))


@pytest.fixture(scope="module")
def stream(words) -> tuple[np.ndarray, float, float]:
    """12 s of pink noise with "activate" (voice f3, never a template) and another phrase in it;
    returns (audio, the word's end, the phrase's end) in s."""
    x = make_background("pink", 12.0, RATE, np.random.default_rng(5)) * np.float32(0.03)
    at_word, at_other = int(3.0 * RATE), int(8.0 * RATE)
    x[at_word:at_word + len(words["f3"])] += 0.4 * words["f3"]
    x[at_other:at_other + len(words["other"])] += 0.4 * words["other"]
    return x, (at_word + len(words["f3"])) / RATE, (at_other + len(words["other"])) / RATE


def head(seed: int = 0) -> TriggerWordModel:
    torch.manual_seed(seed)
    return TriggerWordModel(TriggerWordConfig(n_freq=se.DIM, conv_filters=16, conv_kernel=1, conv_stride=1,
                                              gru_units=12)).eval()


def normaliser(frontend: se.SpeechEmbedding, stream: np.ndarray) -> Normaliser:
    steps = frontend(stream)  # (96, T): the stream's own statistics stand in for the training set's
    return Normaliser(steps.mean(axis=1), steps.std(axis=1) + 1e-3)


def test_a_template_spans_its_take_and_the_extra_steps(words):
    frontend = se.SpeechEmbedding()
    t0, t4 = take_steps(frontend, words["m3"], 0), take_steps(frontend, words["m3"], 4)
    assert t0.shape[1] == se.DIM and len(t4) == len(t0) + 4 and np.array_equal(t4[:len(t0)], t0)
    a, b = template_span(0, 10 * se.STEP)
    assert len(t0) >= b - a - 2  # at least the take's own steps (its trimmed length)
    with pytest.raises(ValueError, match="unknown match space"):
        to_space(t0, np.zeros(se.DIM), np.ones(se.DIM), "whitened")


@pytest.mark.parametrize("space", ["centred", "standardised"])
def test_the_match_peaks_at_the_end_of_an_unseen_voices_word(words, stream, space):
    frontend = se.SpeechEmbedding()
    audio, word_end, other_end = stream
    norm = normaliser(frontend, audio)
    templates = [to_space(take_steps(frontend, words[v], 4), norm.mean, norm.std, space) for v in ("m3", "f2")]
    model = MatchedHead(head(), templates, norm.mean, norm.std, MatchFusion(1.0, 1.0, space))
    x = norm(torch.from_numpy(frontend(audio))[None])
    m = model.match(x)[0]  # on the head's clock: step j has heard the audio up to (j + 1) * 80 ms
    step_s = se.STEP / RATE
    peak = (int(np.argmax(m)) + 1) * step_s
    assert word_end - 0.2 <= peak <= word_end + 0.6
    near_other = m[int(other_end / step_s) - 8:int(other_end / step_s) + 8].max()
    assert m.max() - near_other > 0.03  # another phrase of the same voice matches less well


def test_weight_zero_is_the_head_and_the_fused_logit_mixes_head_and_match(words, stream):
    frontend = se.SpeechEmbedding()
    audio, _, _ = stream
    norm = normaliser(frontend, audio)
    h = head()
    templates = [to_space(take_steps(frontend, words["m3"], 4), norm.mean, norm.std, "centred")]
    x = norm(torch.from_numpy(frontend(audio))[None])
    with torch.inference_mode():
        alone = h(x)
        assert torch.equal(MatchedHead(h, templates, norm.mean, norm.std, MatchFusion(0.0))(x), alone)
        fusion = MatchFusion(0.4, 2.0, "centred", 0.6, 0.05)
        fused = MatchedHead(h, templates, norm.mean, norm.std, fusion)
        z = (fused.match(x) - 0.6) / 0.05
        assert torch.allclose(fused(x), 0.6 * alone + 0.4 * 2.0 * torch.from_numpy(z).float(), atol=1e-5)


def test_streaming_runs_the_fused_head_like_one_window_at_a_time(tmp_path, words, stream):
    frontend = se.SpeechEmbedding()
    audio, word_end, _ = stream
    norm = normaliser(frontend, audio)
    templates = [to_space(take_steps(frontend, words[v], 4), norm.mean, norm.std, "centred") for v in ("m3", "f2")]
    fused = MatchedHead(head(), templates, norm.mean, norm.std, MatchFusion(0.5, 1.0, "centred", 0.55, 0.08))
    scorer = Scorer(fused, speech_embedding_spec(), norm)
    path = tmp_path / "stream.wav"
    write_audio(path, audio, RATE)
    t_shared, s_shared = score_file(path, scorer, 4.0)
    t_alone, s_alone = score_file(path, scorer, 4.0, per_window=True)
    assert np.allclose(t_shared, t_alone) and np.allclose(s_shared, s_alone, atol=1e-4)
    assert len(s_shared) > 100 and np.all((s_shared >= 0) & (s_shared <= 1))


def test_coverage_picks_one_template_per_cluster_first(words):
    frontend = se.SpeechEmbedding()
    mean, std = np.zeros(se.DIM, np.float32), np.ones(se.DIM, np.float32)
    word = [to_space(take_steps(frontend, words[v], 2), mean, std, "centred") for v in ("m3", "f2", "f3")]
    other = to_space(take_steps(frontend, words["other"], 2), mean, std, "centred")
    order = coverage_order([*word, other], 4)
    assert sorted(order) == [0, 1, 2, 3] and order[0] in (0, 1, 2) and order[-1] != order[0]
    assert coverage_order(word, 2)[0] in (0, 1, 2) and len(set(coverage_order(word, 5))) == 3


def test_the_encoders_opinion_is_its_cosine_at_the_window_end_and_mixes_with_the_match(words, stream):
    from models.word_encoder import WordEncoder, WordEncoderConfig
    from tasks.trigger_word.word_encoder import WindowEmbedder

    frontend = se.SpeechEmbedding()
    audio, _, _ = stream
    norm = normaliser(frontend, audio)
    torch.manual_seed(1)
    embedder = WindowEmbedder(WordEncoder(WordEncoderConfig(window=12, hidden=16, dim=8)).eval())
    raw = frontend(audio)  # (96, T)
    centroid = embedder.embed_steps(raw.T)[40]  # the window ending at step 51
    templates = [to_space(take_steps(frontend, words["m3"], 4), norm.mean, norm.std, "centred")]
    x = norm(torch.from_numpy(raw))[None]
    alone = MatchedHead(head(), templates, norm.mean, norm.std, MatchFusion(1.0, encoder_weight=1.0), embedder,
                        centroid).match(x)[0]
    assert np.all(alone[:11] == 0) and abs(alone[51] - 1.0) < 1e-4  # its own window: cosine 1
    assert np.allclose(alone[11:], (1 + embedder.embed_steps(raw.T) @ centroid) / 2, atol=1e-4)
    match = MatchedHead(head(), templates, norm.mean, norm.std, MatchFusion(1.0)).match(x)[0]
    mixed = MatchedHead(head(), templates, norm.mean, norm.std, MatchFusion(1.0, encoder_weight=0.25), embedder,
                        centroid).match(x)[0]
    assert np.allclose(mixed, 0.25 * alone + 0.75 * match, atol=1e-4)


def test_a_template_over_a_background_hears_it(words):
    from tasks.trigger_word.head_match import over_background

    frontend = se.SpeechEmbedding()
    bg = make_background("brown", 3.0, RATE, np.random.default_rng(2))
    ctx, end = over_background(words["m3"], bg, 5.0)
    assert end == len(ctx) - int(0.6 * RATE) and np.abs(ctx).max() <= 1.0
    quiet, noisy = take_steps(frontend, words["m3"], 2), take_steps(frontend, words["m3"], 2, background=bg, snr_db=5.0)
    assert quiet.shape == noisy.shape and not np.allclose(quiet, noisy, atol=0.1)
