"""The window head: one step per frame, causal over a fixed window, it learns, it round-trips,
and the head registry rebuilds whichever head a checkpoint holds."""

from __future__ import annotations

import pytest
import torch

from models.checkpoint import CheckpointError, save_model
from models.losses import sequence_loss
from models.trigger_word import TriggerWordConfig, TriggerWordModel
from models.trigger_word_heads import build_head, load_head
from models.trigger_word_window import WindowHead, WindowHeadConfig

SMALL = WindowHeadConfig(n_freq=20, window=6, units=16, layers=2)


@pytest.mark.parametrize("frames", [1, 5, 6, 125, 400])
def test_one_step_per_frame(frames):
    model = WindowHead(SMALL).eval()
    assert model(torch.randn(3, 20, frames)).shape == (3, frames) == (3, SMALL.output_steps(frames))


def test_a_step_hears_its_window_and_nothing_else():
    """Changing frame f moves steps f .. f + window - 1 and no other (eval mode: no dropout)."""
    torch.manual_seed(0)
    model = WindowHead(SMALL).eval()
    x = torch.randn(1, 20, 40)
    y = x.clone()
    y[0, :, 20] += 3.0
    moved = (model(x) - model(y)).abs()[0] > 1e-6
    assert moved.nonzero().flatten().tolist() == list(range(20, 20 + SMALL.window))


def test_the_step_clock_reads_it_as_a_kernel_of_one():
    assert (SMALL.conv_kernel, SMALL.conv_stride) == (1, 1)


def test_fewer_parameters_than_the_gru_head_at_the_shipped_sizes():
    window = WindowHead(WindowHeadConfig(n_freq=96, window=16, units=64, layers=2))
    gru = TriggerWordModel(TriggerWordConfig(n_freq=96, conv_filters=128, conv_kernel=1, conv_stride=1,
                                             gru_units=96, gru_layers=2))
    n_window, n_gru = (sum(p.numel() for p in m.parameters()) for m in (window, gru))
    assert n_window == 96 * 16 * 64 + 64 + 64 * 64 + 64 + 2 * 2 * 64 + 64 + 1
    assert n_window < 0.8 * n_gru


def test_training_steps_reduce_the_loss():
    torch.manual_seed(0)
    model = WindowHead(SMALL)
    x = torch.randn(8, 20, 60)
    y = torch.zeros(8, 60)
    y[:4, 30:34] = 1
    x[:4, :5, 25:30] += 2.0  # the "word": a bump just before the ones
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    losses = []
    for _ in range(20):
        loss = sequence_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize("config", [SMALL, TriggerWordConfig(n_freq=20, conv_filters=8, gru_units=8)])
def test_load_head_rebuilds_either_head_with_the_same_scores(tmp_path, config):
    torch.manual_seed(0)
    model = build_head(config).eval()
    save_model(tmp_path, model, config, meta={"threshold": 0.6})
    loaded, doc = load_head(tmp_path)
    x = torch.randn(2, 20, 130)
    assert type(loaded) is type(model) and loaded.config == config and doc["threshold"] == 0.6
    assert torch.equal(loaded(x), model(x))


def test_load_head_refuses_another_architecture_naming_the_file(tmp_path):
    from models.day_night import DayNightCNN, DayNightConfig

    config = DayNightConfig(channels=(4, 8))
    save_model(tmp_path, DayNightCNN(config), config)
    with pytest.raises(CheckpointError, match=r"config\.json: architecture 'DayNightCNN'.*TriggerWordModel, WindowHead"):
        load_head(tmp_path)


def test_build_head_refuses_an_unknown_config():
    with pytest.raises(TypeError, match="no trigger-word head"):
        build_head(object())
