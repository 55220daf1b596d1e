"""Stage `database`: the pipeline's evaluation gallery, every person's first photos embedded into
an embedding database (with the encoder's calibrated threshold beside them).

It writes ``faces/gallery``, never the users' database ``faces/db`` (what ``enrol`` adds to and
``delete`` removes from): a pipeline run rebuilds its own output and leaves enrolled people alone."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from prefect import flow

from flows.runtime import logger, publish_table, stage_main, with_runner
from tasks.config import BaseParams
from tasks.faces import db as D
from tasks.faces.config import DatabaseParams, FacesParams, Layout
from tasks.faces.encoder import load_encoder
from tasks.faces.split import gallery_and_probes
from tasks.faces.splitdata import SplitData, embed_split
from tasks.io import atomic_dir, read_parquet


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


@flow(name="faces-database")
def database(base: BaseParams, params: DatabaseParams, encoder_dir: str, faces: str, crops: str, pretrained: str,
             out_dir: str) -> dict:
    """Write the gallery folder ``out_dir`` (embeddings.parquet + crops/), replaced atomically."""
    with atomic_dir(out_dir) as tmp:
        summary = build_db(Path(tmp), Path(encoder_dir), Path(faces), Path(crops), Path(pretrained), params)
    publish_table("faces-database", [summary], "Embedding database")
    logger().info("faces database: %s", summary)
    return summary


def run(base: BaseParams, params: FacesParams, layout: Layout, runner: str | None = None) -> None:
    """Stage faces_database: the pipeline's evaluation gallery."""
    L = layout
    with_runner(database, base, runner)(base, params.database, str(L.encoder), str(L.faces), str(L.crops),
                                        str(L.pretrained), str(L.gallery))


if __name__ == "__main__":
    stage_main(run, "faces", FacesParams, Layout)
