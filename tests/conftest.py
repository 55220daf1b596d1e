"""Shared fixtures: one Prefect test server per session, the real params shrunk for speed."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def prefect_harness():
    """A temporary Prefect server and database for the whole session (flow tests ask for it)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def real_params() -> dict:
    """The project's own params.yaml, as a dict to shrink."""
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def write_params(path: Path, params: dict) -> Path:
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def tone(seconds: float, sr: int, freq: float = 440.0, amp: float = 0.3, channels: int = 1) -> np.ndarray:
    """A test signal with some spread of energy (a tone with a decaying envelope and noise)."""
    t = np.arange(int(seconds * sr)) / sr
    rng = np.random.default_rng(int(freq))
    x = amp * np.sin(2 * np.pi * freq * t) * np.hanning(len(t)) + 0.01 * rng.standard_normal(len(t))
    x = x.astype(np.float32)
    return np.repeat(x[:, None], channels, axis=1) if channels > 1 else x


def write_audio(path: Path, x: np.ndarray, sr: int, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x, sr, **kw)
    return path


def make_user_folders(root: Path, speakers: int = 4) -> dict[str, Path]:
    """Folders of 'user recordings' made in the test: positives and negatives by speaker subfolder (FLAC/OGG/WAV, stereo, 48 kHz), plus backgrounds."""
    from tasks.audio.io import resample
    from tasks.audio.tts import Utterance, Voice, speak_batch

    voices = [Voice(a, v) for a, v in [("en-us", "m2"), ("en-gb", "f1"), ("en-029", "m4"),
                                       ("en-us-nyc", "f4"), ("en-gb-x-rp", "m6"), ("en-us", "f5")][:speakers]]
    words = [("positives", "activate"), ("negatives", "motivate"), ("negatives", "kitchen")]
    said = speak_batch([Utterance(w, v, 170, 50) for v in voices for _, w in words])
    formats = [("flac", "PCM_16"), ("ogg", "VORBIS"), ("wav", "FLOAT")]
    i = 0
    for s, _ in enumerate(voices):
        for kind, word in words:
            x, sr = said[i]
            i += 1
            y = resample(x, sr, 48000)
            pad = np.zeros(4800, np.float32)  # silence around the word: collection trims it
            stereo = np.stack([np.concatenate([pad, y, pad])] * 2, axis=1)
            ext, subtype = formats[i % 3]
            write_audio(root / kind / f"speaker{s}" / f"{word}-{i}.{ext}", stereo, 48000, subtype=subtype)
    rng = np.random.default_rng(0)
    for b in range(4):
        noise = (0.05 * rng.standard_normal((16000 * 11, 2))).astype(np.float32)
        write_audio(root / "backgrounds" / f"room{b}.wav", noise, 16000)
    return {k: root / k for k in ("positives", "negatives", "backgrounds")}


@pytest.fixture(scope="session")
def user_folders(tmp_path_factory) -> dict[str, Path]:
    return make_user_folders(tmp_path_factory.mktemp("recordings"))
