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
from models.losses import batch_semi_hard_triplet_loss
from tasks.faces.train import TrainSettings, deterministic, pk_batches, violating_share


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
        opt = torch.optim.AdamW(model.parameters(), lr=s.lr, weight_decay=s.weight_decay)
        rng = np.random.default_rng([seed, 5002])
        gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
        data = torch.nn.functional.normalize(torch.from_numpy(np.ascontiguousarray(vectors, np.float32)), dim=1)
        target = torch.from_numpy(labels.astype(np.int64))
        history: list[dict] = []
        losses, active = [], []
        for step, idx in enumerate(pk_batches(labels, s.people_per_batch, s.photos_per_person, s.steps, rng)):
            lr = s.lr * min(1.0, (step + 1) / s.warmup_steps) * 0.5 * (1 + math.cos(math.pi * step / s.steps))
            for group in opt.param_groups:
                group["lr"] = lr
            model.train()
            x = data[idx] + torch.randn(len(idx), data.shape[1], generator=gen) * noise  # (P*K, D)
            emb = model(x)
            loss = batch_semi_hard_triplet_loss(emb, target[idx], s.margin)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
            active.append(violating_share(emb, target[idx], s.margin))
            if (step + 1) % s.log_every == 0 or step + 1 == s.steps:
                row = {"step": step + 1, "loss": float(np.mean(losses)), "violating": float(np.mean(active)), "lr": lr}
                if evaluate is not None:
                    row |= evaluate(model.eval())
                history.append(row)
                losses, active = [], []
                if on_step is not None:
                    on_step(step + 1, row)
        return model.eval(), history
