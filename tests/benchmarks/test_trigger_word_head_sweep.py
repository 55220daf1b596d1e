"""The head sweep's ensemble: the mean of several heads' per-step outputs, as one head."""

import torch
from torch import nn

from benchmarks.trigger_word_head_sweep import MeanHead


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
