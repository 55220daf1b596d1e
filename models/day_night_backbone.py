"""Day vs night from a frozen ImageNet backbone: pooled features, then a logistic head.

The backbone (torchvision's MobileNetV2, weights from :mod:`models.pretrained`) is never
trained: it turns a picture into a feature vector that already knows what photographs look
like. Only :class:`LogisticHead` is trained: standardised features -> one logit, and
``sigmoid(logit)`` is the probability of the positive class (night), trained with the
logistic loss. Features depend only on the picture and the resolution, so they are
computed once and cached (:mod:`tasks.day_night.features`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torchvision
from torch import Tensor, nn
from torch.nn import functional as F

from models.pretrained import find_weights, load_state_dict

BACKBONES = {"mobilenet_v2": 1280}  # torchvision name -> pooled feature size
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class HeadConfig:
    features: int = 1280  # size of the pooled backbone features


class LogisticHead(nn.Module):
    """``(B, F)`` backbone features -> ``(B,)`` logits: standardise, then one linear unit."""

    def __init__(self, config: HeadConfig):
        super().__init__()
        self.config = config
        self.register_buffer("mean", torch.zeros(config.features))
        self.register_buffer("scale", torch.ones(config.features))
        self.linear = nn.Linear(config.features, 1)

    def set_standardisation(self, features: Tensor) -> None:
        """Per-feature mean and spread from the training features (kept in the checkpoint)."""
        self.mean.copy_(features.mean(0))
        self.scale.copy_(features.std(0).clamp_min(1e-3))

    def forward(self, f: Tensor) -> Tensor:
        return self.linear((f - self.mean) / self.scale).squeeze(1)  # (B,)


class FrozenBackbone(nn.Module):
    """``(B, 3, R, R)`` RGB in 0-1 -> ``(B, F)`` globally averaged ImageNet features.

    The ``R`` px picture is scaled (bilinear) to ``input_px``, the size the backbone saw in
    training, so a small ``R`` removes detail without making the objects tiny to the network.
    """

    def __init__(self, name: str, state: dict[str, Tensor], input_px: int | None):
        super().__init__()
        if name not in BACKBONES:
            raise ValueError(f"unknown backbone {name!r}; supported: {', '.join(BACKBONES)}")
        net = getattr(torchvision.models, name)(weights=None)
        net.load_state_dict(state)
        self.features = net.features.eval().requires_grad_(False)
        self.input_px = input_px
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def train(self, mode: bool = True) -> FrozenBackbone:  # frozen: batch norm stays in eval mode
        return super().train(False)

    @torch.no_grad()
    def forward(self, x: Tensor) -> Tensor:
        if self.input_px and x.shape[-1] != self.input_px:
            x = F.interpolate(x, size=(self.input_px, self.input_px), mode="bilinear", align_corners=False)
        f = self.features((x - self.mean) / self.std)  # (B, F, h, w)
        return f.mean(dim=(2, 3))  # (B, F)


def load_backbone(name: str, input_px: int | None, weights: str | Path | None = None,
                  param_key: str | None = None) -> tuple[FrozenBackbone, Path]:
    """The frozen backbone with real ImageNet weights and the file they came from.

    Raises :class:`models.pretrained.MissingWeightsError` (naming the file and the setup
    command) when the weights are not on this machine.
    """
    path = find_weights(name, weights, param_key)
    net = FrozenBackbone(name, load_state_dict(path), input_px)
    return net.to(memory_format=torch.channels_last), path
