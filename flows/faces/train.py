"""Stage `train`: the lecture's triplet loss on the train people, then the choice made on dev.

``faces.train.learn`` says what is trained: ``adapter`` (a small network on top of the
pretrained dlib ResNet embedding) or ``scratch`` (the small CNN, from nothing). Both it and
the pretrained encoder get a verification threshold calibrated on the dev people for the
target false-accept rate; whichever has the higher TAR at that FAR on dev (the pretrained one
on a tie) is written as ``train/encoder``, the encoder the database stage and the commands
use. The trained one is kept in ``train/trained`` for evaluate's side-by-side comparison.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from prefect import flow

from flows.runtime import Progress, logger, publish_markdown, publish_table
from models.face_encoder import AdapterConfig
from tasks.config import BaseParams
from tasks.errors import DataError
from tasks.faces import encoder as E
from tasks.faces.adapter import train_adapter
from tasks.faces.config import DatabaseParams, DetectParams, TrainParams
from tasks.faces.metrics import probe_scores, verification
from tasks.faces.split import gallery_and_probes
from tasks.faces.splitdata import SplitData, calibrate, embed_split, load_split
from tasks.faces.train import train_encoder
from tasks.io import atomic_dir, write_json


def fit(params: TrainParams, detect: DetectParams, train: SplitData, seed: int, dev_auc,
        log) -> tuple[E.Encoder, list[dict]]:
    """Train what ``faces.train.learn`` names; returns it as an (uncalibrated) encoder and its history."""
    names = sorted(set(train.persons))
    labels = np.searchsorted(names, train.persons)
    settings, s = params.settings(), detect.settings()
    log.info("faces train: %s on %d photos of %d people, %d steps", params.learn, len(labels), len(names),
             params.steps)
    with Progress(params.steps, "faces train", unit="step") as bar:
        def on_step(step: int, row: dict) -> None:
            bar.update(step - bar.done)
            log.info("step %(step)d loss %(loss).4f violating %(violating).3f dev_auc %(dev_auc).4f", row)

        if params.learn == "adapter":
            if train.base is None:
                raise DataError("faces.train.learn: adapter needs the pretrained descriptors of the detect stage "
                                "(faces.detect.align: five_point)")
            cfg = AdapterConfig(dim=train.base.shape[1], hidden=params.adapter_hidden)
            model, history = train_adapter(
                train.base, labels, cfg, settings, seed, on_step=on_step,
                evaluate=lambda m: dev_auc(E.Encoder(E.ADAPTER, "", s, "", {}, cfg.dim, m)))
            return E.Encoder(E.ADAPTER, "", s, "", {}, cfg.dim, model), history
        config = params.encoder_config(detect.crop_size)
        model, history = train_encoder(E.resize_crops(train.crops, detect.crop_size), labels, config, settings, seed,
                                       on_step, lambda m: dev_auc(E.Encoder(E.SCRATCH, "", s, "", {},
                                                                            config.embedding_dim, m)))
        return E.Encoder(E.SCRATCH, "", s, "", {}, config.embedding_dim, model), history


def card_for(kind: str, chosen: bool, cal: dict, params: TrainParams, people: int, photos: int) -> str:
    what = {E.PRETRAINED: "dlib's pretrained ResNet (128-d; trained by its author on about 3 million real faces), "
                          "on 5-point aligned 150 x 150 chips, used as it is",
            E.ADAPTER: f"dlib's pretrained ResNet plus a {params.adapter_hidden}-unit adapter trained with the "
                       f"semi-hard triplet loss (margin {params.margin}) on {people} people ({photos} photos)",
            E.SCRATCH: f"a small CNN trained from scratch with the semi-hard triplet loss (margin {params.margin}) "
                       f"on {people} people ({photos} photos)"}[kind]
    choice = ("Chosen for the database: the better of the pretrained and the trained encoder on the dev people "
              "(TAR at the target FAR); the pipeline's gallery (data/faces/gallery) uses it. Your own database "
              "(enrol, verify, identify, cluster) uses faces.encoder instead: dlib_resnet unless set to chosen, "
              "since this choice is only as good as the dev people are like your photos."
              if chosen else "Not chosen: the other encoder was better on the dev people.")
    return (f"# Face encoder: {kind}\n\n{what}.\n\n{choice}\n\n"
            f"Verification threshold {cal['threshold']:.4f} for FAR {cal['target_far']} (calibrated on "
            f"{cal['calibrated_on']}; dev AUC {cal['dev_auc']:.4f}, dev TAR {cal['dev_tar_at_far']:.4f}).\n\n"
            "Limits: the threshold holds for photos like the dev people's; recalibrate (run the pipeline on your "
            "labelled photos) before trusting it on others.\n")


@flow(name="faces-train")
def train(base: BaseParams, params: TrainParams, detect: DetectParams, database: DatabaseParams,
          faces: str, crops: str, people: str, pretrained: str, out_dir: str) -> dict:
    """Write ``encoder/`` (the better on dev), ``trained/``, ``candidates.json``, ``calibration.json``, ``history.json``."""
    log = logger()
    args = (Path(faces), Path(crops), Path(people))
    tr, dev = (load_split(*args, split, Path(pretrained)) for split in ("train", "dev"))
    gal = np.array(gallery_and_probes(dev.ids, list(dev.persons), database.gallery_per_person))

    def dev_auc(enc: E.Encoder) -> dict:
        emb = embed_split(enc, dev)
        d, same = probe_scores(emb[gal], dev.persons[gal], emb[~gal], dev.persons[~gal])
        return {"dev_auc": verification(d, same, database.target_far)[0]["auc"]}

    trained, history = fit(params, detect, tr, base.seed, dev_auc, log)
    cands = {"trained": trained}
    if dev.base is not None:
        cands["pretrained"] = E.pretrained_encoder(detect.settings())
    cal = {name: calibrate(embed_split(enc, dev), dev.persons, dev.ids, database.gallery_per_person,
                           database.target_far) for name, enc in cands.items()}
    chosen = max(cands, key=lambda n: (cal[n]["dev_tar_at_far"], cal[n]["dev_auc"], n == "pretrained"))
    n_people, n_photos = len(set(tr.persons)), len(tr.persons)
    meta = {"train_people": n_people, "train_photos": n_photos, "chosen_on_dev": chosen}
    with atomic_dir(out_dir) as tmp:
        digests = {}
        for name, enc in cands.items():
            card = card_for(enc.kind, name == chosen, cal[name], params, n_people, n_photos)
            for folder in ([name] if name == "trained" else []) + (["encoder"] if name == chosen else []):
                digests[name] = E.save_encoder(Path(tmp) / folder, enc.kind, enc.model, detect.settings(),
                                               meta | {"calibration": cal[name]}, card)
            digests.setdefault(name, enc.hash)
        summary = {"chosen": chosen, "encoder": cands[chosen].kind, "candidates": {
            n: cal[n] | {"kind": cands[n].kind, "weights": digests[n]} for n in cands}}
        write_json(Path(tmp) / "candidates.json", summary)
        write_json(Path(tmp) / "history.json", history)
        write_json(Path(tmp) / "calibration.json", cal[chosen] | {"encoder": cands[chosen].kind,
                                                                   "weights": digests[chosen]})
    publish_table("faces-train-history", history, "Training history (loss, violating triplets, dev AUC)")
    publish_table("faces-train-candidates", [{"candidate": n, **v} for n, v in summary["candidates"].items()],
                  "Candidates on the dev people (the better TAR at the target FAR is used)")
    publish_markdown("faces-train-card", card_for(cands[chosen].kind, True, cal[chosen], params, n_people, n_photos),
                     "Face encoder model card")
    log.info("faces train: %s chosen on dev (%s)", chosen, {n: round(c["dev_tar_at_far"], 4) for n, c in cal.items()})
    return summary
