"""The resolution sweep's plain parts: the learner ``train.model`` names, the data, one sweep point.

The lecture's question, answered by measurement: the smallest input size whose score is
within ``sweep.tolerance`` of the best one (stage dn_sweep; dn_train uses the same learner and data).
"""

from __future__ import annotations

import time

import numpy as np

from models.day_night import DayNightConfig
from tasks.day_night.check import check_scores, check_thumbs, read_check_set
from tasks.day_night.config import (
    CheckParams,
    ModelParams,
    TrainParams,
)
from tasks.day_night.head import HeadSettings
from tasks.day_night.learners import BackboneLearner, CnnLearner, Learner
from tasks.day_night.train import FitSettings, split_data
from tasks.errors import DataError
from tasks.io import read_parquet


def fit_settings(train: TrainParams, seed: int, epochs: int | None = None) -> FitSettings:
    return FitSettings(epochs=epochs or train.epochs, batch_size=train.batch_size, lr=train.lr,
                       weight_decay=train.weight_decay, balance=train.balance, flip=train.flip, seed=seed)


def make_learner(model: ModelParams, train: TrainParams, seed: int, cache_dir: str, epochs: int | None = None
                 ) -> Learner:
    """The model ``train.model`` names, with its training settings."""
    if train.model == "backbone":
        return BackboneLearner(model.backbone, model.backbone_input, model.backbone_weights, cache_dir,
                               HeadSettings(epochs=epochs or train.epochs, l2=model.head_l2, balance=train.balance,
                                            seed=seed))
    return CnnLearner(DayNightConfig(channels=model.channels, dropout=model.dropout),
                      fit_settings(train, seed, epochs))


def load_check(check: CheckParams, labels: tuple[str, str], thumb_size: int) -> dict | None:
    """The real-photo check set (rows and thumbnails), or None when none is configured."""
    if not check.manifest:
        return None
    frame = read_check_set(check.manifest, labels)
    return {"frame": frame, "thumbs": check_thumbs(frame, thumb_size)}


def sweep_point(resolution: int, data: dict, learner: Learner, check: dict | None = None,
                labels: tuple[str, str] = ("day", "night"), threshold: float = 0.5) -> dict:
    """Train at one resolution; its best dev accuracy (and check scores) and the time it took."""
    start = time.perf_counter()
    model, history = learner.fit(resolution, data)
    best = max(history, key=lambda h: (h["dev_accuracy"], -h["epoch"]))
    row = {"resolution": resolution, "dev_accuracy": best["dev_accuracy"], "best_epoch": best["epoch"]}
    if check is not None:
        scores = check_scores(check["frame"], learner.predict(model, check["thumbs"], resolution), labels,
                              threshold)["all"]
        row |= {f"check_{k}": v for k, v in scores.items() if k != "n" and not k.startswith("n_")}
    return row | {"train_seconds": round(time.perf_counter() - start, 1)}


def load_train_dev(assignments: str, thumbs: str, positive: str) -> dict:
    """Train and dev thumbnails and targets from the split stage's outputs."""
    assigned = read_parquet(assignments, "split assignments")
    th = np.load(thumbs, mmap_mode="r")
    x_train, y_train, keys = split_data(assigned, th, "train", positive)
    x_dev, y_dev, _ = split_data(assigned, th, "dev", positive)
    if len(x_train) < 2 or len(x_dev) < 1 or y_train.min() == y_train.max():
        raise DataError(f"{assignments}: training needs both classes in train and at least one dev image "
                        f"(train {len(x_train)}, dev {len(x_dev)})")
    return {"x_train": x_train, "y_train": y_train, "x_dev": x_dev, "y_dev": y_dev, "keys": keys}
