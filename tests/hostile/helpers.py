"""Small real files for the hostile-input tests: checkpoints in the shipped format, image headers."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import torch

from models.checkpoint import save_model
from tests.conftest import ROOT

PARAMS = str(ROOT / "params.yaml")


def detector_folder(folder: Path, threshold: float = 0.5) -> Path:
    """A trigger-word model folder as `detect` reads it (untrained weights: only file handling is tested)."""
    from models.trigger_word import TriggerWordConfig, TriggerWordModel

    torch.manual_seed(0)
    config = TriggerWordConfig(n_freq=20, conv_filters=8, gru_units=8)
    features = {"kind": "logmel", "sample_rate": 16000, "n_fft": 400, "hop": 160, "n_mels": 20,
                "n_bins": 20, "n_frames": 201, "ty": config.output_steps(201)}
    save_model(folder, TriggerWordModel(config), config, meta={
        "features": features, "normaliser": {"mean": [-40.0] * 20, "std": [20.0] * 20},
        "clip_seconds": 2.0, "threshold": threshold})
    return folder


def classifier_folder(folder: Path) -> Path:
    """A day/night checkpoint folder as `classify` reads it (untrained weights)."""
    from models.day_night import DayNightCNN, DayNightConfig
    from tasks.day_night.train import MEAN, STD

    torch.manual_seed(0)
    config = DayNightConfig(channels=(4, 8))
    save_model(folder, DayNightCNN(config), config, meta={
        "labels": ["day", "night"], "positive": "night", "resolution": 16, "thumb_size": 32,
        "normalise": {"mean": MEAN, "std": STD}, "threshold": 0.5})
    return folder


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that claims ``width x height`` RGB pixels but holds almost no data (a bomb's header)."""
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                     + _chunk(b"IDAT", zlib.compress(b"\0" * 64)) + _chunk(b"IEND", b""))
    return path


def photo(path: Path, value: int = 120, size: int = 64, seed: int = 0) -> Path:
    """A small real RGB photo-like image (noise around ``value``)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    pixels = np.clip(value + rng.normal(0, 20, (size, size, 3)), 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path
