"""One split's faces as the train, database and evaluate stages read them, and the dev calibration.

The pretrained encoder's descriptors are computed once by the detect stage
(``dlib_resnet.npy``, one row per crop); encoders that read them (the pretrained one and
its adapter) take them from there instead of running the ResNet again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tasks.errors import DataError
from tasks.faces import encoder as E
from tasks.faces.metrics import probe_scores, threshold_for_far, verification
from tasks.faces.split import gallery_and_probes
from tasks.io import read_parquet


@dataclass(frozen=True)
class SplitData:
    """One split's faces: crops ``(N, S, S, 3)``, pretrained descriptors ``(N, 128)`` or None, names, ids."""

    crops: np.ndarray
    base: np.ndarray | None
    persons: np.ndarray
    ids: list[str]


def load_split(faces: Path, crops: Path, people: Path, split: str, pretrained: Path | None = None) -> SplitData:
    """The crops (and pretrained descriptors, when the detect stage made them) of one split's people."""
    frame = read_parquet(faces, "detected faces")
    assign = read_parquet(people, "people split").set_index("person")["split"]
    rows = frame[frame["person"].map(assign) == split]
    index = rows["crop_index"].to_numpy()
    base = np.load(pretrained)[index] if pretrained is not None and pretrained.is_file() else None
    return SplitData(np.load(crops)[index], base, rows["person"].to_numpy(), rows["photo_id"].tolist())


def embed_split(encoder: E.Encoder, data: SplitData) -> np.ndarray:
    """An encoder's vectors of a split (from the precomputed descriptors where it reads those)."""
    if encoder.kind != E.SCRATCH and data.base is not None and len(data.base) == len(data.crops):
        return encoder.from_pretrained(data.base)
    return encoder.embed(data.crops)


def calibrate(emb: np.ndarray, persons: np.ndarray, ids: list[str], per_person: int, target_far: float) -> dict:
    """Threshold on held-out people: probes against each person's first ``per_person`` photos."""
    gallery = np.array(gallery_and_probes(ids, list(persons), per_person))
    if len(set(persons[gallery])) < 2 or (~gallery).sum() == 0:
        raise DataError("calibration needs at least 2 dev people with more than "
                        f"faces.database.gallery_per_person = {per_person} photos each")
    dist, same = probe_scores(emb[gallery], persons[gallery], emb[~gallery], persons[~gallery])
    threshold = threshold_for_far(dist[~same], target_far)
    metrics, _ = verification(dist, same, target_far, threshold)
    return {"threshold": threshold, "target_far": target_far, "dev_auc": metrics["auc"],
            "dev_tar_at_far": metrics["tar_at_calibrated"],
            "calibrated_on": f"{len(set(persons))} dev people, {int((~same).sum())} impostor scores"}
