"""Typed params of the art pipeline (the ``art`` section of params.yaml) and its paths."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from models.style import BACKBONES
from tasks.art.images import BUILTIN
from tasks.art.transfer import TransferSpec
from tasks.config import StrictModel


class LayerWeights(StrictModel):
    """One backbone's layers: name -> weight, for content and for style."""

    content: dict[str, float] = Field(min_length=1)
    style: dict[str, float] = Field(min_length=1)

    @field_validator("content", "style")
    @classmethod
    def _positive(cls, v: dict[str, float]) -> dict[str, float]:
        if any(w < 0 for w in v.values()):
            raise ValueError("layer weights must be >= 0")
        return v


DEFAULT_LAYERS = {
    # Gatys et al.: content on conv4_2, style on the first ReLU of each block.
    "vgg19": LayerWeights(content={"relu4_2": 1.0},
                          style={"relu1_1": 0.2, "relu2_1": 0.2, "relu3_1": 0.2, "relu4_1": 0.2,
                                 "relu5_1": 0.2}),
    # The same idea on MobileNetV2's blocks (outputs at 1/2, 1/4, 1/8, 1/16 of the size).
    "mobilenet_v2": LayerWeights(content={"features.7": 1.0},
                                 style={"features.1": 0.2, "features.3": 0.2, "features.6": 0.2,
                                        "features.10": 0.2, "features.13": 0.2}),
}


class Pair(StrictModel):
    """One content/style pair: a file path or ``builtin:NAME``."""

    content: str = Field(min_length=1)
    style: str = Field(min_length=1)


class ArtParams(StrictModel):
    """The whole ``art`` section."""

    backbone: str = "mobilenet_v2"
    weights: str | None = None
    on_missing_weights: str = Field("skip", pattern="^(skip|fail)$")
    layers: dict[str, LayerWeights] = Field(default_factory=lambda: dict(DEFAULT_LAYERS))
    size: int = Field(192, ge=32, le=2048)
    steps: int = Field(100, ge=1)
    init: str = Field("content", pattern="^(content|noise)$")
    optimizer: str = Field("lbfgs", pattern="^(lbfgs|adam)$")
    lr: float = Field(1.0, gt=0)
    content_weight: float = Field(1.0, ge=0)
    style_weight: float = Field(1e4, ge=0)
    tv_weight: float = Field(0.0, ge=0)
    precision: str = Field("fp32", pattern="^(auto|fp32|bf16)$")
    threads: int = Field(2, ge=0)
    snapshots: int = Field(5, ge=0)
    pairs: tuple[Pair, ...] = Field(min_length=1, default=(
        Pair(content="builtin:china", style="builtin:swirls"),
        Pair(content="builtin:flower", style="builtin:stained_glass")))

    @field_validator("backbone")
    @classmethod
    def _backbone(cls, v: str) -> str:
        if v not in BACKBONES:
            raise ValueError(f"unknown backbone {v!r}; supported: {', '.join(BACKBONES)}")
        return v

    @model_validator(mode="after")
    def _has_layers(self) -> ArtParams:
        if self.backbone not in self.layers:
            raise ValueError(f"layers has no entry for backbone {self.backbone!r}")
        return self

    def layers_for(self, backbone: str | None = None) -> LayerWeights:
        """The layers of ``backbone`` (default: the configured one): params, else the built-in choice."""
        name = backbone or self.backbone
        if name in self.layers:
            return self.layers[name]
        return DEFAULT_LAYERS[name]

    def spec(self, seed: int, backbone: str | None = None, **overrides: object) -> TransferSpec:
        """The optimisation's settings; ``overrides`` (steps, init, ...) come from the command line."""
        lw = self.layers_for(backbone)
        every = max(1, self.steps // self.snapshots) if self.snapshots else 0
        values = dict(content_layers=dict(lw.content), style_layers=dict(lw.style), steps=self.steps,
                      content_weight=self.content_weight, style_weight=self.style_weight,
                      tv_weight=self.tv_weight, init=self.init, optimizer=self.optimizer, lr=self.lr,
                      precision=self.precision, snapshot_every=every, seed=seed)
        values |= {k: v for k, v in overrides.items() if v is not None}
        if "steps" in overrides and overrides["steps"] is not None and self.snapshots:
            values["snapshot_every"] = max(1, int(values["steps"]) // self.snapshots)
        return TransferSpec(**values)


def pair_name(pair: Pair) -> str:
    """A file-name stem for a pair: ``china__swirls``."""
    def stem(ref: str) -> str:
        name = ref.removeprefix(BUILTIN) if ref.startswith(BUILTIN) else Path(ref).stem
        return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "image"
    return f"{stem(pair.content)}__{stem(pair.style)}"


class Layout:
    """Where the art stage writes, under ``data_dir`` (the one place paths are named)."""

    def __init__(self, data_dir: str | Path):
        root = Path(data_dir) / "art"
        self.root = root
        self.stylize = root / "stylize"  # images, snapshot sheets, summary.json
        self.curves = root / "curves"  # one loss curve (CSV) per pair: the DVC plots
