"""dlib's face-recognition ResNet (``dlib_face_recognition_resnet_model_v1``) as a PyTorch module.

The same network and weights as dlib's ``face_recognition_model_v1`` (29 convolutions, 128-d
output), run by PyTorch instead of dlib's own CPU code: the ``dlib-bin`` wheel is built
without BLAS, so its convolutions are about 10x slower than PyTorch's. The weights are read
from dlib's file by :mod:`tasks.faces.dlib_weights`; a test checks that both runtimes give the
same descriptors. dlib's layout, reproduced exactly:

- input: RGB, ``(pixel - channel mean) / 256``;
- stem: conv 7x7 stride 2 (no padding), affine (frozen batch norm), ReLU, max-pool 3x3 stride 2;
- residual blocks: conv 3x3, affine, ReLU, conv 3x3, affine, plus the input, ReLU; a block that
  halves the size strides its first conv by 2 (no padding) and average-pools its shortcut 2x2;
- where the two branches differ in size or channels, the smaller is zero-padded (bottom, right,
  last channels): dlib's ``add_prev`` adds tensors of different shapes that way;
- global average pool, then a 256 x 128 linear map without bias.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

MEAN_RGB = (122.782, 117.001, 104.298)  # dlib's input_rgb_image defaults


@dataclass(frozen=True)
class ConvSpec:
    """One convolution followed by an affine layer, as stored in dlib's file."""

    weight: Tensor  # (out, in, kh, kw)
    bias: Tensor  # (out,)
    stride: int
    padding: int
    gamma: Tensor  # (out,) affine scale
    beta: Tensor  # (out,) affine shift


class ConvAffine(nn.Module):
    """Convolution with the affine layer folded in (scale the filters, shift the bias)."""

    def __init__(self, spec: ConvSpec) -> None:
        super().__init__()
        w = spec.weight * spec.gamma.view(-1, 1, 1, 1)
        b = spec.bias * spec.gamma + spec.beta
        self.conv = nn.Conv2d(w.shape[1], w.shape[0], w.shape[2], stride=spec.stride, padding=spec.padding)
        with torch.no_grad():
            self.conv.weight.copy_(w)
            self.conv.bias.copy_(b)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)


def add_padded(a: Tensor, b: Tensor) -> Tensor:
    """``a + b`` where the smaller of them is zero-padded at the end of C, H and W (dlib's add_prev)."""
    if a.shape == b.shape:
        return a + b
    c, h, w = (max(a.shape[i], b.shape[i]) for i in (1, 2, 3))

    def grow(t: Tensor) -> Tensor:
        return F.pad(t, (0, w - t.shape[3], 0, h - t.shape[2], 0, c - t.shape[1]))

    return grow(a) + grow(b)


class Residual(nn.Module):
    """Two conv+affine layers and the shortcut (average-pooled 2x2 when the block downsamples)."""

    def __init__(self, first: ConvSpec, second: ConvSpec, down: bool) -> None:
        super().__init__()
        self.a, self.b, self.down = ConvAffine(first), ConvAffine(second), down

    def forward(self, x: Tensor) -> Tensor:
        y = self.b(F.relu(self.a(x)))
        skip = F.avg_pool2d(x, 2, 2) if self.down else x
        return F.relu(add_padded(y, skip))


class DlibResNet(nn.Module):
    """``(B, 150, 150, 3)`` uint8 RGB aligned chips (as a float tensor, 0-255) -> ``(B, 128)`` descriptors."""

    def __init__(self, stem: ConvSpec, blocks: list[tuple[ConvSpec, ConvSpec, bool]], fc: Tensor) -> None:
        super().__init__()
        self.stem = ConvAffine(stem)
        self.blocks = nn.Sequential(*(Residual(a, b, down) for a, b, down in blocks))
        self.fc = nn.Linear(fc.shape[0], fc.shape[1], bias=False)  # dlib stores (in, out)
        with torch.no_grad():
            self.fc.weight.copy_(fc.t())
        self.register_buffer("mean", torch.tensor(MEAN_RGB).view(1, 3, 1, 1))

    def forward(self, chips: Tensor) -> Tensor:
        x = (chips.permute(0, 3, 1, 2) - self.mean) / 256.0  # (B, 3, 150, 150)
        x = F.max_pool2d(F.relu(self.stem(x)), 3, 2)  # (B, 32, 35, 35)
        x = self.blocks(x)  # (B, 256, 2, 2)
        return self.fc(x.mean(dim=(2, 3)))  # (B, 128)
