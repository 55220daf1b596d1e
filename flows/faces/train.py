"""Stage `train`: the encoder on the train people (P x K batches, semi-hard triplet loss), then
its verification threshold calibrated on the dev people for the target false-accept rate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from prefect import flow

from flows.runtime import Progress, logger, publish_markdown, publish_table
from tasks.config import BaseParams
from tasks.errors import DataError
from tasks.faces.config import DatabaseParams, DetectParams, TrainParams
from tasks.faces.encoder import save_encoder
from tasks.faces.metrics import probe_scores, threshold_for_far, verification
from tasks.faces.split import gallery_and_probes
from tasks.faces.train import embed_crops, train_encoder
from tasks.io import atomic_dir, read_parquet, write_json


def load_split_crops(faces: Path, crops: Path, people: Path, split: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Crops, person names and photo ids of one split's people."""
    frame = read_parquet(faces, "detected faces")
    assign = read_parquet(people, "people split").set_index("person")["split"]
    rows = frame[frame["person"].map(assign) == split]
    arr = np.load(crops)
    return arr[rows["crop_index"].to_numpy()], rows["person"].to_numpy(), rows["photo_id"].tolist()


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


@flow(name="faces-train")
def train(base: BaseParams, params: TrainParams, detect: DetectParams, database: DatabaseParams,
          faces: str, crops: str, people: str, out_dir: str) -> dict:
    """Write the encoder checkpoint (with its calibration) and the training history."""
    log = logger()
    x, y_names, _ = load_split_crops(Path(faces), Path(crops), Path(people), "train")
    dev_x, dev_p, dev_ids = load_split_crops(Path(faces), Path(crops), Path(people), "dev")
    names = sorted(set(y_names))
    labels = np.searchsorted(names, y_names)
    log.info("faces train: %d photos of %d people, %d steps", len(x), len(names), params.steps)

    def dev_auc(model) -> dict:
        emb = embed_crops(model, dev_x)
        gal = np.array(gallery_and_probes(dev_ids, list(dev_p), database.gallery_per_person))
        d, same = probe_scores(emb[gal], dev_p[gal], emb[~gal], dev_p[~gal])
        return {"dev_auc": verification(d, same, database.target_far)[0]["auc"]}

    with Progress(params.steps, "faces train", unit="step") as bar:
        def on_step(step: int, row: dict) -> None:
            bar.update(step - bar.done)
            log.info("step %(step)d loss %(loss).4f violating %(violating).3f dev_auc %(dev_auc).4f", row)

        config = params.encoder_config(detect.crop_size)
        model, history = train_encoder(x, labels, config, params.settings(), base.seed, on_step, dev_auc)
    cal = calibrate(embed_crops(model, dev_x), dev_p, dev_ids, database.gallery_per_person, database.target_far)
    card = (f"# Face encoder\n\nSmall CNN, {config.embedding_dim}-d unit-length embeddings of "
            f"{config.input_size}x{config.input_size} face crops, trained with the semi-hard triplet loss "
            f"(margin {params.margin}) on {len(names)} people ({len(x)} photos).\n\n"
            f"Verification threshold {cal['threshold']:.4f} for FAR {cal['target_far']} "
            f"(calibrated on {cal['calibrated_on']}; dev AUC {cal['dev_auc']:.4f}).\n\n"
            "Limits: trained on the data named in params.yaml (by default generated faces); "
            "recalibrate before trusting it on real photos.\n")
    with atomic_dir(out_dir) as tmp:
        digest = save_encoder(Path(tmp) / "encoder", model, detect.settings(),
                              {"calibration": cal, "train_people": len(names), "train_photos": len(x)}, card)
        write_json(Path(tmp) / "history.json", history)
        write_json(Path(tmp) / "calibration.json", cal | {"encoder": digest})
    publish_table("faces-train-history", history, "Training history (loss, violating triplets, dev AUC)")
    publish_markdown("faces-train-card", card, "Face encoder model card")
    log.info("faces train: encoder %s, %s", digest, cal)
    return cal | {"encoder": digest}
