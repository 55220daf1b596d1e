from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tasks.trigger_word.train import SpecAugment, lr_factor


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
