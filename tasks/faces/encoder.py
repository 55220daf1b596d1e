"""An encoder ready to embed photos: which model, its hash, and the detection/alignment it reads.

Three kinds, one interface (:meth:`Encoder.embed` on the crops :mod:`tasks.faces.detect` makes):

- ``dlib_resnet``: dlib's pretrained ResNet (128-d) on 5-point aligned 150 x 150 chips;
- ``dlib_resnet+adapter``: that, then a small adapter trained with the triplet loss;
- ``scratch``: the lecture's small CNN, trained from scratch on ``crop_size`` crops.

A checkpoint folder's config.json names the kind and carries the detection settings, so
photos enrolled or queried later are found and aligned exactly as the training faces were,
whatever params say now. ``--encoder dlib_resnet`` (no folder) is the pretrained encoder
with the current detection params and dlib's own threshold.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from models.checkpoint import CheckpointError, load_model, read_config, save_model, state_dict_hash
from models.face_encoder import AdapterConfig, EmbeddingAdapter, FaceEncoder, FaceEncoderConfig
from tasks.errors import DataError
from tasks.faces import pretrained as P
from tasks.faces.detect import DetectSettings, detect_file
from tasks.faces.train import deterministic, embed_crops

PRETRAINED, ADAPTER, SCRATCH = P.ENCODER_NAME, f"{P.ENCODER_NAME}+adapter", "scratch"
KINDS = (PRETRAINED, ADAPTER, SCRATCH)


def detector_id(s: DetectSettings) -> str:
    """The detector, as the database records it."""
    if s.detector == "haar":
        return f"haar(scale_factor={s.scale_factor},min_neighbors={s.min_neighbors},clahe={s.clahe})"
    return f"dlib_{s.detector}(upsample={s.upsample})"


def alignment_id(s: DetectSettings) -> str:
    """The alignment, as the database records it."""
    if s.align == "five_point":
        return f"five_point_chip({P.CHIP_SIZE}px,padding={P.CHIP_PADDING})"
    return f"box_crop({s.crop_size}px,margin={s.margin})"


def resize_crops(crops: np.ndarray, size: int) -> np.ndarray:
    """``(N, S, S, 3)`` -> ``(N, size, size, 3)`` uint8 (area interpolation when shrinking)."""
    if crops.shape[1] == size:
        return crops
    interp = cv2.INTER_AREA if crops.shape[1] > size else cv2.INTER_LINEAR
    out = [cv2.resize(np.ascontiguousarray(c), (size, size), interpolation=interp) for c in crops]
    return np.stack(out) if out else np.zeros((0, size, size, 3), np.uint8)


@dataclass(frozen=True)
class Encoder:
    kind: str  # one of KINDS
    hash: str  # weights: the pretrained file's SHA-256 prefix, or the trained weights' hash
    detect: DetectSettings
    folder: str
    calibration: dict  # threshold, target_far, calibrated_on; or {}
    dim: int
    model: nn.Module | None = None  # the adapter or the from-scratch CNN

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.hash}"

    @property
    def identity(self) -> dict[str, str]:
        """What made a vector: encoder, detector and alignment (the database's guard compares all three)."""
        return {"encoder": self.name, "detector": detector_id(self.detect), "alignment": alignment_id(self.detect)}

    def from_pretrained(self, base: np.ndarray) -> np.ndarray:
        """Embeddings from precomputed dlib descriptors ``(N, 128)`` (dlib kinds only)."""
        if self.kind == PRETRAINED:
            return base.astype(np.float32)
        if self.kind != ADAPTER or self.model is None:
            raise ValueError(f"{self.kind} does not read pretrained descriptors")
        with deterministic(1), torch.inference_mode():
            return self.model.eval()(torch.from_numpy(np.ascontiguousarray(base, np.float32))).numpy()

    def embed(self, crops: np.ndarray) -> np.ndarray:
        """``(N, S, S, 3)`` uint8 crops (as detect made them) -> ``(N, dim)`` float32."""
        if self.kind == SCRATCH:
            assert isinstance(self.model, FaceEncoder)
            return embed_crops(self.model, resize_crops(crops, self.model.config.input_size))
        return self.from_pretrained(P.embed_chips(crops))


def pretrained_encoder(detect: DetectSettings, calibration: dict | None = None, folder: str = "") -> Encoder:
    """dlib's ResNet; without a calibration, dlib's published threshold (not calibrated on your people)."""
    if detect.align != "five_point":
        raise DataError("the dlib_resnet encoder needs faces.detect.align: five_point (its aligned 150 px chips)")
    cal = calibration or {"threshold": P.DLIB_THRESHOLD, "target_far": None,
                          "calibrated_on": "dlib's published threshold (LFW), not calibrated on your people"}
    return Encoder(PRETRAINED, P.encoder_hash(), detect, folder, cal, P.DIM)


def save_encoder(folder: Path | str, kind: str, model: nn.Module | None, detect: DetectSettings, meta: dict,
                 card: str) -> str:
    """Write a checkpoint folder of any kind (the pretrained kind: config.json and card only); returns its hash."""
    folder = Path(folder)
    common = {**meta, "kind": kind, "detect": dataclasses.asdict(detect)}
    if model is None:
        folder.mkdir(parents=True, exist_ok=True)
        doc = {"format_version": 1, "architecture": "dlib_resnet", **common, "weights_hash": P.encoder_hash()}
        (folder / "config.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        (folder / "model_card.md").write_text(card)
        return P.encoder_hash()
    digest = state_dict_hash(model)
    save_model(folder, model, model.config, {**common, "weights_hash": digest}, card)
    return digest


def load_encoder(spec: Path | str, detect: DetectSettings | None = None) -> Encoder:
    """``dlib_resnet`` (with ``detect``, default settings if None) or a checkpoint folder of any kind."""
    if str(spec) == PRETRAINED:
        return pretrained_encoder(detect or DetectSettings())
    folder = Path(spec)
    hint = ("pass --encoder dlib_resnet (the pretrained encoder) or the folder the faces train stage wrote "
            "(data/faces/train/encoder)")
    if not folder.is_dir():
        raise DataError(f"{folder}: no encoder here; {hint}")
    try:
        doc = read_config(folder)
        kind = doc.get("kind", SCRATCH)
        settings = DetectSettings(**doc.get("detect", {}))
        if kind == PRETRAINED:
            return pretrained_encoder(settings, doc.get("calibration"), str(folder))
        if kind not in KINDS:
            raise CheckpointError(f"{folder / 'config.json'}: unknown encoder kind {kind!r}")
        cls, cfg = (EmbeddingAdapter, AdapterConfig) if kind == ADAPTER else (FaceEncoder, FaceEncoderConfig)
        model, _ = load_model(folder, cls, cfg)
    except (CheckpointError, TypeError, OSError) as exc:
        raise DataError(f"{folder}: not a usable face encoder ({exc}); {hint}") from None
    dim = model.config.dim if kind == ADAPTER else model.config.embedding_dim
    return Encoder(kind, state_dict_hash(model), settings, str(folder), doc.get("calibration", {}), dim, model)


CHOSEN = "chosen"  # the encoder the train stage chose on dev (its folder under data/faces/train)


def resolve_spec(spec: str, chosen_folder: Path | str) -> str:
    """``chosen`` -> the folder of the encoder the pipeline chose on dev; anything else as given."""
    if spec != CHOSEN:
        return spec
    if not (Path(chosen_folder) / "config.json").is_file():
        raise DataError(f"{chosen_folder}: the pipeline has not chosen an encoder yet (run `python -m flows.faces "
                        f"train`, or `dvc repro`); or use the pretrained dlib_resnet")
    return str(chosen_folder)


def command_encoder(explicit: str | None, default: str, chosen_folder: Path | str, db_identity: dict | None,
                    detect: DetectSettings) -> Encoder:
    """The encoder a command (enrol, verify, identify, cluster) uses.

    ``explicit`` (``--encoder``) wins. An existing database is read with the encoder that built it
    (among ``default``, the pretrained one and the pipeline's choice; if none matches, ``default``,
    which the database's guard then refuses, naming the difference). A new database, or none
    (cluster), gets ``default``: ``faces.encoder``, the pretrained ``dlib_resnet`` unless set to
    ``chosen``, since the pipeline's dev choice is made on the generated demo people, not on photos.
    """
    if explicit:
        return load_encoder(resolve_spec(explicit, chosen_folder), detect)
    first = load_encoder(resolve_spec(default, chosen_folder), detect)
    if db_identity is None or first.identity == db_identity:
        return first
    options = [PRETRAINED] + ([str(chosen_folder)] if (Path(chosen_folder) / "config.json").is_file() else [])
    for spec in options:
        enc = load_encoder(spec, detect)
        if enc.identity == db_identity:
            return enc
    return first


@dataclass(frozen=True)
class Embedded:
    """Photos that yielded a face (in input order) with their embeddings, and those that did not."""

    files: list[str]
    crops: list[np.ndarray]
    embeddings: np.ndarray  # (N, D) float32
    flagged: dict[str, str]  # file -> note (several faces: the largest used)
    errors: dict[str, str]  # file -> why there is no embedding


def embed_files(encoder: Encoder, paths: list[str]) -> Embedded:
    """Detect, align and embed each photo; unreadable or face-less photos go to ``errors``."""
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
    emb = encoder.embed(np.stack(crops)) if crops else np.zeros((0, encoder.dim), np.float32)
    return Embedded(files, crops, emb, flagged, errors)
