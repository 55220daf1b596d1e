"""The resolution sweep picks the size a synthetic task is known to need, and training basics."""

from __future__ import annotations

import numpy as np
import torch

from models.day_night import DayNightCNN, DayNightConfig
from tasks.day_night.learners import CnnLearner
from tasks.day_night.sweep import sweep_point
from tasks.day_night.train import (
    FitSettings,
    binary_metrics,
    choose_resolution,
    downsample,
    make_loader,
    to_inputs,
)

CONFIG = DayNightConfig(channels=(6, 12), dropout=0.0)


def checker_task(n: int, seed: int) -> tuple[np.ndarray, torch.Tensor]:
    """64 px images: class 1 carries a 2 x 2 px checkerboard, class 0 is flat at the same mean.

    Area-averaging to 16 px averages every 4 x 4 block to the mean (the classes become the
    same); 32 px keeps the pattern as a 1 px checkerboard. So 16 px is chance, 32 and 64 solve it.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:64, 0:64]
    board = np.where(((yy // 2) + (xx // 2)) % 2 == 0, 1.0, -1.0)
    y = rng.integers(0, 2, n)
    x = np.empty((n, 64, 64, 3), np.uint8)
    for i in range(n):
        mean = rng.uniform(70, 180, 3)
        pattern = board * rng.uniform(25, 45) * (1 if rng.random() < 0.5 else -1) * y[i]
        blocks = rng.normal(0, 6, (16, 16, 3)).repeat(4, 0).repeat(4, 1)  # 4x4-block texture: in both classes
        x[i] = np.clip(mean + pattern[..., None] + blocks, 0, 255).astype(np.uint8)
    return x, torch.tensor(y, dtype=torch.float32)


def test_sweep_picks_the_smallest_sufficient_resolution():
    torch.set_num_threads(2)
    x_train, y_train = checker_task(128, seed=1)
    x_dev, y_dev = checker_task(64, seed=2)
    data = {"x_train": x_train, "y_train": y_train, "x_dev": x_dev, "y_dev": y_dev, "keys": None}
    settings = FitSettings(epochs=3, batch_size=32, lr=0.01, balance="none", seed=0)
    curve = [sweep_point(r, data, CnnLearner(CONFIG, settings)) for r in (16, 32, 64)]
    acc = {p["resolution"]: p["dev_accuracy"] for p in curve}
    assert acc[16] < 0.7 and acc[32] > 0.9 and acc[64] > 0.9, acc
    assert choose_resolution(curve, tolerance=0.05) == 32


def test_choose_resolution_rule():
    curve = [{"resolution": 16, "dev_accuracy": 0.80}, {"resolution": 32, "dev_accuracy": 0.93},
             {"resolution": 64, "dev_accuracy": 0.95}, {"resolution": 128, "dev_accuracy": 0.94}]
    assert choose_resolution(curve, 0.02) == 32
    assert choose_resolution(curve, 0.0) == 64
    assert choose_resolution(curve, 0.2) == 16


def test_model_shapes_any_resolution():
    net = DayNightCNN(DayNightConfig(channels=(4, 8, 8)))
    for r in (16, 37, 64):
        assert net(torch.zeros(2, 3, r, r)).shape == (2,)


def test_inputs_and_metrics():
    thumbs = np.full((3, 128, 128, 3), 200, np.uint8)
    x = to_inputs(thumbs, 16)
    assert x.shape == (3, 3, 16, 16) and torch.allclose(x, torch.full_like(x, (200 - 127.5) / 64.0))
    m = binary_metrics(np.array([1, 1, 0, 0]), np.array([0.9, 0.2, 0.6, 0.1]))
    assert (m["tp"], m["fn"], m["fp"], m["tn"]) == (1, 1, 1, 1) and m["accuracy"] == 0.5


def test_downsample_keeps_minority_and_is_stable():
    y = np.array([1] * 5 + [0] * 20)
    keys = [f"k{i}" for i in range(25)]
    keep = downsample(y, keys, seed=0)
    assert (y[keep] == 1).sum() == 5 and (y[keep] == 0).sum() == 5
    assert np.array_equal(keep, downsample(y, keys, seed=0))


def test_balance_choices():
    x = torch.zeros(200, 3, 8, 8)
    y = torch.tensor([1.0] * 20 + [0.0] * 180)
    loader, pos_weight = make_loader(x, y, FitSettings(epochs=1, batch_size=50, balance="sampler"))
    drawn = torch.cat([yb for _, yb in loader])
    assert pos_weight is None and len(drawn) == 200 and 0.35 < drawn.mean().item() < 0.65
    _, pos_weight = make_loader(x, y, FitSettings(epochs=1, balance="class_weights"))
    assert pos_weight == 9.0
    loader, pos_weight = make_loader(x, y, FitSettings(epochs=1, balance="none"))
    assert pos_weight is None and torch.cat([yb for _, yb in loader]).sum().item() == 20
