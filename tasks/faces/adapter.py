"""Training a small adapter on top of the pretrained embedding with the semi-hard triplet loss.

The pretrained ResNet already separates real people well; what the user's labelled people
can teach is a correction for their own photos (cameras, lighting, age range). The adapter
(:class:`models.face_encoder.EmbeddingAdapter`) starts as the identity, and the same P x K
batches and loss as the from-scratch encoder move it; the descriptors are computed once
(by the detect stage), so a few hundred steps take seconds. Seeded and deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from models.face_encoder import AdapterConfig, EmbeddingAdapter
from tasks.faces.train import TrainSettings, deterministic, triplet_steps


def train_adapter(vectors: np.ndarray, labels: np.ndarray, config: AdapterConfig, s: TrainSettings, seed: int,
                  noise: float = 0.02, on_step: Callable[[int, dict], None] | None = None,
                  evaluate: Callable[[EmbeddingAdapter], dict] | None = None) -> tuple[EmbeddingAdapter, list[dict]]:
    """Train an adapter on ``(N, D)`` pretrained descriptors with integer person ``labels``.

    ``noise``: standard deviation of Gaussian noise added to each (normalised) descriptor per
    step, the vector-space stand-in for image augmentation. Returns the model (eval mode) and
    the history rows (step, loss, violating, lr, plus ``evaluate(model)``'s keys).
    """
    with deterministic(s.threads):
        torch.manual_seed(seed)
        model = EmbeddingAdapter(config)
        rng = np.random.default_rng([seed, 5002])
        gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
        data = torch.nn.functional.normalize(torch.from_numpy(np.ascontiguousarray(vectors, np.float32)), dim=1)

        def lr_at(step: int) -> float:  # warm-up times cosine decay to 0
            return s.lr * min(1.0, (step + 1) / s.warmup_steps) * 0.5 * (1 + math.cos(math.pi * step / s.steps))

        def inputs(idx: np.ndarray) -> torch.Tensor:  # (P*K, D): descriptors plus Gaussian noise
            return data[idx] + torch.randn(len(idx), data.shape[1], generator=gen) * noise

        history = triplet_steps(model, labels, s, rng, lr_at, inputs, on_step,
                                None if evaluate is None else lambda m: evaluate(m.eval()))
        return model.eval(), history
