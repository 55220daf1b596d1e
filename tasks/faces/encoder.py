"""A trained encoder ready to embed photos: weights, their hash, and the crop settings it was trained on.

The checkpoint's config.json carries the detection and cropping settings, so photos enrolled
or queried later are cropped exactly like the training faces, whatever params say now.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.checkpoint import load_model, save_model, state_dict_hash
from models.face_encoder import FaceEncoder, FaceEncoderConfig
from tasks.faces.detect import DetectSettings, detect_file
from tasks.faces.train import embed_crops


@dataclass(frozen=True)
class Encoder:
    model: FaceEncoder
    hash: str
    detect: DetectSettings
    folder: str
    calibration: dict  # threshold, target_far, calibrated_on (set by the train stage), or {}


def save_encoder(folder: Path | str, model: FaceEncoder, detect: DetectSettings, meta: dict, card: str) -> str:
    """Write the checkpoint (with the crop settings); returns the weights' hash."""
    digest = state_dict_hash(model)
    save_model(folder, model, model.config, {**meta, "detect": dataclasses.asdict(detect), "weights_hash": digest},
               card)
    return digest


def load_encoder(folder: Path | str) -> Encoder:
    model, doc = load_model(folder, FaceEncoder, FaceEncoderConfig)
    detect = DetectSettings(**doc.get("detect", {}))
    return Encoder(model, state_dict_hash(model), detect, str(folder),  # type: ignore[arg-type]
                   doc.get("calibration", {}))


@dataclass(frozen=True)
class Embedded:
    """Photos that yielded a face (in input order) with their embeddings, and those that did not."""

    files: list[str]
    crops: list[np.ndarray]
    embeddings: np.ndarray  # (N, D) float32, unit length
    flagged: dict[str, str]  # file -> note (several faces: the largest used)
    errors: dict[str, str]  # file -> why there is no embedding


def embed_files(encoder: Encoder, paths: list[str]) -> Embedded:
    """Detect, crop and embed each photo; unreadable or face-less photos go to ``errors``."""
    files, crops, flagged, errors = [], [], {}, {}
    for path in paths:
        if not Path(path).is_file():
            errors[path] = "not found"
            continue
        d = detect_file(path, encoder.detect)
        if d.crop is None:
            errors[path] = d.reason or "no face"
            continue
        if d.reason:
            flagged[path] = d.reason
        files.append(path)
        crops.append(d.crop)
    dim = encoder.model.config.embedding_dim
    emb = embed_crops(encoder.model, np.stack(crops)) if crops else np.zeros((0, dim), np.float32)
    return Embedded(files, crops, emb, flagged, errors)
