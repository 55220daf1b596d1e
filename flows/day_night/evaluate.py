"""Stage `evaluate`: the shipped model on the real-photo check, overall and per source.

The check photos are never trained on. With generated training data this is the only
measure that says how the model does on photographs; when the sweep chose the resolution
on it (``sweep.choose_on: check``), it is a dev score, not a test score.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from prefect import flow

from flows.runtime import logger, publish_table, stage_main, with_runner
from tasks.config import BaseParams
from tasks.day_night.check import check_scores, check_thumbs, read_check_set
from tasks.day_night.classify import Classifier
from tasks.day_night.config import CheckParams, DayNightParams, Layout, ModelParams
from tasks.io import write_json, write_text


@flow(name="day-night-evaluate")
def evaluate(check: CheckParams, model: ModelParams, labels: tuple[str, str], threads: int, model_dir: str,
             metrics_json: str, predictions_csv: str) -> dict:
    """Write the check's scores (DVC metric) and each photo's prediction."""
    torch.set_num_threads(threads)
    if not check.manifest:
        summary = {"check": None, "reason": "no day_night.check.manifest set"}
        write_json(metrics_json, summary)
        write_text(predictions_csv, "file,source,label,predicted,p\n")
        return summary
    frame = read_check_set(check.manifest, labels)
    clf = Classifier(model_dir, model.backbone_weights)
    p = clf.probabilities(check_thumbs(frame, clf.thumb))
    scores = check_scores(frame, p, labels, clf.threshold)
    summary = {"model": clf.kind, "resolution": clf.resolution, "manifest": check.manifest, **scores}
    rows = pd.DataFrame({"file": frame.file, "source": frame.source, "label": frame.label,
                         "predicted": np.where(p >= clf.threshold, labels[1], labels[0]),
                         "p_" + labels[1]: np.round(p, 4)})
    write_json(metrics_json, summary)
    write_text(predictions_csv, rows.to_csv(index=False))
    publish_table("day-night-check", [{"source": "all", **scores["all"]}] +
                  [{"source": s, **v} for s, v in scores["per_source"].items()],
                  f"Real-photo check: {clf.kind} at {clf.resolution} px")
    a = scores["all"]
    logger().info("evaluate (%s, %d px): real-photo check accuracy %.4f, recall %s %.4f, %s %s (%d photos)",
                  clf.kind, clf.resolution, a["accuracy"], labels[0], a[f"recall_{labels[0]}"] or 0, labels[1],
                  a[f"recall_{labels[1]}"], a["n"])
    return summary


def run(base: BaseParams, p: DayNightParams, L: Layout, runner: str | None = None) -> None:
    """Stage dn_evaluate: the shipped model on the real-photo check."""
    with_runner(evaluate, base, runner)(p.check, p.model, p.labels, p.train.threads, str(L.model),
                                        str(L.check_metrics), str(L.check_predictions))


if __name__ == "__main__":
    stage_main(run, "day_night", DayNightParams, Layout)
