"""RANDOM backbone weights saved as a torchvision-style state dict, for tests of the mechanics.

Random features mean nothing (no content, no style): the tests check plumbing, gradients
and that the loss goes down, never how an image looks.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torchvision


def save_random_weights(path: Path, seed: int = 0) -> Path:
    """torchvision's MobileNetV2 with its own random initialisation, saved like its real file."""
    torch.manual_seed(seed)
    torch.save(torchvision.models.mobilenet_v2(weights=None).state_dict(), path)
    return path
