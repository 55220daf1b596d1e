"""Stage `train`: the chosen model at the chosen resolution; checkpoint, metrics and plots.

The model is ``train.model`` (``cnn``: the lecture's shallow CNN; ``backbone``: a frozen
ImageNet backbone and a logistic head); the resolution is ``train.resolution`` when set,
otherwise the sweep's choice.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from prefect import flow

from flows.runtime import logger, publish_table, stage_main, with_runner
from tasks.config import BaseParams
from tasks.day_night.config import DayNightParams, Layout, ModelParams, TrainParams
from tasks.day_night.model_card import CARD, chosen_resolution
from tasks.day_night.sweep import load_train_dev, make_learner
from tasks.day_night.train import MEAN, STD, binary_metrics, split_data
from tasks.io import atomic_dir, read_parquet, sha256_file, write_json, write_text


@flow(name="day-night-train")
def train(base: BaseParams, params: TrainParams, model: ModelParams, labels: tuple[str, str],
          thumb_size: int, assignments: str, thumbs: str, choice_json: str, feature_cache: str, model_dir: str,
          metrics_json: str, history_csv: str, confusion_csv: str) -> dict:
    """Train, evaluate on dev and test, and write a self-describing checkpoint folder."""
    torch.set_num_threads(params.threads)
    resolution = chosen_resolution(params, choice_json)
    positive = labels[1]
    data = load_train_dev(assignments, thumbs, positive)
    learner = make_learner(model, params, base.seed, feature_cache)
    net, history = learner.fit(resolution, data)
    assigned = read_parquet(assignments, "split assignments")
    x_test, y_test, _ = split_data(assigned, np.load(thumbs, mmap_mode="r"), "test", positive)
    p_test = learner.predict(net, x_test, resolution)
    metrics = {"model": learner.kind, "resolution": resolution,
               "dev": binary_metrics(data["y_dev"].numpy(), learner.predict(net, data["x_dev"], resolution),
                                     params.threshold),
               "test": binary_metrics(y_test.numpy(), p_test, params.threshold)}
    test_rows = assigned[assigned.split == "test"].sort_values("thumb")
    confusion = pd.DataFrame({"path": test_rows.rel_path.to_numpy(), "actual": test_rows.label.to_numpy(),
                              "predicted": np.where(p_test >= params.threshold, labels[1], labels[0]),
                              "p_" + positive: np.round(p_test, 4)})
    counts = {s: int((assigned.split == s).sum()) for s in ("train", "dev", "test")}
    normalise = ({"mean": MEAN, "std": STD} if learner.kind == "cnn"
                 else {"scale": 1 / 255, "then": "ImageNet mean/std inside the backbone"})
    meta = {"labels": list(labels), "positive": positive, "resolution": resolution, "thumb_size": thumb_size,
            "normalise": normalise, "threshold": params.threshold,
            "train_params": params.model_dump(), "seed": base.seed, "data_sha256": sha256_file(assignments),
            "split_counts": counts, "metrics": metrics}
    norm_text = (f"(x - {MEAN}) / {STD} per 8-bit level" if learner.kind == "cnn"
                 else "scaled to 0-1 and normalised with ImageNet's mean and std")
    card = CARD.format(what=learner.describe(), resolution=resolution, positive=positive,
                       n_train=counts["train"], n_dev=counts["dev"], n_test=counts["test"],
                       source="the split in " + Path(assignments).parent.name, thumb=thumb_size,
                       normalise=norm_text, **{k: metrics["test"][k] for k in ("accuracy", "precision", "recall")})
    with atomic_dir(model_dir) as tmp:
        learner.save(tmp, net, meta, card)
        write_json(metrics_json, metrics)
        write_text(history_csv, pd.DataFrame(history).to_csv(index=False))
        write_text(confusion_csv, confusion.to_csv(index=False))
    publish_table("day-night-metrics", [{"split": s, **metrics[s]} for s in ("dev", "test")],
                  f"Day/night {learner.kind} at {resolution} px")
    logger().info("train (%s): %d px, test accuracy %.4f precision %.4f recall %.4f", learner.kind, resolution,
                  metrics["test"]["accuracy"], metrics["test"]["precision"], metrics["test"]["recall"])
    return metrics


def run(base: BaseParams, p: DayNightParams, L: Layout, runner: str | None = None) -> None:
    """Stage dn_train: the chosen model at the chosen resolution."""
    with_runner(train, base, runner)(base, p.train, p.model, p.labels, p.collect.thumb_size, str(L.assignments),
                                     str(L.thumbs), str(L.sweep_choice), str(L.features), str(L.model),
                                     str(L.metrics), str(L.history), str(L.confusion))


if __name__ == "__main__":
    stage_main(run, "day_night", DayNightParams, Layout)
