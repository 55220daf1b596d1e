"""A small CNN that maps a face crop to a 128-d unit vector (the lecture's face encoder).

Trained with the triplet loss (:func:`models.losses.batch_semi_hard_triplet_loss`) so that
photos of the same person land close together and photos of different people far apart;
distances between its outputs are what verification, recognition and clustering compare.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass(frozen=True)
class FaceEncoderConfig:
    """Architecture of :class:`FaceEncoder` (stored in the checkpoint's config.json)."""

    input_size: int = 48  # side of the square RGB face crop, pixels
    channels: tuple[int, ...] = (24, 48, 96, 192)  # conv widths; each stage after the first halves H and W
    convs_per_stage: int = 2
    embedding_dim: int = 128
    dropout: float = 0.0


def _conv(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True))


class FaceEncoder(nn.Module):
    """``(B, 3, S, S)`` uint8-range RGB -> ``(B, D)`` L2-normalised embeddings.

    Each image is standardised on its own first (zero mean, unit variance over its pixels),
    so overall exposure never reaches the convolutions; colour casts, pose and the rest are
    left for training (with augmentation) to make the embedding ignore.
    """

    def __init__(self, config: FaceEncoderConfig):
        super().__init__()
        self.config = config
        c = config.channels
        layers: list[nn.Module] = [_conv(3, c[0])]
        for c_in, c_out in zip(c, c[1:], strict=False):
            layers.append(nn.MaxPool2d(2))
            layers.append(_conv(c_in, c_out))
            layers += [_conv(c_out, c_out) for _ in range(config.convs_per_stage - 1)]
        self.features = nn.Sequential(*layers)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(c[-1], config.embedding_dim)

    def forward(self, x: Tensor) -> Tensor:
        x = x.float()  # (B, 3, S, S), 0-255
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        std = x.std(dim=(1, 2, 3), keepdim=True).clamp_min(1.0)
        x = self.features((x - mean) / std)  # (B, C, S / 2^(stages-1), ...)
        x = x.mean(dim=(2, 3))  # (B, C): global average pool
        return F.normalize(self.head(self.dropout(x)), dim=1)  # (B, D), unit length


def embed(model: FaceEncoder, crops: Tensor, batch_size: int = 256) -> Tensor:
    """Embeddings of ``(N, S, S, 3)`` uint8 crops, in eval mode and without gradients: ``(N, D)``."""
    model.eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(crops), batch_size):
            x = crops[start:start + batch_size].permute(0, 3, 1, 2)  # (B, 3, S, S)
            out.append(model(x))
    if not out:
        return torch.empty(0, model.config.embedding_dim)
    return torch.cat(out)


@dataclass(frozen=True)
class AdapterConfig:
    """Architecture of :class:`EmbeddingAdapter` (stored in the checkpoint's config.json)."""

    dim: int = 128  # pretrained embedding size in and out
    hidden: int = 128


class EmbeddingAdapter(nn.Module):
    """``(B, D)`` pretrained embeddings -> ``(B, D)`` unit vectors: ``normalize(x + MLP(x))``.

    The MLP's last layer starts at zero, so training starts from the pretrained embedding
    (normalised) and the triplet loss only has to learn a correction for the user's people.
    """

    def __init__(self, config: AdapterConfig):
        super().__init__()
        self.config = config
        self.mlp = nn.Sequential(nn.Linear(config.dim, config.hidden), nn.ReLU(inplace=True),
                                 nn.Linear(config.hidden, config.dim))
        nn.init.zeros_(self.mlp[2].weight)
        nn.init.zeros_(self.mlp[2].bias)

    def forward(self, x: Tensor) -> Tensor:
        x = F.normalize(x.float(), dim=1)  # (B, D)
        return F.normalize(x + self.mlp(x), dim=1)
