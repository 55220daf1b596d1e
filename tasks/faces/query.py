"""What the commands do with a database: enrol, verify (1:1), identify (1:N), cluster.

Each returns plain dicts (the JSON the commands print); photos that cannot be used give
an ``error`` entry and the rest are still processed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tasks.errors import DataError
from tasks.faces import db as D
from tasks.faces.cluster import choose_k, density
from tasks.faces.encoder import Encoder, embed_files
from tasks.faces.metrics import knn_vote
from tasks.images.io import list_images
from tasks.io import sha256_file


def threshold_of(db: D.FaceDB) -> float:
    t = db.calibration.threshold
    if t is None:
        raise DataError("the database has no calibrated threshold: build it with the pipeline "
                        "(`python -m flows.faces database`) or enrol with a calibrated encoder")
    return t


def enrol_folder(folder_db: str, encoder: Encoder, people_dir: str, time: pd.Timestamp,
                 calibration: dict | None = None, k: int = 2) -> dict:
    """Add every ``people_dir/<person>/`` photo to the database (created if needed), no retraining.

    ``calibration`` (threshold, target_far, calibrated_on), usually the encoder's own, is stored
    when the database has none yet; ``k`` (neighbours that vote) only when it is created.
    """
    root = Path(people_dir)
    if not root.is_dir():
        raise DataError(f"{root}: not a folder of person folders")
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    if not folders:
        raise DataError(f"{root}: no person folders (expected {root}/<person>/<photo>.jpg)")
    db = D.open_or_create(folder_db, encoder.identity, encoder.dim, k=k)
    db.check_encoder(encoder.identity, f"database {folder_db}")
    if db.calibration.threshold is None and calibration and calibration.get("threshold") is not None:
        db = D.with_threshold(db, calibration["threshold"], calibration["target_far"],
                              calibration.get("calibrated_on", ""))
    summary: dict = {"db": str(folder_db), "people": {}, "errors": {}, "flagged": {}}
    for person_dir in folders:
        try:
            D.check_name(person_dir.name, str(person_dir))
        except DataError as exc:
            summary["errors"][str(person_dir)] = str(exc)
            continue
        paths = [str(p) for p in list_images(person_dir)]
        got = embed_files(encoder, paths)
        summary["errors"] |= got.errors
        summary["flagged"] |= got.flagged
        if not got.files:
            continue
        person = person_dir.name
        ids = [f"{person}/{Path(f).relative_to(person_dir).with_suffix('').as_posix()}" for f in got.files]
        db.add([person] * len(ids), ids, [sha256_file(f) for f in got.files], got.embeddings, encoder.identity, time)
        D.save_crops(folder_db, [person] * len(ids), ids, got.crops)
        summary["people"][person] = len(ids)
    D.save(db, folder_db)
    summary["rows"] = len(db)
    return summary


def verify(db: D.FaceDB, encoder: Encoder, person: str, photo: str) -> dict:
    """1:1: is ``photo`` the enrolled ``person``? Distance to their nearest enrolled photo vs the threshold."""
    db.check_encoder(encoder.identity)
    threshold = threshold_of(db)
    D.check_name(person, "--person")
    if person not in set(db.rows["person"]):
        raise DataError(f"person {person!r} is not enrolled in the database")
    got = embed_files(encoder, [photo])
    if not got.files:
        return {"file": photo, "person": person, "error": got.errors[photo]}
    dist, _ = D.nearest(db.of(person), got.embeddings[0], 1)
    d = float(dist[0, 0])
    return {"file": photo, "person": person, "match": bool(d <= threshold), "distance": round(d, 6),
            "threshold": round(threshold, 6)}


def identify(db: D.FaceDB, encoder: Encoder, photos: list[str], k: int | None = None) -> list[dict]:
    """1:N: the k nearest enrolled photos vote (only those within the threshold); "unknown" if none."""
    db.check_encoder(encoder.identity)
    threshold = threshold_of(db)
    if k is not None and k < 1:
        raise DataError(f"--k {k}: the number of neighbours that vote must be at least 1")
    k = k or db.calibration.k
    got = embed_files(encoder, photos)
    found = dict(zip(got.files, range(len(got.files)), strict=True))
    dists, idxs = D.ExactIndex(db.embeddings).search(got.embeddings, k)
    out = []
    for photo in photos:
        if photo not in found:
            out.append({"file": photo, "error": got.errors.get(photo, "not processed")})
            continue
        dist, idx = dists[found[photo]], idxs[found[photo]]
        persons = db.rows["person"].to_numpy()[idx].tolist()
        best = knn_vote(dist, persons, threshold)
        out.append({"file": photo, "person": best or "unknown",
                    "matches": [{"person": p, "distance": round(float(d), 6)} for p, d in
                                zip(persons, dist, strict=True)]})
    return out


def cluster_photos(encoder: Encoder, folder: str, method: str, k_min: int, k_max: int, seed: int,
                   min_silhouette: float, n_init: int, min_cluster_size: int = 2,
                   min_samples: int = 1) -> tuple[dict, list[list[np.ndarray]]]:
    """Group the photos of an unlabelled folder by person: ``hdbscan`` (unsure photos left
    unassigned) or ``kmeans`` (k by silhouette, every photo placed).

    Returns the JSON summary (groups of files, unassigned files, k, errors) and the crops of
    each group, for the contact sheets.
    """
    paths = [str(p) for p in list_images(folder)]
    if not paths:
        raise DataError(f"{folder}: no photos")
    got = embed_files(encoder, paths)
    tried: list[dict] = []
    if method == "hdbscan":
        labels = density(got.embeddings, min_cluster_size, min_samples)
        k, how = int(labels.max(initial=-1) + 1), "HDBSCAN (photos it is unsure of left unassigned)"
    else:
        labels, k, tried = choose_k(got.embeddings, k_min, k_max, seed, n_init, min_silhouette)
        how = "k-means, k with the best silhouette"
    groups = [[f for f, lab in zip(got.files, labels, strict=True) if lab == g] for g in range(k)]
    crops = [[c for c, lab in zip(got.crops, labels, strict=True) if lab == g] for g in range(k)]
    summary = {"folder": str(folder), "k": int(k), "method": how, "tried": tried,
               "groups": [{"group": g, "files": fs} for g, fs in enumerate(groups)],
               "unassigned": [f for f, lab in zip(got.files, labels, strict=True) if lab < 0],
               "errors": got.errors, "flagged": got.flagged}
    return summary, crops


def contact_sheet(crops: list[np.ndarray], columns: int, pad: int = 2) -> np.ndarray:
    """Tile equal-size crops into one RGB image, ``columns`` wide."""
    s = crops[0].shape[0]
    rows = -(-len(crops) // columns)
    cols = min(columns, len(crops))
    sheet = np.full((rows * (s + pad) + pad, cols * (s + pad) + pad, 3), 255, np.uint8)
    for i, c in enumerate(crops):
        r, q = divmod(i, columns)
        sheet[pad + r * (s + pad):pad + r * (s + pad) + s, pad + q * (s + pad):pad + q * (s + pad) + s] = c
    return sheet
