"""The faces stages as DVC sees them (rendered into dvc.yaml by ``flows.dvc_stages``)."""

from __future__ import annotations

from tasks.faces.config import Layout

CMD = "python -m flows.faces"
COMMON = ["tasks/config.py", "tasks/io.py", "flows/runtime.py", "tasks/faces/config.py"]
MODEL = ["models/face_encoder.py", "models/checkpoint.py", "tasks/faces/encoder.py", "tasks/faces/train.py",
         "tasks/faces/pretrained.py", "tasks/faces/detect.py", "tasks/faces/splitdata.py",
         "models/dlib_resnet.py", "tasks/faces/dlib_weights.py"]


def dvc_stages(layout: Layout) -> dict[str, dict]:
    """Stage name -> dvc.yaml entry; paths come from ``layout`` (built on ``${base.data_dir}``)."""
    L = layout
    return {
        "faces_collect": {
            "cmd": f"{CMD} collect",
            "deps": [*COMMON, "tasks/faces/collect.py", "tasks/faces/synth.py", "tasks/faces/drawing.py",
                     "tasks/images/io.py",
                     "flows/faces/collect.py"],
            "params": ["base.seed", "faces.collect"],
            "outs": [{str(L.collect): {"persist": True}}],
        },
        "faces_detect": {
            "cmd": f"{CMD} detect",
            "deps": [*COMMON, "tasks/faces/detect.py", "tasks/faces/pretrained.py", "tasks/images/io.py",
                     "models/dlib_resnet.py", "tasks/faces/dlib_weights.py", "flows/faces/detect.py", str(L.collect)],
            "params": ["faces.detect"],
            "outs": [str(L.detect)],
        },
        "faces_split": {
            "cmd": f"{CMD} split",
            "deps": [*COMMON, "tasks/splits.py", "tasks/faces/split.py", "flows/faces/split.py", str(L.faces)],
            "params": ["base.seed", "faces.split"],
            "outs": [str(L.split)],
        },
        "faces_train": {
            "cmd": f"{CMD} train",
            "deps": [*COMMON, *MODEL, "models/losses.py", "tasks/faces/metrics.py", "tasks/faces/adapter.py",
                     "flows/faces/train.py", str(L.faces), str(L.crops), str(L.pretrained), str(L.assignments)],
            "params": ["base.seed", "faces.train", "faces.detect", "faces.database.gallery_per_person",
                       "faces.database.target_far"],
            "outs": [str(L.encoder), str(L.trained), str(L.train / "calibration.json"),
                     str(L.train / "candidates.json")],
            "plots": [{str(L.history): {"x": "step", "y": "dev_auc", "cache": False}}],
        },
        "faces_database": {
            "cmd": f"{CMD} database",
            "deps": [*COMMON, *MODEL, "tasks/faces/db.py", "flows/faces/database.py",
                     str(L.encoder), str(L.faces), str(L.crops), str(L.pretrained)],
            "params": ["faces.database"],
            "outs": [str(L.gallery)],
        },
        "faces_evaluate": {
            "cmd": f"{CMD} evaluate",
            "deps": [*COMMON, *MODEL, "tasks/faces/metrics.py", "tasks/faces/cluster.py", "flows/faces/evaluate.py",
                     str(L.encoder), str(L.trained), str(L.train / "candidates.json"),
                     str(L.faces), str(L.crops), str(L.pretrained), str(L.assignments)],
            "params": ["base.seed", "faces.database", "faces.cluster"],
            "outs": [str(L.evaluate / "embedding_map.png"), str(L.evaluate / "report.md")],
            "metrics": [{str(L.metrics): {"cache": False}}],
            "plots": [{str(L.evaluate / f"roc_{m}.csv"): {"x": "fpr", "y": "tpr", "cache": False}}
                      for m in ("pixels", "pretrained", "trained")],
        },
    }
