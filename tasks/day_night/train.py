"""Training and evaluating the day/night CNN on catalogue thumbnails: plain functions, no I/O.

Inputs are the square thumbnails the catalogue made once (``(n, S, S, 3)`` uint8); each
resolution ``R`` is an area-average of them, so every candidate resolution sees the same
pictures. Class balance is handled by one of: a balanced sampler, a weighted loss, or
down-sampling the larger class (params ``train.balance``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import Tensor
from torch.utils.data import DataLoader, TensorDataset, WeightedRandomSampler

from models.day_night import DayNightCNN, DayNightConfig
from models.losses import logistic_loss
from tasks.images.thumbs import area_resize
from tasks.io import stable_unit

log = logging.getLogger(__name__)

MEAN, STD = 127.5, 64.0  # input normalisation, in 8-bit levels (stored in the checkpoint)


@dataclass(frozen=True)
class FitSettings:
    """What one training run needs besides the data (a subset of the train params)."""

    epochs: int
    batch_size: int = 64
    lr: float = 0.003
    weight_decay: float = 1e-4
    balance: str = "sampler"  # sampler | class_weights | downsample | none
    flip: bool = True
    seed: int = 0


def to_inputs(thumbs: np.ndarray, resolution: int) -> Tensor:
    """``(n, S, S, 3)`` uint8 thumbnails -> ``(n, 3, R, R)`` normalised float32 inputs."""
    x = area_resize(np.asarray(thumbs), resolution)  # (n, R, R, 3), 0-255
    nchw = torch.from_numpy((x - MEAN) / STD).float().permute(0, 3, 1, 2)
    return nchw.contiguous(memory_format=torch.channels_last)  # the faster layout for CPU convolutions


def downsample(y: np.ndarray, keys: list[str], seed: int) -> np.ndarray:
    """Indices keeping every minority-class item and as many majority items (stable choice by key)."""
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    small, big = (pos, neg) if len(pos) <= len(neg) else (neg, pos)
    order = sorted(big.tolist(), key=lambda i: stable_unit("downsample", seed, keys[i]))
    return np.sort(np.concatenate([small, np.asarray(order[: len(small)], dtype=np.int64)]))


def make_loader(x: Tensor, y: Tensor, settings: FitSettings) -> tuple[DataLoader, float | None]:
    """The training batches and the positive-class loss weight the balance choice asks for."""
    gen = torch.Generator().manual_seed(settings.seed)
    ds = TensorDataset(x, y)
    n_pos = float(y.sum())
    n_neg = float(len(y) - n_pos)
    drop = len(y) % settings.batch_size == 1  # a batch of one breaks batch norm
    if settings.balance == "sampler" and n_pos and n_neg:
        w = torch.where(y == 1, 0.5 / n_pos, 0.5 / n_neg).double()
        sampler = WeightedRandomSampler(w, num_samples=len(y), replacement=True, generator=gen)
        return DataLoader(ds, batch_size=settings.batch_size, sampler=sampler, drop_last=drop), None
    pos_weight = n_neg / n_pos if settings.balance == "class_weights" and n_pos and n_neg else None
    return DataLoader(ds, batch_size=settings.batch_size, shuffle=True, generator=gen, drop_last=drop), pos_weight


def train_one_epoch(model: DayNightCNN, loader: DataLoader, optimiser: torch.optim.Optimizer,
                    pos_weight: float | None, flip: bool, gen: torch.Generator) -> float:
    """One pass over ``loader``; returns the mean logistic loss."""
    model.train()
    total, n = 0.0, 0
    for xb, yb in loader:
        if flip:  # mirror half of the batch left-right: a scene's time of day does not depend on it
            mask = torch.rand(len(xb), generator=gen) < 0.5
            xb = torch.where(mask[:, None, None, None], xb.flip(3), xb)
        loss = logistic_loss(model(xb), yb, pos_weight)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        total += loss.item() * len(xb)
        n += len(xb)
    return total / max(1, n)


@torch.no_grad()
def predict(model: DayNightCNN, x: Tensor, batch_size: int = 256) -> np.ndarray:
    """``(n,)`` probabilities of the positive class."""
    model.eval()
    out = [torch.sigmoid(model(x[i:i + batch_size])) for i in range(0, len(x), batch_size)]
    return torch.cat(out).numpy() if out else np.zeros(0, dtype=np.float32)


def binary_metrics(y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> dict:
    """Accuracy, precision, recall (of the positive class) and the confusion counts."""
    pred = (p >= threshold).astype(int)
    y = y.astype(int)
    tp, tn = int(((pred == 1) & (y == 1)).sum()), int(((pred == 0) & (y == 0)).sum())
    fp, fn = int(((pred == 1) & (y == 0)).sum()), int(((pred == 0) & (y == 1)).sum())
    n = max(1, len(y))
    return {"accuracy": round((tp + tn) / n, 4), "precision": round(tp / max(1, tp + fp), 4),
            "recall": round(tp / max(1, tp + fn), 4), "tp": tp, "tn": tn, "fp": fp, "fn": fn, "n": int(len(y))}


def fit(x_train: Tensor, y_train: Tensor, x_dev: Tensor, y_dev: Tensor, config: DayNightConfig,
        settings: FitSettings, keys: list[str] | None = None) -> tuple[DayNightCNN, list[dict]]:
    """Train a fresh model; returns it (weights of the best dev-accuracy epoch) and per-epoch history."""
    torch.manual_seed(settings.seed)
    if settings.balance == "downsample":
        keep = torch.from_numpy(downsample(y_train.numpy(), keys or [str(i) for i in range(len(y_train))],
                                           settings.seed))
        x_train, y_train = x_train[keep], y_train[keep]
    model = DayNightCNN(config).to(memory_format=torch.channels_last)
    loader, pos_weight = make_loader(x_train, y_train, settings)
    optimiser = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    gen = torch.Generator().manual_seed(settings.seed + 1)
    history, best, best_state = [], -1.0, None
    for epoch in range(1, settings.epochs + 1):
        loss = train_one_epoch(model, loader, optimiser, pos_weight, settings.flip, gen)
        dev = binary_metrics(y_dev.numpy(), predict(model, x_dev))
        history.append({"epoch": epoch, "train_loss": round(loss, 5), "dev_accuracy": dev["accuracy"]})
        log.info("epoch %d loss %.4f dev accuracy %.4f", epoch, loss, dev["accuracy"])
        if dev["accuracy"] > best:
            best, best_state = dev["accuracy"], {k: v.clone() for k, v in model.state_dict().items()}
    if best_state is not None:
        model.load_state_dict(best_state)
    return model.eval(), history


def choose_resolution(curve: list[dict], tolerance: float, key: str = "dev_accuracy") -> int:
    """The smallest resolution whose score ``key`` is within ``tolerance`` of the best one."""
    best = max(r[key] for r in curve)
    ok = [r["resolution"] for r in curve if r[key] >= best - tolerance - 1e-9]
    return int(min(ok))


def split_data(assigned: pd.DataFrame, thumbs: np.ndarray, split: str, positive: str
               ) -> tuple[np.ndarray, Tensor, list[str]]:
    """Thumbnails ``(n, S, S, 3)``, targets ``(n,)`` (1 = ``positive``) and keys of one split."""
    part = assigned[assigned.split == split]
    x = np.asarray(thumbs[np.sort(part.thumb.to_numpy())]) if len(part) else np.zeros((0, *thumbs.shape[1:]), np.uint8)
    part = part.sort_values("thumb")
    y = torch.tensor((part.label == positive).to_numpy(), dtype=torch.float32)
    return x, y, part.sha256.tolist()
