"""A small window head for the frozen speech frontend (openWakeWord's kind): a DNN on the last
``window`` feature frames, one score per frame.

    features (B, F, T) -> left pad window - 1 frames of 0 (the mean, after normalisation)
      -> Conv1d(F, units, window)           # = one Linear on each flattened window
      -> LayerNorm -> ReLU -> dropout
      -> [Linear(units, units) -> LayerNorm -> ReLU -> dropout] x (layers - 1)
      -> Linear(1) per step

Step ``t`` sees frames ``t - window + 1 .. t`` and nothing after, so it ends where frame ``t``
ends, like the GRU head with a kernel of 1 (``conv_kernel`` / ``conv_stride`` below say so to
the step clock): ``T`` frames give ``T`` steps, 125 for a 10-second clip of speech_embedding's
80 ms steps. Fewer parameters than the GRU head (window 16, 64 units: 103k against 134k), no
state, no recurrence: a step's score depends on 1.28 s of embeddings only.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn


@dataclass(frozen=True)
class WindowHeadConfig:
    n_freq: int = 96  # input feature bins (96 for speech_embedding)
    window: int = 16  # frames each step classifies (16 x 80 ms = 1.28 s)
    units: int = 64  # width of each hidden layer
    layers: int = 2  # hidden layers (the first reads the whole window)
    dropout: float = 0.2

    @property
    def conv_kernel(self) -> int:
        """For the step clock: step ``t`` has heard frames up to ``t`` (as a kernel of 1 would)."""
        return 1

    @property
    def conv_stride(self) -> int:
        return 1

    def output_steps(self, n_frames: int) -> int:
        """Ty for an input of ``n_frames`` frames: one step per frame."""
        return max(0, n_frames)


class WindowHead(nn.Module):
    def __init__(self, config: WindowHeadConfig):
        super().__init__()
        c = config
        self.config = c
        self.window = nn.Conv1d(c.n_freq, c.units, c.window)
        self.hidden = nn.ModuleList(nn.Linear(c.units, c.units) for _ in range(c.layers - 1))
        self.norms = nn.ModuleList(nn.LayerNorm(c.units) for _ in range(c.layers))
        self.drop = nn.Dropout(c.dropout)
        self.head = nn.Linear(c.units, 1)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, F, T)`` normalised features -> ``(B, T)`` logits."""
        h = self.window(F.pad(x, (self.config.window - 1, 0)))  # (B, units, T): causal
        h = self.drop(F.relu(self.norms[0](h.transpose(1, 2))))  # (B, T, units)
        for linear, norm in zip(self.hidden, self.norms[1:], strict=True):
            h = self.drop(F.relu(norm(linear(h))))
        return self.head(h).squeeze(-1)  # (B, T)
