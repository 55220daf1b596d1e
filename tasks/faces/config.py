"""Typed params of the faces pipeline (the ``faces`` section of params.yaml) and its paths."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from models.face_encoder import FaceEncoderConfig
from tasks.config import StrictModel
from tasks.faces.detect import DetectSettings
from tasks.faces.train import Augment, TrainSettings


class DemoParams(StrictModel):
    """The generated demo set (used when no folder or manifest is given)."""

    people: int = Field(60, ge=4)
    photos_per_person: int = Field(10, ge=2)
    photo_size: int = Field(160, ge=64)
    no_face_photos: int = Field(4, ge=0)
    group_photos: int = Field(4, ge=0)
    new_people: int = Field(4, ge=0)
    new_photos_per_person: int = Field(4, ge=2)
    unlabelled_people: int = Field(5, ge=0)
    unlabelled_photos_per_person: int = Field(6, ge=1)


class CollectParams(StrictModel):
    photos_dir: str | None = None
    manifest: str | None = None
    demo: DemoParams = DemoParams()

    @model_validator(mode="after")
    def _one_source(self) -> CollectParams:
        if self.photos_dir and self.manifest:
            raise ValueError("give photos_dir or manifest, not both")
        return self


class DetectParams(StrictModel):
    detector: Literal["hog", "cnn", "haar"] = "hog"
    upsample: int = Field(1, ge=0, le=3)
    align: Literal["five_point", "none"] = "five_point"
    max_roll_deg: float = Field(35.0, gt=0, le=90)
    min_eye_px: float = Field(10.0, ge=0)
    scale_factor: float = Field(1.05, gt=1.0, le=2.0)
    min_neighbors: int = Field(5, ge=1)
    min_detect_px: int = Field(24, ge=16)
    min_face_px: int = Field(40, ge=1)
    margin: float = Field(0.2, ge=0.0, le=1.0)
    crop_size: int = Field(40, ge=16, le=256)
    max_side: int = Field(640, ge=64)
    min_side: int = Field(32, ge=1)
    max_aspect: float = Field(4.0, ge=1.0)
    clahe: bool = True
    photos_per_task: int = Field(32, ge=1)

    def settings(self) -> DetectSettings:
        return DetectSettings(**self.model_dump(exclude={"photos_per_task"}))


class SplitParams(StrictModel):
    dev_fraction: float = Field(0.15, gt=0, lt=1)
    test_fraction: float = Field(0.2, gt=0, lt=1)

    @model_validator(mode="after")
    def _sum(self) -> SplitParams:
        if self.dev_fraction + self.test_fraction >= 1:
            raise ValueError("dev_fraction + test_fraction must leave people for training")
        return self


class AugmentParams(StrictModel):
    rotate_deg: float = Field(10.0, ge=0)
    scale: float = Field(0.1, ge=0, lt=1)
    shift: float = Field(0.06, ge=0, lt=0.5)
    flip: bool = True
    brightness: float = Field(0.3, ge=0, lt=1)
    contrast: float = Field(0.3, ge=0, lt=1)
    color: float = Field(0.15, ge=0, lt=1)
    noise: float = Field(4.0, ge=0)


class ModelParams(StrictModel):
    channels: tuple[int, ...] = Field((16, 32, 64, 128), min_length=1)
    convs_per_stage: int = Field(1, ge=1)
    embedding_dim: int = Field(128, ge=2)
    dropout: float = Field(0.0, ge=0, lt=1)


class TrainParams(StrictModel):
    learn: Literal["adapter", "scratch"] = "adapter"
    adapter_hidden: int = Field(128, ge=1)
    steps: int = Field(400, ge=1)
    people_per_batch: int = Field(16, ge=2)
    photos_per_person: int = Field(4, ge=2)
    lr: float = Field(2e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    margin: float = Field(0.2, ge=0)
    warmup_steps: int = Field(20, ge=1)
    threads: int = Field(1, ge=1)
    log_every: int = Field(25, ge=1)
    augment: AugmentParams = AugmentParams()
    model: ModelParams = ModelParams()

    def settings(self) -> TrainSettings:
        d = self.model_dump(exclude={"augment", "model", "learn", "adapter_hidden"})
        return TrainSettings(**d, augment=Augment(**self.augment.model_dump()))

    def encoder_config(self, crop_size: int) -> FaceEncoderConfig:
        m = self.model
        return FaceEncoderConfig(input_size=crop_size, channels=m.channels, convs_per_stage=m.convs_per_stage,
                                 embedding_dim=m.embedding_dim, dropout=m.dropout)


class DatabaseParams(StrictModel):
    gallery_per_person: int = Field(3, ge=1)
    target_far: float = Field(0.01, gt=0, lt=1)
    k: int = Field(2, ge=1)


class ClusterParams(StrictModel):
    method: Literal["hdbscan", "kmeans"] = "hdbscan"
    min_cluster_size: int = Field(2, ge=2)
    min_samples: int = Field(1, ge=1)
    k_min: int = Field(2, ge=2)
    k_max: int = Field(20, ge=2)
    min_silhouette: float = Field(0.1, ge=-1, le=1)
    n_init: int = Field(4, ge=1)
    sheet_columns: int = Field(8, ge=1)


class FacesParams(StrictModel):
    """The whole ``faces`` section."""

    encoder: Literal["dlib_resnet", "chosen"] = "dlib_resnet"
    collect: CollectParams = CollectParams()
    detect: DetectParams = DetectParams()
    split: SplitParams = SplitParams()
    train: TrainParams = TrainParams()
    database: DatabaseParams = DatabaseParams()
    cluster: ClusterParams = ClusterParams()


class Layout:
    """Where each faces stage writes, under ``data_dir`` (the one place paths are named)."""

    def __init__(self, data_dir: str | Path):
        root = Path(data_dir) / "faces"
        self.root = root
        self.collect = root / "collect"
        self.manifest = self.collect / "manifest.parquet"
        self.demo = self.collect / "demo"  # new people to enrol, queries, an unlabelled folder
        self.detect = root / "detect"
        self.faces = self.detect / "faces.parquet"
        self.crops = self.detect / "crops.npy"
        self.pretrained = self.detect / "dlib_resnet.npy"  # the pretrained encoder's vectors of the crops
        self.split = root / "split"
        self.assignments = self.split / "people.parquet"
        self.train = root / "train"
        self.encoder = self.train / "encoder"  # the encoder chosen on dev (the database's and commands')
        self.trained = self.train / "trained"  # what the train stage learned (evaluate compares it)
        self.history = self.train / "history.json"
        self.db = root / "db"  # the users' database (enrol, delete); no stage writes it
        self.gallery = root / "gallery"  # the pipeline's evaluation gallery (the database stage)
        self.evaluate = root / "evaluate"
        self.metrics = self.evaluate / "metrics.json"
        self.roc = self.evaluate / "roc.csv"
        self.clusters = root / "clusters"
