"""Classify image files with a trained day/night checkpoint (either model), one result per file.

Preprocessing repeats training's exactly: one reduced-size decode, the whole picture
squeezed to the checkpoint's thumbnail square, area-averaged to its resolution. Files are
decoded on a few threads (Pillow releases the GIL while decoding) while the model runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from pathlib import Path

import numpy as np
import torch

from models.checkpoint import CheckpointError, load_model, read_config
from models.day_night import DayNightCNN, DayNightConfig
from models.day_night_backbone import HeadConfig, LogisticHead, load_backbone
from tasks.day_night.features import compute
from tasks.day_night.head import predict_head
from tasks.day_night.train import predict
from tasks.images.io import ImageReadError, load_image
from tasks.images.thumbs import area_resize, square
from tasks.io import sha256_file


class Classifier:
    """A loaded checkpoint and the preprocessing it was trained with.

    ``weights``: the backbone's ImageNet weights file, when not where :mod:`models.pretrained`
    looks (only for checkpoints of the backbone model).
    """

    def __init__(self, folder: Path | str, weights: str | None = None):
        doc = read_config(folder)
        self.kind = doc.get("model", "cnn")
        if self.kind == "backbone":
            self.model, doc = load_model(folder, LogisticHead, HeadConfig)
            spec = doc["backbone"]
            self.backbone, path = load_backbone(spec["name"], spec["input_px"], weights,
                                                "day_night.model.backbone_weights")
            if sha256_file(path) != spec["weights_sha256"]:
                raise CheckpointError(f"{path}: not the backbone weights {Path(folder)} was trained with "
                                      f"(SHA-256 {spec['weights_sha256'][:12]}...)")
        else:
            self.model, doc = load_model(folder, DayNightCNN, DayNightConfig)
            self.mean, self.std = float(doc["normalise"]["mean"]), float(doc["normalise"]["std"])
        self.labels: list[str] = doc["labels"]
        self.resolution, self.thumb = int(doc["resolution"]), int(doc["thumb_size"])
        self.threshold = float(doc.get("threshold", 0.5))

    def inputs(self, path: Path | str) -> np.ndarray:
        """``(S, S, 3)`` uint8 thumbnail of one file; raises :class:`ImageReadError`."""
        img, _ = load_image(path, min_side=self.thumb, smallest=self.resolution)  # no 1 x 1 "photos"
        return square(img, self.thumb)

    def probabilities(self, thumbs: np.ndarray) -> np.ndarray:
        """``(n,)`` P(positive) for ``(n, S, S, 3)`` uint8 thumbnails."""
        if self.kind == "backbone":
            return predict_head(self.model, compute(self.backbone, thumbs, self.resolution))  # type: ignore[arg-type]
        x = area_resize(thumbs, self.resolution)
        nchw = torch.from_numpy((x - self.mean) / self.std).float().permute(0, 3, 1, 2)
        return predict(self.model, nchw.contiguous(memory_format=torch.channels_last))  # type: ignore[arg-type]

    def _read(self, f: str) -> tuple[str, np.ndarray | None, str | None]:
        try:
            return f, self.inputs(f), None
        except FileNotFoundError:
            return f, None, "missing: file not found"
        except (ImageReadError, OSError) as exc:
            return f, None, str(exc)

    def classify(self, files: Iterable[str], batch: int = 64, workers: int = 2) -> Iterator[dict]:
        """One dict per file, in order: ``{file, label, p_<positive>}`` or ``{file, error}``.

        The next batch is decoded on ``workers`` threads while the model runs on this one.
        """
        key = "p_" + self.labels[1]
        todo = iter(files)
        with ThreadPoolExecutor(max(1, workers)) as pool:
            ahead = [pool.submit(self._read, f) for f in islice(todo, batch)]
            while ahead:
                done = [fu.result() for fu in ahead]
                ahead = [pool.submit(self._read, f) for f in islice(todo, batch)]
                good = [x for _, x, _ in done if x is not None]
                probs = iter(self.probabilities(np.stack(good)).tolist() if good else [])
                for f, x, err in done:
                    if x is None:
                        yield {"file": f, "error": err}
                    else:
                        p = float(next(probs))
                        yield {"file": f, "label": self.labels[int(p >= self.threshold)], key: round(p, 4)}
