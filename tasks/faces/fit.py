"""Stage faces_train's training and model card: the lecture's triplet loss on the train people.

``faces.train.learn`` says what is trained: ``adapter`` (a small network on top of the
pretrained dlib ResNet embedding) or ``scratch`` (the small CNN, from nothing).
"""

from __future__ import annotations

import numpy as np

from models.face_encoder import AdapterConfig
from tasks.errors import DataError
from tasks.faces import encoder as E
from tasks.faces.adapter import train_adapter
from tasks.faces.config import DetectParams, TrainParams
from tasks.faces.splitdata import SplitData
from tasks.faces.train import train_encoder
from tasks.progress import Progress


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
