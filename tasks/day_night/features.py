"""Backbone features of catalogue thumbnails, computed once per picture and resolution.

A cache entry is keyed by the SHA-256 of the thumbnail's own bytes (so a changed picture or
thumbnail size is a new entry) inside a folder named after the backbone, its weights file,
its input size and the resolution. A second sweep, or training after the sweep, reads the
features back instead of running the backbone again; only new thumbnails are computed.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from models.day_night_backbone import FrozenBackbone
from tasks.images.thumbs import area_resize
from tasks.io import atomic_file

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeatureSpec:
    """What the features depend on besides the picture."""

    backbone: str  # torchvision name
    weights_sha256: str  # of the weights file
    input_px: int | None  # what the backbone is fed (None: the resolution itself)
    resolution: int

    def folder_name(self) -> str:
        return f"{self.backbone}-{self.weights_sha256[:12]}-in{self.input_px or 'same'}-r{self.resolution}"


def thumb_keys(thumbs: np.ndarray) -> list[str]:
    """SHA-256 of each ``(S, S, 3)`` uint8 thumbnail's bytes (with its size)."""
    return [hashlib.sha256(np.ascontiguousarray(t).tobytes() + str(t.shape).encode()).hexdigest() for t in thumbs]


def to_unit(thumbs: np.ndarray, resolution: int) -> torch.Tensor:
    """``(n, S, S, 3)`` uint8 -> ``(n, 3, R, R)`` float32 RGB in 0-1 (area-averaged to ``R``)."""
    x = area_resize(np.asarray(thumbs), resolution) / np.float32(255.0)
    return torch.from_numpy(x).float().permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)


@torch.no_grad()
def compute(net: FrozenBackbone, thumbs: np.ndarray, resolution: int, batch: int = 32) -> np.ndarray:
    """``(n, F)`` float32 features, in fixed batches of ``batch`` (the same numbers every time)."""
    out = [net(to_unit(thumbs[i:i + batch], resolution)).numpy() for i in range(0, len(thumbs), batch)]
    return np.concatenate(out).astype(np.float32) if out else np.zeros((0, 0), np.float32)


class FeatureCache:
    """Features on disk under ``root``: one ``.npz`` (keys, features) per :class:`FeatureSpec`."""

    def __init__(self, root: Path | str, net: FrozenBackbone, weights_sha256: str, backbone: str):
        self.root, self.net = Path(root), net
        self.weights_sha256, self.backbone = weights_sha256, backbone
        self.computed = 0  # thumbnails run through the backbone by this object (for tests and logs)

    def spec(self, resolution: int) -> FeatureSpec:
        return FeatureSpec(self.backbone, self.weights_sha256, self.net.input_px, resolution)

    def path(self, resolution: int) -> Path:
        return self.root / (self.spec(resolution).folder_name() + ".npz")

    def _read(self, path: Path) -> dict[str, np.ndarray]:
        if not path.is_file():
            return {}
        try:
            with np.load(path, allow_pickle=False) as z:
                return dict(zip(z["keys"].tolist(), z["x"], strict=True))
        except (OSError, ValueError, KeyError) as exc:  # a damaged cache is recomputed, never trusted
            log.warning("%s: unreadable feature cache (%s); recomputing", path, exc)
            return {}

    def features(self, thumbs: np.ndarray, resolution: int) -> np.ndarray:
        """``(n, F)`` features of ``thumbs`` at ``resolution``; computes and stores only the missing ones."""
        path = self.path(resolution)
        keys = thumb_keys(thumbs)
        known = self._read(path)
        todo, seen = [], set()
        for i, k in enumerate(keys):  # the first occurrence of each key not yet cached
            if k not in known and k not in seen:
                seen.add(k)
                todo.append(i)
        if todo:
            log.info("features: %d of %d thumbnails at %d px through %s", len(todo), len(keys), resolution,
                     self.backbone)
            fresh = compute(self.net, thumbs[np.asarray(todo)], resolution)
            self.computed += len(todo)
            known.update({keys[i]: f for i, f in zip(todo, fresh, strict=True)})
            order = sorted(known)
            with atomic_file(path) as tmp, open(tmp, "wb") as f:
                np.savez(f, keys=np.asarray(order), x=np.stack([known[k] for k in order]))
        return np.stack([known[k] for k in keys]) if keys else np.zeros((0, 0), np.float32)
