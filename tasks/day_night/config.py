"""Typed params of the day/night pipeline (the ``day_night`` section of params.yaml) and its layout."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator

from tasks.config import SplitRuleParams, StrictModel

BALANCE_CHOICES = ("sampler", "class_weights", "downsample", "none")
MODEL_KINDS = ("cnn", "backbone")


class GenerateParams(StrictModel):
    images: int = Field(600, ge=0)
    night_share: float = Field(0.5, gt=0, lt=1)
    sizes: tuple[tuple[int, int], ...] = Field(((640, 480), (800, 600), (1024, 768), (1280, 720)),
                                              min_length=1)
    small_share: float = Field(0.03, ge=0, le=1)
    portrait_share: float = Field(0.15, ge=0, le=1)
    burst_share: float = Field(0.12, ge=0, le=1)
    png_share: float = Field(0.1, ge=0, le=1)
    rotated_share: float = Field(0.05, ge=0, le=1)
    grayscale_share: float = Field(0.02, ge=0, le=1)
    jpeg_quality: tuple[int, int] = (75, 95)
    odd_files: bool = True
    shard_size: int = Field(50, ge=1)

    @field_validator("sizes")
    @classmethod
    def _sizes(cls, v: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
        if any(w < 64 or h < 64 or w * h > 40_000_000 for w, h in v):
            raise ValueError("image sizes must be at least 64 x 64 and at most 40 MP")
        return v

    @field_validator("jpeg_quality")
    @classmethod
    def _quality(cls, v: tuple[int, int]) -> tuple[int, int]:
        if not 1 <= v[0] <= v[1] <= 100:
            raise ValueError("JPEG quality range must be [low, high] within 1-100")
        return v


class CollectParams(StrictModel):
    images_dir: str | None = None
    manifest: str | None = None
    thumb_size: int = Field(128, ge=8, le=1024)
    shard_size: int = Field(64, ge=1)

    @model_validator(mode="after")
    def _one_source(self) -> CollectParams:
        if self.images_dir and self.manifest:
            raise ValueError("set images_dir or manifest, not both")
        return self


class ValidateParams(StrictModel):
    min_side: int = Field(64, ge=1)
    max_aspect: float = Field(3.0, ge=1)
    near_duplicate_distance: int = Field(8, ge=0, le=32)


class SplitParams(SplitRuleParams):
    montage: int = Field(32, ge=0)


class ModelParams(StrictModel):
    channels: tuple[int, ...] = Field((8, 16, 32), min_length=1, max_length=6)
    dropout: float = Field(0.2, ge=0, lt=1)
    backbone: str = Field("mobilenet_v2", pattern="^(mobilenet_v2)$")
    backbone_weights: str | None = None
    backbone_input: int | None = Field(None, ge=16, le=512)
    head_l2: float = Field(0.3, ge=0)

    @field_validator("channels")
    @classmethod
    def _channels(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if any(c < 1 for c in v):
            raise ValueError("channel counts must be >= 1")
        return v


class TrainParams(StrictModel):
    model: str = Field("backbone", pattern="^(" + "|".join(MODEL_KINDS) + ")$")
    resolution: int | None = Field(None, ge=4)
    epochs: int = Field(10, ge=1)
    batch_size: int = Field(64, ge=1)
    lr: float = Field(0.003, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    balance: str = Field("sampler", pattern="^(" + "|".join(BALANCE_CHOICES) + ")$")
    flip: bool = True
    threshold: float = Field(0.5, gt=0, lt=1)
    threads: int = Field(2, ge=1)


class SweepParams(StrictModel):
    epochs: int = Field(4, ge=1)
    tolerance: float = Field(0.02, ge=0, lt=1)
    choose_on: str = Field("check", pattern="^(dev|check)$")


class CheckParams(StrictModel):
    """The real-photo check: labelled photographs the model never trains on."""

    manifest: str | None = "assets/day_night/real-photos/labels.csv"


class HumanParams(StrictModel):
    per_resolution: int = Field(12, ge=1)
    split: str = Field("test", pattern="^(train|dev|test)$")
    display_px: int = Field(192, ge=32, le=1024)


class DayNightParams(StrictModel):
    """The whole ``day_night`` section of params.yaml."""

    labels: tuple[str, str] = ("day", "night")
    resolutions: tuple[int, ...] = Field((16, 32, 64, 128), min_length=1)
    generate: GenerateParams = GenerateParams()
    collect: CollectParams = CollectParams()
    validate_: ValidateParams = Field(ValidateParams(), alias="validate")
    split: SplitParams = SplitParams()
    model: ModelParams = ModelParams()
    sweep: SweepParams = SweepParams()
    train: TrainParams = TrainParams()
    human: HumanParams = HumanParams()
    check: CheckParams = CheckParams()

    @field_validator("labels")
    @classmethod
    def _labels(cls, v: tuple[str, str]) -> tuple[str, str]:
        if v[0] == v[1] or not all(v):
            raise ValueError("two different, non-empty class names: [negative, positive]")
        return v

    @field_validator("resolutions")
    @classmethod
    def _resolutions(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if any(r < 4 for r in v) or len(set(v)) != len(v):
            raise ValueError("candidate resolutions must be distinct and at least 4 px")
        return tuple(sorted(v))

    @model_validator(mode="after")
    def _fit(self) -> DayNightParams:
        top = max(self.resolutions + ((self.train.resolution,) if self.train.resolution else ()))
        if top > self.collect.thumb_size:
            raise ValueError(f"resolution {top} exceeds collect.thumb_size {self.collect.thumb_size}: "
                             "thumbnails are made once, at the largest size any stage needs")
        if self.sweep.choose_on == "check" and not self.check.manifest:
            raise ValueError("sweep.choose_on: check needs check.manifest (the labelled real photos)")
        return self

    @property
    def positive(self) -> str:
        return self.labels[1]


class Layout:
    """Where each day/night stage writes, under ``data_dir`` (the one place paths are named)."""

    def __init__(self, data_dir: str | Path):
        root = Path(data_dir) / "day_night"
        self.root = root
        self.demo = root / "demo"
        self.collect = root / "collect"
        self.validate = root / "validate"
        self.split = root / "split"
        self.model = root / "model"
        self.human = root / "human"
        self.reports = root / "reports"
        self.features = root / "features"  # backbone feature cache (not a DVC output: shared by stages)
        # files inside the stage folders
        self.catalogue = self.collect / "catalogue.parquet"
        self.thumbs = self.collect / "thumbs.npy"
        self.images = self.validate / "images.parquet"
        self.quarantine = self.validate / "quarantine.csv"
        self.assignments = self.split / "assignments.parquet"
        # reports, one file each and owned by one stage (DVC metrics and plots, not cached)
        self.resolution_table = self.reports / "resolution.csv"
        self.resolution_plot = self.reports / "resolution.png"
        self.balance = self.reports / "balance.json"
        self.sweep_curve = self.reports / "sweep.csv"
        self.sweep_choice = self.reports / "sweep.json"
        self.metrics = self.reports / "metrics.json"
        self.history = self.reports / "history.csv"
        self.confusion = self.reports / "confusion.csv"
        self.check_metrics = self.reports / "check.json"
        self.check_predictions = self.reports / "check.csv"
