"""Stage `sweep`: train the chosen model at each candidate resolution; keep the smallest good enough.

The lecture's question, answered by measurement: the smallest input size whose score is
within ``sweep.tolerance`` of the best one. The score is the dev accuracy
(``sweep.choose_on: dev``) or, when the training data are generated, the balanced accuracy
on the real-photo check (``check``): accuracy on generated pictures says little about photos.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.runtime import Progress, logger, publish_table, stage_main, with_runner
from tasks.config import BaseParams
from tasks.day_night.config import (
    CheckParams,
    DayNightParams,
    Layout,
    ModelParams,
    SweepParams,
    TrainParams,
)
from tasks.day_night.learners import Learner
from tasks.day_night.sweep import (
    load_check,
    load_train_dev,
    make_learner,
    sweep_point,
)
from tasks.day_night.train import choose_resolution
from tasks.io import write_json, write_text

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
