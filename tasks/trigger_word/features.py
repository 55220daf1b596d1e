"""Features of a clip set, stored for fast training reads.

Storage choice: per split, shards of ``x-NNNNN.npy`` (float16, ``(n, F, T)``) and
``y-NNNNN.npy`` (uint8, ``(n, Ty)``). ``.npy`` opens with ``np.load(mmap_mode="r")`` with no
decoding, so a training loader reads a batch as one contiguous slice; float16 halves the
size at a precision (about 0.03 dB) far below what the model can use. ``index.parquet``
maps each clip to its shard and row, and ``meta.json`` holds the feature settings and the
train split's per-bin mean and standard deviation for normalisation.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from tasks.audio.features import FeatureExtractor, FeatureSpec
from tasks.audio.shards import read_ref


def shard_name(kind: str, index: int) -> str:
    return f"{kind}-{index:05d}.npy"


def feature_shard(clips_dir: Path, paths: Sequence[str], labels: np.ndarray, spec: FeatureSpec,
                  input_rate: int, out: Path, shard: int) -> dict:
    """Compute and write one shard; returns its shape and per-bin sums for normalisation."""
    extractor = FeatureExtractor(spec, input_rate)
    torch.set_num_threads(1)  # parallelism comes from shards running side by side
    x = None
    total = total_sq = 0.0
    cache: dict = {}  # the clip shards, memory-mapped once per task
    for i, path in enumerate(paths):
        wave = read_ref(clips_dir, path, cache)
        f = extractor(torch.from_numpy(wave))  # (F, T) float32
        if x is None:
            x = np.empty((len(paths), *f.shape), np.float16)
        x[i] = f.to(torch.float16).numpy()
        total = total + f.sum(dim=1, dtype=torch.float64).numpy()
        total_sq = total_sq + f.square().sum(dim=1, dtype=torch.float64).numpy()
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / shard_name("x", shard), x)
    np.save(out / shard_name("y", shard), labels.astype(np.uint8))
    return {"shard": shard, "rows": int(x.shape[0]), "frames": int(x.shape[2]), "sum": total, "sumsq": total_sq}


def normalisation(stats: Sequence[dict]) -> tuple[list[float], list[float]]:
    """Per-bin mean and standard deviation from shard sums."""
    count = sum(s["rows"] * s["frames"] for s in stats)
    total = np.sum([s["sum"] for s in stats], axis=0)
    total_sq = np.sum([s["sumsq"] for s in stats], axis=0)
    mean = total / max(count, 1)
    std = np.sqrt(np.maximum(total_sq / max(count, 1) - mean**2, 1e-6))
    return [round(float(v), 6) for v in mean], [round(float(v), 6) for v in std]


class FeatureShards:
    """Read access to one split's feature shards (memory-mapped)."""

    def __init__(self, root: Path | str, split: str):
        folder = Path(root) / split
        xs = sorted(folder.glob("x-*.npy"))
        if not xs:
            raise FileNotFoundError(f"{folder}: no feature shards; run the features stage first")
        self.x = [np.load(p, mmap_mode="r") for p in xs]
        self.y = [np.load(folder / p.name.replace("x-", "y-"), mmap_mode="r") for p in xs]
        self.offsets = np.cumsum([0] + [len(a) for a in self.x])

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        s = int(np.searchsorted(self.offsets, i, side="right") - 1)
        j = i - int(self.offsets[s])
        return self.x[s][j], self.y[s][j]
