"""The day/night stages as DVC sees them (rendered into dvc.yaml by ``flows.dvc_stages``)."""

from __future__ import annotations

from tasks.day_night.config import Layout

CMD = "python -m flows.day_night"
COMMON = ["tasks/config.py", "tasks/io.py", "flows/runtime.py", "flows/day_night/common.py",
          "tasks/day_night/config.py"]
TRAINING = ["models/day_night.py", "models/day_night_backbone.py", "models/pretrained.py", "models/losses.py",
            "models/checkpoint.py", "tasks/day_night/train.py", "tasks/day_night/head.py",
            "tasks/day_night/features.py", "tasks/day_night/learners.py", "tasks/images/thumbs.py"]
CHECK = ["tasks/day_night/check.py", "tasks/images/io.py"]
CHECK_SET = "assets/day_night/real-photos"  # the shipped real-photo check (params: day_night.check.manifest)


def _report(path: object, **plot: str) -> dict:
    """A small report file kept in git rather than the DVC cache."""
    return {str(path): {"cache": False, **plot}}


def dvc_stages(layout: Layout) -> dict[str, dict]:
    """Stage name -> dvc.yaml entry; paths come from ``layout`` (built on ``${base.data_dir}``)."""
    L = layout
    return {
        "dn_collect": {
            "cmd": f"{CMD} collect",
            "deps": [*COMMON, "tasks/images/io.py", "tasks/images/catalogue.py", "tasks/images/hashing.py",
                     "tasks/images/thumbs.py", "tasks/day_night/demo.py", "tasks/day_night/scenes.py",
                     "tasks/day_night/render.py", "tasks/day_night/indoor.py", "flows/day_night/collect.py"],
            "params": ["base.seed", "day_night.generate", "day_night.collect"],
            "outs": [{str(L.demo): {"persist": True}}, {str(L.collect): {"persist": True}}],
        },
        "dn_validate": {
            "cmd": f"{CMD} validate",
            "deps": [*COMMON, "tasks/images/review.py", "tasks/images/hashing.py", "tasks/images/io.py",
                     "flows/day_night/validate.py", str(L.catalogue)],
            "params": ["day_night.labels", "day_night.resolutions", "day_night.validate"],
            "outs": [{str(L.validate): {"persist": True}}],
            "plots": [_report(L.resolution_table, x="resolution", y="share_below"), _report(L.resolution_plot)],
        },
        "dn_split": {
            "cmd": f"{CMD} split",
            "deps": [*COMMON, "tasks/splits.py", "tasks/images/split.py", "flows/day_night/split.py", str(L.images),
                     str(L.thumbs)],
            "params": ["base.seed", "day_night.labels", "day_night.split", "day_night.train.balance"],
            "outs": [{str(L.split): {"persist": True}}],
            "metrics": [_report(L.balance)],
        },
        "dn_sweep": {
            "cmd": f"{CMD} sweep",
            "deps": [*COMMON, *TRAINING, *CHECK, "flows/day_night/sweep.py", str(L.assignments), str(L.thumbs),
                     CHECK_SET],
            "params": ["base.seed", "day_night.labels", "day_night.resolutions", "day_night.model", "day_night.sweep",
                       "day_night.check", "day_night.collect.thumb_size",
                       *(f"day_night.train.{k}" for k in ("model", "batch_size", "lr", "weight_decay", "balance",
                                                          "flip", "threshold", "threads"))],
            "metrics": [_report(L.sweep_choice)],
            "plots": [_report(L.sweep_curve, x="resolution", y="dev_accuracy")],
        },
        "dn_train": {
            "cmd": f"{CMD} train",
            "deps": [*COMMON, *TRAINING, "flows/day_night/train.py",
                     "flows/day_night/sweep.py", str(L.assignments), str(L.thumbs), str(L.sweep_choice)],
            "params": ["base.seed", "day_night.labels", "day_night.model", "day_night.train",
                       "day_night.collect.thumb_size"],
            "outs": [{str(L.model): {"persist": True}}],
            "metrics": [_report(L.metrics)],
            "plots": [_report(L.history, x="epoch", y="dev_accuracy"),
                      _report(L.confusion, template="confusion", x="predicted", y="actual")],
        },
        "dn_evaluate": {
            "cmd": f"{CMD} evaluate",
            "deps": [*COMMON, *CHECK, "models/day_night.py", "models/day_night_backbone.py", "models/pretrained.py",
                     "models/checkpoint.py", "tasks/day_night/classify.py", "tasks/day_night/features.py",
                     "tasks/day_night/head.py", "tasks/day_night/train.py", "tasks/images/thumbs.py",
                     "flows/day_night/evaluate.py", str(L.model), CHECK_SET],
            "params": ["day_night.labels", "day_night.check", "day_night.model.backbone_weights",
                       "day_night.train.threads"],
            "metrics": [_report(L.check_metrics)],
            "plots": [_report(L.check_predictions)],
        },
        "dn_human": {
            "cmd": f"{CMD} human",
            "deps": [*COMMON, "tasks/day_night/human.py", "flows/day_night/human.py", str(L.assignments),
                     str(L.thumbs)],
            "params": ["base.seed", "day_night.labels", "day_night.resolutions", "day_night.human"],
            "outs": [{str(L.human): {"persist": True}}],
        },
    }
