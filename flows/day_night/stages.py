"""The day/night stage registry: dvc.yaml (``python -m flows.dvc_stages``) and the CLI are made from it."""

from __future__ import annotations

from flows.registry import Stage, report
from tasks.day_night.config import Layout

CHECK_SET = "assets/day_night/real-photos"  # the shipped real-photo check (params: day_night.check.manifest)
TRAIN_KEYS = ("model", "batch_size", "lr", "weight_decay", "balance", "flip", "threshold", "threads")


def stages(layout: Layout) -> list[Stage]:
    """The stages in run order; paths come from ``layout`` (built on ``${base.data_dir}`` for dvc.yaml)."""
    L = layout
    return [
        Stage("dn_collect", "collect", "flows.day_night.collect:run",
              "labelled images (yours, or the generated demo set) into a catalogue",
              params=["base.seed", "day_night.generate", "day_night.collect"], outs=[L.demo, L.collect]),
        Stage("dn_validate", "validate", "flows.day_night.validate:run",
              "quarantine unusable files, group duplicates, report resolutions",
              params=["day_night.labels", "day_night.resolutions", "day_night.validate"], deps=[L.catalogue],
              outs=[L.validate],
              plots=[report(L.resolution_table, x="resolution", y="share_below"), report(L.resolution_plot)]),
        Stage("dn_split", "split", "flows.day_night.split:run",
              "stratified train/dev/test with near-duplicate groups kept whole",
              params=["base.seed", "day_night.labels", "day_night.split", "day_night.train.balance"],
              deps=[L.images, L.thumbs], outs=[L.split], metrics=[report(L.balance)]),
        Stage("dn_sweep", "sweep", "flows.day_night.sweep:run",
              "train at each candidate resolution, keep the smallest good enough",
              params=["base.seed", "day_night.labels", "day_night.resolutions", "day_night.model", "day_night.sweep",
                      "day_night.check", "day_night.collect.thumb_size",
                      *(f"day_night.train.{k}" for k in TRAIN_KEYS)],
              deps=[L.assignments, L.thumbs, CHECK_SET], metrics=[report(L.sweep_choice)],
              plots=[report(L.sweep_curve, x="resolution", y="dev_accuracy")]),
        Stage("dn_train", "train", "flows.day_night.train:run", "the chosen model at the chosen resolution",
              params=["base.seed", "day_night.labels", "day_night.model", "day_night.train",
                      "day_night.collect.thumb_size"],
              deps=[L.assignments, L.thumbs, L.sweep_choice], outs=[L.model], metrics=[report(L.metrics)],
              plots=[report(L.history, x="epoch", y="dev_accuracy"),
                     report(L.confusion, template="confusion", x="predicted", y="actual")]),
        Stage("dn_evaluate", "evaluate", "flows.day_night.evaluate:run", "the shipped model on the real-photo check",
              params=["day_night.labels", "day_night.check", "day_night.model.backbone_weights",
                      "day_night.train.threads"],
              deps=[L.model, CHECK_SET], metrics=[report(L.check_metrics)], plots=[report(L.check_predictions)]),
        Stage("dn_human", "human", "flows.day_night.human:run", "a check sheet for people, per resolution",
              params=["base.seed", "day_night.labels", "day_night.resolutions", "day_night.human"],
              deps=[L.assignments, L.thumbs], outs=[L.human]),
    ]
