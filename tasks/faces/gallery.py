"""The body of stage faces_database: every person's first photos embedded into the pipeline's evaluation gallery
(with the encoder's calibrated threshold beside them).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from tasks.faces import db as D
from tasks.faces.config import DatabaseParams
from tasks.faces.encoder import load_encoder
from tasks.faces.split import gallery_and_probes
from tasks.faces.splitdata import SplitData, embed_split
from tasks.io import read_parquet


def build_time() -> pd.Timestamp:
    """Enrolment time of a pipeline build: ``SOURCE_DATE_EPOCH`` (0 if unset), so reruns give equal bytes."""
    return pd.Timestamp(int(os.environ.get("SOURCE_DATE_EPOCH", "0")), unit="s", tz="UTC")


def build_db(tmp: Path, encoder_dir: Path, faces: Path, crops: Path, pretrained: Path, params: DatabaseParams) -> dict:
    encoder = load_encoder(encoder_dir)
    cal = encoder.calibration
    frame = read_parquet(faces, "detected faces")
    gallery = np.array(gallery_and_probes(frame["photo_id"].tolist(), frame["person"].tolist(),
                                          params.gallery_per_person))
    rows = frame[gallery]
    index = rows["crop_index"].to_numpy()
    arr = np.load(crops)[index]
    base = np.load(pretrained)[index] if pretrained.is_file() else None
    db = D.FaceDB(D.Calibration(dim=encoder.dim, k=params.k, **encoder.identity))
    if cal:
        db = D.with_threshold(db, cal["threshold"], cal["target_far"], cal["calibrated_on"])
    persons, ids = rows["person"].tolist(), rows["photo_id"].tolist()
    emb = embed_split(encoder, SplitData(arr, base, rows["person"].to_numpy(), ids))
    db.add(persons, ids, rows["sha256"].tolist(), emb, encoder.identity, build_time())
    D.save(db, tmp)
    D.save_crops(tmp, persons, ids, list(arr))
    return {"people": len(db.persons), "photos": len(db), "encoder": encoder.name,
            "threshold": db.calibration.threshold, "target_far": db.calibration.target_far, "k": params.k}
