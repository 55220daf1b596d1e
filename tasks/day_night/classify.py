"""Classify image files with a trained day/night checkpoint, one result (or error) per file.

Preprocessing repeats training's exactly: one reduced-size decode, the whole picture
squeezed to the checkpoint's thumbnail square, area-averaged to its resolution.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import torch

from models.checkpoint import load_model
from models.day_night import DayNightCNN, DayNightConfig
from tasks.day_night.train import predict
from tasks.images.io import ImageReadError, load_image
from tasks.images.thumbs import area_resize, square


class Classifier:
    """A loaded checkpoint and the preprocessing it was trained with."""

    def __init__(self, folder: Path | str):
        self.model, doc = load_model(folder, DayNightCNN, DayNightConfig)
        self.labels: list[str] = doc["labels"]
        self.resolution, self.thumb = int(doc["resolution"]), int(doc["thumb_size"])
        self.mean, self.std = float(doc["normalise"]["mean"]), float(doc["normalise"]["std"])
        self.threshold = float(doc.get("threshold", 0.5))

    def inputs(self, path: Path | str) -> np.ndarray:
        """``(R, R, 3)`` float32 0-255 for one file; raises :class:`ImageReadError`."""
        img, _ = load_image(path, min_side=self.thumb, smallest=self.resolution)  # no 1 x 1 "photos"
        return area_resize(square(img, self.thumb)[None], self.resolution)[0]

    def classify(self, files: Iterable[str], batch: int = 64) -> Iterator[dict]:
        """One dict per file, in order: ``{file, label, p_<positive>}`` or ``{file, error}``."""
        key = "p_" + self.labels[1]
        pending: list[tuple[str, np.ndarray | None, str | None]] = []

        def flush() -> Iterator[dict]:
            good = [x for _, x, _ in pending if x is not None]
            probs = iter(predict(self.model, self._tensor(np.stack(good))).tolist() if good else [])
            for f, x, err in pending:
                if x is None:
                    yield {"file": f, "error": err}
                else:
                    p = float(next(probs))
                    yield {"file": f, "label": self.labels[int(p >= self.threshold)], key: round(p, 4)}
            pending.clear()

        for f in files:
            try:
                pending.append((f, self.inputs(f), None))
            except FileNotFoundError:
                pending.append((f, None, "missing: file not found"))
            except (ImageReadError, OSError) as exc:
                pending.append((f, None, str(exc)))
            if len(pending) >= batch:
                yield from flush()
        yield from flush()

    def _tensor(self, x: np.ndarray) -> torch.Tensor:
        nchw = torch.from_numpy((x - self.mean) / self.std).float().permute(0, 3, 1, 2)
        return nchw.contiguous(memory_format=torch.channels_last)
