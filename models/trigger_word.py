"""The lecture's trigger-word model: Conv1D + BatchNorm + GRUs with a sigmoid at every step.

    features (B, F, T) -> Conv1d(F, filters, kernel, stride) -> BN -> ReLU -> dropout
      -> GRU -> dropout -> BN -> GRU -> dropout -> BN -> dropout -> Linear(1) per step

The convolution turns T spectrogram frames into ``Ty = (T - kernel) // stride + 1`` steps
(5511 -> 1375 with the lecture's kernel 15, stride 4). The GRUs are one-directional, so a
step only depends on the audio before it: the detector can run on a stream. ``forward``
returns logits; a sigmoid gives the per-step probability that the word has just ended.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class TriggerWordConfig:
    n_freq: int = 101  # input feature bins (101 for the lecture's spectrogram)
    conv_filters: int = 196
    conv_kernel: int = 15
    conv_stride: int = 4
    gru_units: int = 128
    gru_layers: int = 2
    dropout: float = 0.2  # drop probability (the course's Keras notebook keeps 20%: Dropout(0.8))

    def output_steps(self, n_frames: int) -> int:
        """Ty for an input of ``n_frames`` frames."""
        return max(0, (n_frames - self.conv_kernel) // self.conv_stride + 1)


class _SeqBatchNorm(nn.BatchNorm1d):
    """BatchNorm over the feature axis of ``(B, T, C)`` sequences."""

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


class TriggerWordModel(nn.Module):
    def __init__(self, config: TriggerWordConfig):
        super().__init__()
        c = config
        self.config = c
        self.conv = nn.Conv1d(c.n_freq, c.conv_filters, c.conv_kernel, stride=c.conv_stride)
        self.conv_bn = nn.BatchNorm1d(c.conv_filters)
        self.drop = nn.Dropout(c.dropout)
        self.grus = nn.ModuleList()
        self.gru_bns = nn.ModuleList()
        size = c.conv_filters
        for _ in range(c.gru_layers):
            self.grus.append(nn.GRU(size, c.gru_units, batch_first=True))
            self.gru_bns.append(_SeqBatchNorm(c.gru_units))
            size = c.gru_units
        self.head = nn.Linear(size, 1)

    def forward(self, x: Tensor, state: list[Tensor] | None = None) -> Tensor:
        """``(B, F, T)`` features -> ``(B, Ty)`` logits."""
        return self.forward_stateful(x, state)[0]

    def forward_stateful(self, x: Tensor, state: list[Tensor] | None = None) -> tuple[Tensor, list[Tensor]]:
        """Like ``forward``, also taking and returning the GRUs' hidden states (for streaming)."""
        h = self.drop(torch.relu(self.conv_bn(self.conv(x))))  # (B, filters, Ty)
        h = h.transpose(1, 2)  # (B, Ty, filters)
        new_state = []
        for i, (gru, bn) in enumerate(zip(self.grus, self.gru_bns, strict=True)):
            h, s = gru(h, None if state is None else state[i])  # (B, Ty, units)
            new_state.append(s)
            h = bn(self.drop(h))
        return self.head(self.drop(h)).squeeze(-1), new_state  # (B, Ty)
