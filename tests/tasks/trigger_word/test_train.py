from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tasks.trigger_word.modeling import after_negatives
from tasks.trigger_word.train import SpecAugment, lr_factor, train_one_epoch


def test_warmup_rises_linearly_to_the_base_rate():
    assert [lr_factor(s, 100, 4, "cosine") for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert [lr_factor(s, 100, 4, "constant") for s in range(4)] == [0.25, 0.5, 0.75, 1.0]


def test_constant_schedule_stays_at_the_base_rate():
    assert {lr_factor(s, 100, 0, "constant") for s in range(100)} == {1.0}


def test_cosine_schedule_falls_from_one_to_zero_monotonically():
    f = [lr_factor(s, 100, 10, "cosine") for s in range(10, 101)]
    assert f[0] == 1.0 and f[-1] == pytest.approx(0.0, abs=1e-12)
    assert f[45] == pytest.approx(0.5)  # halfway through the decay
    assert all(a >= b for a, b in zip(f, f[1:], strict=False))


def test_cosine_schedule_drives_a_real_optimiser():
    """Through LambdaLR, the optimiser's rate follows the factor step by step."""
    w = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([w], lr=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, 20, 0, "cosine"))
    rates = []
    for _ in range(20):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert rates[0] == pytest.approx(0.1)
    assert rates[10] == pytest.approx(0.1 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)


def test_spec_augment_masks_whole_bands_and_spans_with_zeros():
    x = torch.ones(3, 40, 200)
    SpecAugment(freq_masks=1, freq_width=6, time_masks=1, time_width=10)(x, np.random.default_rng(0))
    for clip in x:
        zero_bins = (clip == 0).all(dim=1).sum().item()
        zero_frames = (clip == 0).all(dim=0).sum().item()
        assert zero_bins <= 6 and zero_frames <= 10
        # every zero lies in a fully masked band or span
        masked = (clip == 0).all(dim=1)[:, None] | (clip == 0).all(dim=0)[None, :]
        assert torch.equal(clip == 0, masked)


def test_spec_augment_is_a_function_of_the_generator():
    a = torch.randn(2, 40, 100)
    b = a.clone()
    aug = SpecAugment(2, 6, 2, 10)
    aug(a, np.random.default_rng(5))
    aug(b, np.random.default_rng(5))
    assert torch.equal(a, b)


def test_feature_noise_has_its_spread_and_draws_nothing_when_off():
    x = torch.zeros(4, 96, 125)
    rng = np.random.default_rng(2)
    SpecAugment(noise_std=0.0)(x, rng)
    assert torch.equal(x, torch.zeros_like(x)) and rng.random() == np.random.default_rng(2).random()
    SpecAugment(time_masks=1, time_width=3, noise_std=0.5)(x, np.random.default_rng(3))
    noisy = x[x != 0]
    assert noisy.numel() > 0.9 * x.numel() and float(noisy.std()) == pytest.approx(0.5, rel=0.02)
    assert abs(float(noisy.mean())) < 0.01  # masks still set the mean (0) after the noise


def clips_frame(events_per_clip: list[list[tuple[str, int]]], samples: int = 160_000, rate: int = 16_000):
    """A clips manifest with the given (kind, end sample) events, all in the train split."""
    import pandas as pd

    return pd.DataFrame({
        "split": "train", "samples": samples, "sample_rate": rate,
        "events": [[{"kind": k, "end": e} for k, e in evs] for evs in events_per_clip],
    })


def test_after_negatives_marks_the_window_after_each_negative_end_only():
    ty = 122  # 10 s: 12.2 steps per second, so 0.5 s is ceil(6.1) = 7 steps
    clips = clips_frame([[("negative", 80_000), ("positive", 120_000)], [], [("negative", 159_999)]])
    hard = after_negatives(clips, "train", ty, 0.5)
    e = 80_000 * ty // 160_000  # 61: the label rule's step for an end sample
    assert np.flatnonzero(hard[0]).tolist() == list(range(e + 1, e + 8))
    assert not hard[1].any()
    assert not hard[2].any()  # a word ending at the last sample has no step after it


class _Shards:
    """Eight random clips of 10 x 60 features with ones at steps 3-4 of 14."""

    def __init__(self):
        g = np.random.default_rng(0)
        self.x = g.standard_normal((8, 10, 60)).astype(np.float16)
        self.y = np.zeros((8, 14), np.uint8)  # (60 - 5) // 4 + 1 steps
        self.y[:, 3:5] = 1

    def __len__(self):
        return 8

    def __getitem__(self, i):
        return self.x[i], self.y[i]


def _tiny_model():
    from models.trigger_word import TriggerWordConfig, TriggerWordModel
    from tasks.trigger_word.inference import Normaliser

    torch.manual_seed(0)
    config = TriggerWordConfig(n_freq=10, conv_filters=8, conv_kernel=5, conv_stride=4, gru_units=6)
    return TriggerWordModel(config), Normaliser(np.zeros(10, np.float32), np.ones(10, np.float32))


def test_step_weights_change_what_an_epoch_learns():
    """Weighing up steps makes a different (and seeded: repeatable) training step."""
    weights = np.ones((8, 14), np.float32)
    weights[:, 6:9] = 5.0

    def one_epoch(step_weights):
        model, norm = _tiny_model()
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        loss = train_one_epoch(model, _Shards(), norm, opt, 4, np.random.default_rng(1), SpecAugment(),
                               step_weights=step_weights)
        return loss, torch.cat([p.detach().flatten() for p in model.parameters()])

    plain, weighted, again = one_epoch(None), one_epoch(weights), one_epoch(weights)
    assert weighted[0] > plain[0]  # the weighted steps add to the loss
    assert not torch.equal(plain[1], weighted[1])
    assert torch.equal(weighted[1], again[1])


def test_moving_average_follows_every_step_weights_and_batchnorm_statistics():
    model, norm = _tiny_model()
    decay = 0.9
    average = torch.optim.swa_utils.AveragedModel(
        model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(decay), use_buffers=True)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    after: list[dict[str, torch.Tensor]] = []  # the trained model's state after each step
    train_one_epoch(model, _Shards(), norm, opt, 4, np.random.default_rng(1), SpecAugment(), average=average,
                    on_batch=lambda n: after.append({k: v.clone() for k, v in model.state_dict().items()}))
    assert len(after) == 2
    for name, value in average.module.state_dict().items():
        if not value.is_floating_point():
            continue
        expected = decay * after[0][name] + (1 - decay) * after[1][name]  # the first step is copied
        torch.testing.assert_close(value, expected, rtol=1e-5, atol=1e-6)
        if "running_mean" in name:
            assert not torch.allclose(value, after[1][name])  # BatchNorm statistics are averaged too


def test_mixup_mixes_features_and_labels_alike_and_is_seeded():
    from tasks.trigger_word.train import mixup

    g = np.random.default_rng(0)
    x = torch.from_numpy(g.standard_normal((6, 4, 10)).astype(np.float32))
    y = torch.from_numpy((g.random((6, 10)) > 0.7).astype(np.float32))
    mx, my = mixup(x, y, 0.4, np.random.default_rng(3))
    again = mixup(x, y, 0.4, np.random.default_rng(3))
    assert torch.equal(mx, again[0]) and torch.equal(my, again[1])
    rng = np.random.default_rng(3)
    lam, other = rng.beta(0.4, 0.4, size=6).astype(np.float32), rng.permutation(6)
    for i in range(6):
        torch.testing.assert_close(mx[i], lam[i] * x[i] + (1 - lam[i]) * x[other[i]])
        torch.testing.assert_close(my[i], lam[i] * y[i] + (1 - lam[i]) * y[other[i]])
    assert ((my >= 0) & (my <= 1)).all() and not torch.equal(mx, x)


def test_window_head_trains_through_train_one_epoch_and_its_loss_falls():
    from models.trigger_word_window import WindowHead, WindowHeadConfig
    from tasks.trigger_word.inference import Normaliser

    class Frames(_Shards):  # labels one per frame, after a bump in the features
        def __init__(self):
            super().__init__()
            self.x = self.x.astype(np.float32)
            self.y = np.zeros((8, 60), np.uint8)
            self.x[:4, :3, 20:26] += 3.0
            self.y[:4, 26:30] = 1

    torch.manual_seed(0)
    model = WindowHead(WindowHeadConfig(n_freq=10, window=8, units=16, layers=2, dropout=0.0))
    norm = Normaliser(np.zeros(10, np.float32), np.ones(10, np.float32))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(1)
    losses = [train_one_epoch(model, Frames(), norm, opt, 4, rng, SpecAugment(), smoothing=0.05,
                              mixup_alpha=0.2) for _ in range(15)]
    assert losses[-1] < 0.5 * losses[0]


def test_relabel_reproduces_the_clips_labels_and_moves_them():
    import pandas as pd

    from tasks.trigger_word.modeling import relabel
    from tasks.trigger_word.synth import labels_for
    from tasks.trigger_word.train import Relabelled

    ends = [[30000, 101000], [5000]]
    clips = pd.DataFrame({"split": ["train", "train", "dev"], "samples": [160000] * 3,
                          "events": [[{"kind": "positive", "end": e} for e in ends[0]] + [{"kind": "negative", "end": 9}],
                                     [{"kind": "positive", "end": ends[1][0]}], [{"kind": "positive", "end": 7}]]})
    same = relabel(clips, "train", 125, 1, 5)
    assert [list(r) for r in same] == [list(labels_for(e, 160000, 125, 5)) for e in ends]
    early = relabel(clips, "train", 125, -2, 4)  # from 2 steps before the end step
    e = 30000 * 125 // 160000
    assert np.flatnonzero(early[0])[:4].tolist() == [e - 2, e - 1, e, e + 1]
    assert relabel(clips, "dev", 125, -3, 2).sum() == 0  # a run wholly before the clip's start
    wrapped = Relabelled(_Shards(), np.ones((8, 14), np.uint8))
    assert len(wrapped) == 8 and wrapped[3][1].sum() == 14 and wrapped[3][0].shape == (10, 60)
