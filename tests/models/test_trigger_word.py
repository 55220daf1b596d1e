"""The trigger-word model: shapes, loss, learning, and the checkpoint round trip."""

from __future__ import annotations

import json

import pytest
import torch

from models.checkpoint import CheckpointError, load_model, save_model, torch_load_weights
from models.losses import sequence_loss
from models.trigger_word import TriggerWordConfig, TriggerWordModel

SMALL = TriggerWordConfig(n_freq=20, conv_filters=16, gru_units=12)


@pytest.mark.parametrize("frames", [15, 16, 100, 998, 5511])
def test_output_has_ty_steps_for_any_length(frames):
    model = TriggerWordModel(SMALL).eval()
    out = model(torch.randn(2, 20, frames))
    assert out.shape == (2, SMALL.output_steps(frames)) == (2, (frames - 15) // 4 + 1)


def test_lecture_config_maps_5511_frames_to_1375_steps():
    assert TriggerWordConfig().output_steps(5511) == 1375


def test_streaming_state_continues_the_sequence():
    """Scoring in two pieces with the GRU state carried over equals scoring in one (eval mode)."""
    torch.manual_seed(0)
    model = TriggerWordModel(SMALL).eval()
    x = torch.randn(1, 20, 15 + 4 * 39)  # 40 steps
    whole = model(x)
    first, state = model.forward_stateful(x[..., : 15 + 4 * 19])  # steps 0-19
    second, _ = model.forward_stateful(x[..., 4 * 20:], state)  # steps 20-39
    assert torch.allclose(torch.cat([first, second], 1), whole, atol=1e-5)


def test_sequence_loss_sums_over_steps_and_averages_over_clips():
    logits = torch.zeros(2, 5)  # p = 0.5 everywhere: each step costs log 2
    targets = torch.tensor([[0, 0, 1, 1, 0], [0, 0, 0, 0, 0]], dtype=torch.float32)
    assert sequence_loss(logits, targets).item() == pytest.approx(5 * torch.log(torch.tensor(2.0)).item())


def test_sequence_loss_weighs_each_step():
    logits = torch.zeros(2, 5)
    targets = torch.zeros(2, 5)
    weight = torch.ones(2, 5)
    weight[0, 1:3] = 4.0  # two steps of clip 0 count four times: 11 + 5 steps' worth over 2 clips
    log2 = torch.log(torch.tensor(2.0)).item()
    assert sequence_loss(logits, targets, weight=weight).item() == pytest.approx(16 * log2 / 2)


def test_one_training_step_reduces_the_loss():
    torch.manual_seed(0)
    model = TriggerWordModel(SMALL)
    x = torch.randn(8, 20, 100)
    y = torch.zeros(8, SMALL.output_steps(100))
    y[:, 10:13] = 1
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    before = sequence_loss(model(x), y)
    opt.zero_grad()
    before.backward()
    opt.step()
    with torch.no_grad():
        after = sequence_loss(model(x), y).item()  # same mode (train), one Adam step later
    assert after < before.item()


def test_checkpoint_round_trip(tmp_path):
    torch.manual_seed(0)
    model = TriggerWordModel(SMALL).eval()
    save_model(tmp_path, model, SMALL, meta={"threshold": 0.7}, card="# card\n")
    loaded, doc = load_model(tmp_path, TriggerWordModel, TriggerWordConfig)
    x = torch.randn(1, 20, 200)
    assert torch.equal(loaded(x), model(x))
    assert doc["threshold"] == 0.7 and loaded.config == SMALL
    # The weights file loads without pickle through safetensors, and as a plain state dict too.
    torch.save(model.state_dict(), tmp_path / "weights.pt")
    assert set(torch_load_weights(tmp_path / "weights.pt")) == set(model.state_dict())


def test_loading_a_checkpoint_from_other_code_fails_clearly(tmp_path):
    save_model(tmp_path, TriggerWordModel(SMALL), SMALL)
    doc = json.loads((tmp_path / "config.json").read_text())
    doc["model_config"]["attention_heads"] = 4
    (tmp_path / "config.json").write_text(json.dumps(doc))
    with pytest.raises(CheckpointError, match="attention_heads.*different version"):
        load_model(tmp_path, TriggerWordModel, TriggerWordConfig)
    del doc["model_config"]["attention_heads"]
    doc["model_config"]["gru_units"] = 13  # config says one size, weights hold another
    (tmp_path / "config.json").write_text(json.dumps(doc))
    with pytest.raises(CheckpointError, match="weights do not fit"):
        load_model(tmp_path, TriggerWordModel, TriggerWordConfig)


def test_label_smoothing_trains_on_soft_targets():
    """With smoothing e, a one is trained towards 1 - e/2 and a zero towards e/2."""
    logits = torch.tensor([[2.0, -1.0]])
    targets = torch.tensor([[1.0, 0.0]])
    e = 0.2
    soft = torch.tensor([[1 - e / 2, e / 2]])
    expected = torch.nn.functional.binary_cross_entropy_with_logits(logits, soft, reduction="sum").item()
    assert sequence_loss(logits, targets, smoothing=e).item() == pytest.approx(expected)


def test_focal_loss_weighs_each_step_by_how_wrong_it_is():
    logits = torch.tensor([[2.0, 0.0]])  # p = 0.881 (right for a one), 0.5
    targets = torch.tensor([[1.0, 0.0]])
    p = torch.sigmoid(logits)[0]
    terms = [-torch.log(p[0]) * (1 - p[0]) ** 2, -torch.log(1 - p[1]) * p[1] ** 2]
    assert sequence_loss(logits, targets, focal_gamma=2.0).item() == pytest.approx(sum(t.item() for t in terms))
    assert sequence_loss(logits, targets, focal_gamma=0.0).item() == pytest.approx(sequence_loss(logits, targets).item())


def test_max_pooling_loss_counts_each_run_of_ones_by_its_best_step():
    logits = torch.tensor([[0.0, 3.0, -1.0, 0.0, 2.0, 0.5], [1.0, 0.0, 0.0, 0.0, 0.0, 0.0]])
    targets = torch.tensor([[0, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0]], dtype=torch.float32)
    sp = torch.nn.functional.softplus
    zeros = sp(torch.tensor([0.0, 0.0, 0.5])).sum() + sp(torch.tensor([1.0] + [0.0] * 5)).sum()
    runs = 2 * sp(torch.tensor(-3.0)) + 1 * sp(torch.tensor(-2.0))  # run 1: its max 3.0, twice; run 2: 2.0
    assert sequence_loss(logits, targets, pool_positives=True).item() == pytest.approx(((zeros + runs) / 2).item())
    # the gradient of a run reaches its best step only
    x = logits.clone().requires_grad_(True)
    sequence_loss(x, targets, pool_positives=True).backward()
    assert x.grad[0, 2] == 0 and x.grad[0, 1] < 0
