"""The faces stage registry: dvc.yaml (``python -m flows.dvc_stages``) and the CLI are made from it."""

from __future__ import annotations

from flows.registry import Stage, report
from tasks.faces.config import Layout


def stages(layout: Layout) -> list[Stage]:
    """The stages in run order; paths come from ``layout`` (built on ``${base.data_dir}`` for dvc.yaml)."""
    L = layout
    return [
        Stage("faces_collect", "collect", "flows.faces.collect:run",
              "the photos to use, as a manifest (folders, a CSV, or the generated demo)",
              params=["base.seed", "faces.collect"], outs=[L.collect]),
        Stage("faces_detect", "detect", "flows.faces.detect:run", "find and crop every face",
              params=["faces.detect"], deps=[L.collect], outs=[L.detect]),
        Stage("faces_split", "split", "flows.faces.split:run", "people (never photos) into train, dev and test",
              params=["base.seed", "faces.split"], deps=[L.faces], outs=[L.split]),
        Stage("faces_train", "train", "flows.faces.train:run", "the triplet loss, then the encoder chosen on dev",
              params=["base.seed", "faces.train", "faces.detect",
                      "faces.database.gallery_per_person", "faces.database.target_far"],
              deps=[L.faces, L.crops, L.pretrained, L.assignments],
              outs=[L.encoder, L.trained, L.train / "calibration.json", L.train / "candidates.json"],
              plots=[report(L.history, x="step", y="dev_auc")]),
        Stage("faces_database", "database", "flows.faces.database:run", "the pipeline's evaluation gallery",
              params=["faces.database"], deps=[L.encoder, L.faces, L.crops, L.pretrained], outs=[L.gallery]),
        Stage("faces_evaluate", "evaluate", "flows.faces.evaluate:run",
              "pixels, pretrained and trained encoders side by side on the test people",
              params=["base.seed", "faces.database", "faces.cluster"],
              deps=[L.encoder, L.trained, L.train / "candidates.json", L.faces, L.crops, L.pretrained,
                    L.assignments],
              outs=[L.evaluate / "embedding_map.png", L.evaluate / "report.md"], metrics=[report(L.metrics)],
              plots=[report(L.evaluate / f"roc_{m}.csv", x="fpr", y="tpr")
                     for m in ("pixels", "pretrained", "trained")]),
    ]
