"""Stage `sweep`: train the chosen model at each candidate resolution; keep the smallest good enough.

The lecture's question, answered by measurement: the smallest input size whose score is
within ``sweep.tolerance`` of the best one. The score is the dev accuracy
(``sweep.choose_on: dev``) or, when the training data are generated, the balanced accuracy
on the real-photo check (``check``): accuracy on generated pictures says little about photos.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.runtime import Progress, logger, publish_table, stage_main, with_runner
from models.day_night import DayNightConfig
from tasks.config import BaseParams
from tasks.day_night.check import check_scores, check_thumbs, read_check_set
from tasks.day_night.config import (
    CheckParams,
    DayNightParams,
    Layout,
    ModelParams,
    SweepParams,
    TrainParams,
)
from tasks.day_night.head import HeadSettings
from tasks.day_night.learners import BackboneLearner, CnnLearner, Learner
from tasks.day_night.train import FitSettings, choose_resolution, split_data
from tasks.errors import DataError
from tasks.io import read_parquet, write_json, write_text


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


sweep_task = task(sweep_point, name="sweep-resolution", cache_policy=NO_CACHE)


def sweep_curve(data: dict, resolutions: tuple[int, ...], learner: Learner, check: dict | None,
                labels: tuple[str, str], threshold: float) -> list[dict]:
    """One point per resolution, smallest first (trained one after the other: torch uses the cores)."""
    curve = []
    with Progress(len(resolutions), "resolution sweep", unit="res") as bar:
        for r in sorted(resolutions):
            curve.append(sweep_task(r, data, learner, check, labels, threshold))
            logger().info("sweep %4d px: dev accuracy %.4f%s", r, curve[-1]["dev_accuracy"],
                          f", check balanced accuracy {curve[-1]['check_balanced_accuracy']:.4f}" if check else "")
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
def sweep(base: BaseParams, params: SweepParams, model: ModelParams, train: TrainParams, check: CheckParams,
          resolutions: tuple[int, ...], labels: tuple[str, str], thumb_size: int, assignments: str, thumbs: str,
          feature_cache: str, curve_csv: str, choice_json: str) -> dict:
    """Write the score-vs-resolution curve (DVC plot) and the chosen resolution (DVC metric)."""
    torch.set_num_threads(train.threads)
    data = load_train_dev(assignments, thumbs, labels[1])
    check_set = load_check(check, labels, thumb_size)
    learner = make_learner(model, train, base.seed, feature_cache, params.epochs)
    curve = sweep_curve(data, resolutions, learner, check_set, labels, train.threshold)
    key = "check_balanced_accuracy" if params.choose_on == "check" else "dev_accuracy"
    chosen = choose_resolution(curve, params.tolerance, key)
    best = max(curve, key=lambda r: r[key])
    choice = {"model": learner.kind, "resolution": chosen, "chosen_on": key, "tolerance": params.tolerance,
              "best_resolution": best["resolution"], "best_score": best[key],
              "chosen_score": next(r[key] for r in curve if r["resolution"] == chosen),
              "check_manifest": Path(check.manifest).as_posix() if check.manifest else None}
    write_text(curve_csv, pd.DataFrame(curve).drop(columns="train_seconds").to_csv(index=False))
    write_json(choice_json, choice)
    publish_table("day-night-sweep", curve, f"{learner.kind}: scores per input resolution; chosen: {chosen} px")
    logger().info("sweep (%s): chose %d px (%s %.4f; best %.4f at %d px)", learner.kind, chosen, key,
                  choice["chosen_score"], best[key], best["resolution"])
    return choice


def run(base: BaseParams, p: DayNightParams, L: Layout, runner: str | None = None) -> None:
    """Stage dn_sweep: train at each candidate resolution, keep the smallest good enough."""
    with_runner(sweep, base, runner)(base, p.sweep, p.model, p.train, p.check, p.resolutions, p.labels,
                                     p.collect.thumb_size, str(L.assignments), str(L.thumbs), str(L.features),
                                     str(L.sweep_curve), str(L.sweep_choice))


if __name__ == "__main__":
    stage_main(run, "day_night", DayNightParams, Layout)
