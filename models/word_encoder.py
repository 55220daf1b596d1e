"""A word encoder: a window of frozen speech_embedding steps -> one unit-length vector per word.

    window (B, W, 96) -> LayerNorm -> Linear(hidden) -> GELU -> bidirectional GRU(hidden)
      -> attention pooling over the W steps -> Linear(dim) -> L2 normalisation

Trained with the triplet loss (``models.losses.batch_semi_hard_triplet_loss``): windows of the
same word said by different voices end up close, different words far, so a word it never saw
can be enrolled from a few takes (the mean of their vectors) and found again by cosine
similarity, without retraining. The attention pooling lets the vector ignore the part of the
window before the word starts (silence, or the end of the previous word).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass(frozen=True)
class WordEncoderConfig:
    n_in: int = 96  # values per frontend step (speech_embedding: 96 per 80 ms)
    window: int = 12  # frontend steps per window (12 x 80 ms; each step hears 0.78 s more before it)
    hidden: int = 96  # width of the projection and of each GRU direction
    dim: int = 64  # embedding size
    dropout: float = 0.1


class WordEncoder(nn.Module):
    def __init__(self, config: WordEncoderConfig):
        super().__init__()
        self.config = config
        c = config
        self.norm = nn.LayerNorm(c.n_in)
        self.proj = nn.Linear(c.n_in, c.hidden)
        self.gru = nn.GRU(c.hidden, c.hidden, batch_first=True, bidirectional=True)
        self.attend = nn.Linear(2 * c.hidden, 1)
        self.out = nn.Linear(2 * c.hidden, c.dim)
        self.drop = nn.Dropout(c.dropout)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, W, n_in)`` windows -> ``(B, dim)`` unit vectors."""
        h = self.drop(F.gelu(self.proj(self.norm(x))))  # (B, W, hidden)
        h, _ = self.gru(h)  # (B, W, 2 hidden)
        weights = torch.softmax(self.attend(h), dim=1)  # (B, W, 1)
        pooled = (weights * h).sum(dim=1)  # (B, 2 hidden)
        return F.normalize(self.out(self.drop(pooled)), dim=-1)  # (B, dim)
