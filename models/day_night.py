"""The lecture's day vs night model: a shallow CNN with one sigmoid output.

A few conv blocks, then global average *and* max pooling (the max keeps small bright
things such as lamps, lit windows and stars that an average would wash out), then a single
logit; ``sigmoid(logit)`` is the probability of the positive class (night). Train it with
:func:`models.losses.logistic_loss`. The pooling makes it work at any input resolution,
which is what the resolution sweep needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class DayNightConfig:
    channels: tuple[int, ...] = (16, 32, 64)  # output channels of each conv block
    in_channels: int = 3
    dropout: float = 0.2  # before the output layer


class DayNightCNN(nn.Module):
    """``(B, 3, R, R)`` normalised images -> ``(B,)`` logits of the positive class."""

    def __init__(self, config: DayNightConfig):
        super().__init__()
        self.config = config
        blocks: list[nn.Module] = []
        c_in = config.in_channels
        for c in config.channels:
            blocks += [nn.Conv2d(c_in, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True),
                       nn.MaxPool2d(2, ceil_mode=True)]
            c_in = c
        self.features = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(2 * c_in, 1))

    def forward(self, x: Tensor) -> Tensor:
        f = self.features(x)  # (B, C, R / 2^k, R / 2^k)
        pooled = torch.cat([f.mean(dim=(2, 3)), f.amax(dim=(2, 3))], dim=1)  # (B, 2C)
        return self.head(pooled).squeeze(1)  # (B,)
