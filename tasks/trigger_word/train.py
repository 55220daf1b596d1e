"""Training the trigger-word model on feature shards: batches, one epoch, dev quality.

``train_one_epoch`` and ``score_split`` follow torchvision's reference scripts: explicit
arguments, no hidden state. Every random choice (batch order, SpecAugment masks, dropout)
comes from generators seeded by the caller.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from models.losses import sequence_loss
from tasks.trigger_word.features import FeatureShards
from tasks.trigger_word.inference import Normaliser


@dataclass(frozen=True)
class SpecAugment:
    """Masks of random frequency bands and time spans (Park et al., 2019); 0 masks = off. And
    Gaussian noise of ``noise_std`` (in normalised units) on every value first; 0 = off (no draw)."""

    freq_masks: int = 0
    freq_width: int = 0
    time_masks: int = 0
    time_width: int = 0
    noise_std: float = 0.0

    def __call__(self, x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        """Noise, then mask normalised features ``(B, F, T)`` in place with 0 (the mean)."""
        b, f, t = x.shape
        if self.noise_std > 0:
            x += torch.from_numpy(rng.standard_normal((b, f, t), dtype=np.float32)) * np.float32(self.noise_std)
        for i in range(b):
            for _ in range(self.freq_masks):
                w = int(rng.integers(0, self.freq_width + 1))
                lo = int(rng.integers(0, max(1, f - w)))
                x[i, lo:lo + w, :] = 0
            for _ in range(self.time_masks):
                w = int(rng.integers(0, self.time_width + 1))
                lo = int(rng.integers(0, max(1, t - w)))
                x[i, :, lo:lo + w] = 0
        return x


class Relabelled:
    """A split's feature shards with other per-step labels (same clips, same order)."""

    def __init__(self, shards: FeatureShards, labels: np.ndarray):
        if len(labels) != len(shards):
            raise ValueError(f"{len(labels)} label rows for {len(shards)} clips")
        self.shards, self.labels = shards, labels

    def __len__(self) -> int:
        return len(self.shards)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        return self.shards[i][0], self.labels[i]


def batches(shards: FeatureShards, norm: Normaliser, batch_size: int, rng: np.random.Generator | None
            ) -> Iterator[tuple[torch.Tensor, torch.Tensor, np.ndarray]]:
    """``(x (B, F, T) float32 normalised, y (B, Ty) float32, indices)``; shuffled when ``rng`` is given."""
    order = rng.permutation(len(shards)) if rng is not None else np.arange(len(shards))
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        items = [shards[int(i)] for i in idx]
        x = torch.from_numpy(np.stack([a for a, _ in items]).astype(np.float32))
        y = torch.from_numpy(np.stack([b for _, b in items]).astype(np.float32))
        yield norm(x), y, idx


def mixup(x: torch.Tensor, y: torch.Tensor, alpha: float, rng: np.random.Generator
          ) -> tuple[torch.Tensor, torch.Tensor]:
    """Mixup (Zhang et al., 2018): each clip becomes ``l x_i + (1 - l) x_j`` with ``j`` another
    clip of the batch and ``l ~ Beta(alpha, alpha)`` per clip, its labels mixed the same way
    (soft per-step targets). ``x``: ``(B, F, T)``, ``y``: ``(B, Ty)``."""
    lam = torch.from_numpy(rng.beta(alpha, alpha, size=len(x)).astype(np.float32))
    other = torch.from_numpy(rng.permutation(len(x)))
    return (lam[:, None, None] * x + (1 - lam[:, None, None]) * x[other],
            lam[:, None] * y + (1 - lam[:, None]) * y[other])


def lr_factor(step: int, total_steps: int, warmup_steps: int, schedule: str) -> float:
    """Multiplier of the base learning rate at optimisation step ``step`` (0-based).

    ``constant``: 1 after a linear warm-up; ``cosine``: the warm-up, then half a cosine from 1
    down to 0 at ``total_steps``, so the last epochs take small steps and the weights settle.
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def train_one_epoch(model: nn.Module, shards: FeatureShards, norm: Normaliser, optimizer: torch.optim.Optimizer,
                    batch_size: int, rng: np.random.Generator, augment: SpecAugment,
                    pos_weight: float | None = None, on_batch=None,
                    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
                    step_weights: np.ndarray | None = None,
                    average: torch.optim.swa_utils.AveragedModel | None = None,
                    smoothing: float = 0.0, focal_gamma: float = 0.0, mixup_alpha: float = 0.0,
                    pool_positives: bool = False) -> float:
    """One pass over the training shards; returns the mean per-clip loss.

    ``scheduler``, when given, steps after every optimisation step, and so does ``average``
    (a running average of the weights, e.g. an exponential moving average). ``step_weights``
    (``(N, Ty)``, aligned with ``shards``) weighs each clip's per-step loss terms.
    ``smoothing``, ``focal_gamma`` and ``pool_positives`` go to :func:`sequence_loss`; ``mixup_alpha`` > 0 mixes
    each clip's features and labels with another clip's of the batch (:func:`mixup`).
    """
    model.train()
    total, count = 0.0, 0
    for x, y, idx in batches(shards, norm, batch_size, rng):
        augment(x, rng)
        if mixup_alpha:
            x, y = mixup(x, y, mixup_alpha, rng)
        weight = None if step_weights is None else torch.from_numpy(step_weights[idx])
        loss = sequence_loss(model(x), y, pos_weight, weight, smoothing, focal_gamma, pool_positives)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        if average is not None:
            average.update_parameters(model)
        total += loss.item() * len(y)
        count += len(y)
        if on_batch is not None:
            on_batch(len(y))
    return total / max(count, 1)


@torch.inference_mode()
def score_split(model: nn.Module, shards: FeatureShards, norm: Normaliser, batch_size: int = 32
                ) -> tuple[np.ndarray, float]:
    """Per-step probabilities ``(N, Ty)`` for every clip of a split, and the mean loss."""
    model.eval()
    probs, total = [], 0.0
    for x, y, _ in batches(shards, norm, batch_size, None):
        logits = model(x)
        total += float(sequence_loss(logits, y)) * len(y)
        probs.append(torch.sigmoid(logits).numpy())
    return np.concatenate(probs), total / max(len(shards), 1)
