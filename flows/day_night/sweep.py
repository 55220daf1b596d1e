"""Stage `sweep`: train the shallow CNN at each candidate resolution; keep the smallest good enough.

The lecture's question, answered by measurement: the smallest input size whose dev
accuracy is within ``sweep.tolerance`` of the best one.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.runtime import Progress, logger, publish_table
from models.day_night import DayNightConfig
from tasks.config import BaseParams
from tasks.day_night.config import ModelParams, SweepParams, TrainParams
from tasks.day_night.train import FitSettings, choose_resolution, fit, split_data, to_inputs
from tasks.errors import DataError
from tasks.io import read_parquet, write_json, write_text


def fit_settings(train: TrainParams, seed: int, epochs: int | None = None) -> FitSettings:
    return FitSettings(epochs=epochs or train.epochs, batch_size=train.batch_size, lr=train.lr,
                       weight_decay=train.weight_decay, balance=train.balance, flip=train.flip, seed=seed)


def sweep_point(resolution: int, data: dict, config: DayNightConfig, settings: FitSettings) -> dict:
    """Train at one resolution; its best dev accuracy and the time it took."""
    start = time.perf_counter()
    _, history = fit(to_inputs(data["x_train"], resolution), data["y_train"], to_inputs(data["x_dev"], resolution),
                     data["y_dev"], config, settings, data["keys"])
    best = max(history, key=lambda h: (h["dev_accuracy"], -h["epoch"]))
    return {"resolution": resolution, "dev_accuracy": best["dev_accuracy"], "best_epoch": best["epoch"],
            "train_seconds": round(time.perf_counter() - start, 1)}


sweep_task = task(sweep_point, name="sweep-resolution", cache_policy=NO_CACHE)


def sweep_curve(data: dict, resolutions: tuple[int, ...], config: DayNightConfig, settings: FitSettings
                ) -> list[dict]:
    """One point per resolution, smallest first (trained one after the other: torch uses the cores)."""
    curve = []
    with Progress(len(resolutions), "resolution sweep", unit="res") as bar:
        for r in sorted(resolutions):
            curve.append(sweep_task(r, data, config, settings))
            logger().info("sweep %4d px: dev accuracy %.4f", r, curve[-1]["dev_accuracy"])
            bar.update()
    return curve


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


@flow(name="day-night-sweep")
def sweep(base: BaseParams, params: SweepParams, model: ModelParams, train: TrainParams,
          resolutions: tuple[int, ...], positive: str, assignments: str, thumbs: str, curve_csv: str,
          choice_json: str) -> dict:
    """Write the accuracy-vs-resolution curve (DVC plot) and the chosen resolution (DVC metric)."""
    torch.set_num_threads(train.threads)
    data = load_train_dev(assignments, thumbs, positive)
    config = DayNightConfig(channels=model.channels, dropout=model.dropout)
    curve = sweep_curve(data, resolutions, config, fit_settings(train, base.seed, params.epochs))
    chosen = choose_resolution(curve, params.tolerance)
    best = max(curve, key=lambda r: r["dev_accuracy"])
    choice = {"resolution": chosen, "tolerance": params.tolerance, "best_resolution": best["resolution"],
              "best_dev_accuracy": best["dev_accuracy"],
              "chosen_dev_accuracy": next(r["dev_accuracy"] for r in curve if r["resolution"] == chosen)}
    write_text(curve_csv, pd.DataFrame(curve).drop(columns="train_seconds").to_csv(index=False))
    write_json(choice_json, choice)
    publish_table("day-night-sweep", curve, f"Dev accuracy per input resolution; chosen: {chosen} px")
    logger().info("sweep: chose %d px (dev accuracy %.4f; best %.4f at %d px)", chosen,
                  choice["chosen_dev_accuracy"], best["dev_accuracy"], best["resolution"])
    return choice
