"""Training the face encoder: P x K batches, augmentation, semi-hard triplet loss.

Seeded and deterministic on the CPU: batches and augmentation draw from generators seeded
by the pipeline's seed, the thread count is fixed, and deterministic algorithms are
enforced, so the same params give the same weights, byte for byte.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from models.face_encoder import FaceEncoder, FaceEncoderConfig, embed
from models.losses import batch_semi_hard_triplet_loss

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Augment:
    """Random changes applied to each training crop (all off = zero / 1)."""

    rotate_deg: float = 10.0  # in-plane rotation, +- degrees
    scale: float = 0.1  # zoom, +- share
    shift: float = 0.06  # translation, +- share of the side
    flip: bool = True  # mirror left-right with probability 0.5
    brightness: float = 0.3  # exposure gain, +- share
    contrast: float = 0.3  # contrast gain, +- share
    color: float = 0.15  # per-channel gain (white balance), +- share
    noise: float = 4.0  # Gaussian pixel noise, standard deviation in 0-255 units


@dataclass(frozen=True)
class TrainSettings:
    """Optimisation settings (the ``faces.train`` params, as plain values)."""

    steps: int = 600
    people_per_batch: int = 16  # P
    photos_per_person: int = 4  # K
    lr: float = 2e-3
    weight_decay: float = 1e-4
    margin: float = 0.2
    warmup_steps: int = 30
    threads: int = 1
    log_every: int = 50
    augment: Augment = Augment()


def pk_batches(labels: np.ndarray, p: int, k: int, steps: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Index arrays of ``p`` people x ``k`` photos each (photos drawn with replacement only when
    a person has fewer than ``k``); people with a single photo cannot form a positive pair and are skipped."""
    by_person = [np.flatnonzero(labels == lab) for lab in np.unique(labels)]
    by_person = [idx for idx in by_person if len(idx) >= 2]
    if len(by_person) < 2:
        raise ValueError(f"need at least 2 people with 2+ photos to train, got {len(by_person)}")
    p = min(p, len(by_person))
    for _ in range(steps):
        people = rng.choice(len(by_person), size=p, replace=False)
        yield np.concatenate([rng.choice(by_person[i], size=k, replace=len(by_person[i]) < k) for i in people])


def violating_share(emb: Tensor, target: Tensor, margin: float) -> float:
    """Share of anchors whose hardest positive is not ``margin`` closer than their closest negative."""
    with torch.no_grad():
        d = torch.cdist(emb, emb).pow(2)  # (B, B)
        same = target[:, None] == target[None, :]
        hardest_pos = torch.where(same, d, torch.zeros_like(d)).max(dim=1).values
        closest_neg = torch.where(same, torch.full_like(d, 9.0), d).min(dim=1).values
        return float((hardest_pos - closest_neg + margin > 0).float().mean())


def augment(x: Tensor, a: Augment, gen: torch.Generator) -> Tensor:
    """``(B, S, S, 3)`` uint8 -> ``(B, 3, S, S)`` float 0-255 with random pose and colour changes."""
    b = x.shape[0]
    img = x.permute(0, 3, 1, 2).float()  # (B, 3, S, S)

    def u(*shape: int) -> Tensor:  # uniform in [-1, 1)
        return torch.rand(*shape, generator=gen) * 2 - 1

    angle = u(b) * math.radians(a.rotate_deg)
    zoom = 1 + u(b) * a.scale
    flip = torch.where(torch.rand(b, generator=gen) < 0.5, -1.0, 1.0) if a.flip else torch.ones(b)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([torch.stack([cos * flip, -sin, u(b) * a.shift * 2], 1),
                         torch.stack([sin * flip, cos, u(b) * a.shift * 2], 1)], 1)  # (B, 2, 3)
    grid = F.affine_grid(theta, list(img.shape), align_corners=False)
    img = F.grid_sample(img, grid, mode="bilinear", padding_mode="border", align_corners=False)
    mean = img.mean(dim=(1, 2, 3), keepdim=True)
    img = (img - mean) * (1 + u(b, 1, 1, 1) * a.contrast) + mean
    img = img * (1 + u(b, 1, 1, 1) * a.brightness) * (1 + u(b, 3, 1, 1) * a.color)
    img = img + torch.randn(img.shape, generator=gen) * a.noise
    return img.clamp(0, 255)


@contextlib.contextmanager
def deterministic(threads: int) -> Iterator[None]:
    """Fixed thread count and deterministic kernels inside the block; previous settings after."""
    before = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled())
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.set_num_threads(before[0])
        torch.use_deterministic_algorithms(before[1])


def train_encoder(crops: np.ndarray, labels: np.ndarray, config: FaceEncoderConfig, s: TrainSettings, seed: int,
                  on_step: Callable[[int, dict], None] | None = None,
                  evaluate: Callable[[FaceEncoder], dict] | None = None) -> tuple[FaceEncoder, list[dict]]:
    """Train a :class:`FaceEncoder` on ``(N, S, S, 3)`` uint8 crops with integer person ``labels``.

    Every ``log_every`` steps a history row (mean loss, share of triplets still violating the
    margin, learning rate, plus whatever ``evaluate(model)`` returns) is appended and passed
    to ``on_step``. Returns the model in eval mode and the history.
    """
    with deterministic(s.threads):
        return _train(crops, labels, config, s, seed, on_step, evaluate)


def _train(crops: np.ndarray, labels: np.ndarray, config: FaceEncoderConfig, s: TrainSettings, seed: int,
           on_step: Callable[[int, dict], None] | None,
           evaluate: Callable[[FaceEncoder], dict] | None) -> tuple[FaceEncoder, list[dict]]:
    torch.manual_seed(seed)
    model = FaceEncoder(config)

    def lr_at(step: int) -> float:  # linear warm-up, then cosine decay to 5%
        if step < s.warmup_steps:
            return s.lr * (step + 1) / s.warmup_steps
        t = (step - s.warmup_steps) / max(1, s.steps - s.warmup_steps)
        return s.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * t)))

    rng = np.random.default_rng([seed, 5001])
    gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
    data = torch.from_numpy(crops)
    history = triplet_steps(model, labels, s, rng, lr_at, lambda idx: augment(data[idx], s.augment, gen),  # (P*K, 3, S, S)
                            on_step, evaluate)
    return model.eval(), history


def triplet_steps(model: torch.nn.Module, labels: np.ndarray, s: TrainSettings, rng: np.random.Generator,
                  lr_at: Callable[[int], float], inputs: Callable[[np.ndarray], Tensor],
                  on_step: Callable[[int, dict], None] | None, evaluate: Callable[[Any], dict] | None) -> list[dict]:
    """The training loop shared by the encoder and the adapter: ``s.steps`` AdamW steps on P x K
    batches (drawn from ``rng``) of ``inputs(idx)`` with the semi-hard triplet loss, learning rate
    ``lr_at(step)``. Every ``log_every`` steps a history row (step, mean loss, share of triplets
    still violating the margin, lr, plus ``evaluate(model)``'s keys) goes to ``on_step``."""
    opt = torch.optim.AdamW(model.parameters(), lr=s.lr, weight_decay=s.weight_decay)
    target = torch.from_numpy(labels.astype(np.int64))
    history: list[dict] = []
    losses, active = [], []
    for step, idx in enumerate(pk_batches(labels, s.people_per_batch, s.photos_per_person, s.steps, rng)):
        model.train()
        lr = lr_at(step)
        for group in opt.param_groups:
            group["lr"] = lr
        emb = model(inputs(idx))  # (P*K, D)
        loss = batch_semi_hard_triplet_loss(emb, target[idx], s.margin)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        active.append(violating_share(emb, target[idx], s.margin))
        if (step + 1) % s.log_every == 0 or step + 1 == s.steps:
            row = {"step": step + 1, "loss": float(np.mean(losses)), "violating": float(np.mean(active)), "lr": lr}
            if evaluate is not None:
                row |= evaluate(model)
            history.append(row)
            losses, active = [], []
            if on_step is not None:
                on_step(step + 1, row)
    return history


def embed_crops(model: FaceEncoder, crops: np.ndarray, threads: int = 1) -> np.ndarray:
    """``(N, S, S, 3)`` uint8 -> ``(N, D)`` float32 unit vectors.

    One thread by default: for a model this small, more threads mostly wait on each other
    (and spin badly when other processes share the cores).
    """
    with deterministic(threads):
        return embed(model, torch.from_numpy(np.ascontiguousarray(crops))).numpy().astype(np.float32)


def pixel_vectors(crops: np.ndarray) -> np.ndarray:
    """The baseline: raw crop pixels, each photo standardised and scaled to unit length ``(N, S*S*3)``.

    Comparing these is "pixel distance" at its fairest (exposure removed); it is what the
    lecture says fails under lighting, pose and background changes.
    """
    x = crops.reshape(len(crops), -1).astype(np.float32)
    x = x - x.mean(axis=1, keepdims=True)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-6)
