"""The two day/night models behind one interface, so sweep, train and evaluate treat them alike.

- :class:`CnnLearner`: the lecture's shallow CNN, trained end to end on the thumbnails.
- :class:`BackboneLearner`: a frozen ImageNet backbone whose features are cached per picture
  and resolution (:class:`~tasks.day_night.features.FeatureCache`), and a logistic head.

Both take ``(n, S, S, 3)`` uint8 thumbnails and a resolution, and give P(positive).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np
from torch import Tensor, nn

from models.checkpoint import save_model, state_dict_hash
from models.day_night import DayNightConfig
from models.day_night_backbone import load_backbone
from tasks.day_night.features import FeatureCache
from tasks.day_night.head import HeadSettings, fit_head, predict_head
from tasks.day_night.train import FitSettings, fit, predict, to_inputs
from tasks.io import sha256_file


class Learner(Protocol):
    kind: str

    def fit(self, resolution: int, data: dict) -> tuple[nn.Module, list[dict]]: ...

    def predict(self, model: nn.Module, thumbs: np.ndarray, resolution: int) -> np.ndarray: ...

    def save(self, folder: Path | str, model: nn.Module, meta: dict[str, Any], card: str) -> None: ...

    def describe(self) -> str: ...


class CnnLearner:
    kind = "cnn"

    def __init__(self, config: DayNightConfig, settings: FitSettings):
        self.config, self.settings = config, settings

    def fit(self, resolution: int, data: dict) -> tuple[nn.Module, list[dict]]:
        return fit(to_inputs(data["x_train"], resolution), data["y_train"], to_inputs(data["x_dev"], resolution),
                   data["y_dev"], self.config, self.settings, data["keys"])

    def predict(self, model: nn.Module, thumbs: np.ndarray, resolution: int) -> np.ndarray:
        return predict(model, to_inputs(thumbs, resolution))

    def save(self, folder: Path | str, model: nn.Module, meta: dict[str, Any], card: str) -> None:
        save_model(folder, model, self.config, meta | {"model": self.kind, "weights_sha256": state_dict_hash(model)},
                   card)

    def describe(self) -> str:
        return (f"A shallow CNN (conv blocks {list(self.config.channels)}, global average + max pooling, "
                "one sigmoid output)")


class BackboneLearner:
    kind = "backbone"

    def __init__(self, backbone: str, input_px: int | None, weights: str | None, cache_dir: Path | str,
                 settings: HeadSettings):
        self.net, path = load_backbone(backbone, input_px, weights, "day_night.model.backbone_weights")
        self.backbone, self.input_px, self.settings = backbone, input_px, settings
        self.weights_file, self.weights_sha256 = path.name, sha256_file(path)
        self.cache = FeatureCache(cache_dir, self.net, self.weights_sha256, backbone)

    def features(self, thumbs: np.ndarray, resolution: int) -> np.ndarray:
        return self.cache.features(np.asarray(thumbs), resolution)

    def fit(self, resolution: int, data: dict) -> tuple[nn.Module, list[dict]]:
        y_train: Tensor = data["y_train"]
        return fit_head(self.features(data["x_train"], resolution), y_train,
                        self.features(data["x_dev"], resolution), data["y_dev"], self.settings, data["keys"])

    def predict(self, model: nn.Module, thumbs: np.ndarray, resolution: int) -> np.ndarray:
        return predict_head(model, self.features(thumbs, resolution))  # type: ignore[arg-type]

    def save(self, folder: Path | str, model: nn.Module, meta: dict[str, Any], card: str) -> None:
        backbone = {"name": self.backbone, "input_px": self.input_px, "weights_file": self.weights_file,
                    "weights_sha256": self.weights_sha256}
        save_model(folder, model, model.config, meta | {"model": self.kind, "backbone": backbone,  # type: ignore[arg-type]
                                                        "weights_sha256": state_dict_hash(model)}, card)

    def describe(self) -> str:
        size = f"{self.input_px} px" if self.input_px else "the input resolution"
        return (f"A frozen ImageNet {self.backbone} (torchvision weights {self.weights_file}, fed at {size}, "
                "globally averaged features) and a logistic head (standardised features, one sigmoid output)")
