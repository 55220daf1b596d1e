"""Benchmark: `detect` speed on one core, the pretrained speech frontend against the log-mel preset.

Run: ``python -m benchmarks.trigger_word_detect [--minutes M]``

Both detectors stream the same file (M minutes of 16 kHz audio: espeak-ng words over pink
noise, written here) through the code `detect` runs (``score_file``: windows as long as the
training clips, each kept for its second half, then thresholded), on one thread (torch and
onnxruntime). The heads have the shipped presets' shapes with untrained weights: the speed of
a forward pass does not depend on the values. Figures are times real time (audio seconds per
wall second), in the same run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from models.trigger_word import TriggerWordConfig, TriggerWordModel
from tasks.audio.features import FeatureSpec, speech_embedding_spec
from tasks.audio.io import resample
from tasks.audio.noise import make_background
from tasks.audio.tts import Utterance, Voice, speak_batch
from tasks.trigger_word.detection import detect
from tasks.trigger_word.inference import Normaliser, Scorer, score_file

RATE = 16000


def make_audio(path: Path, minutes: float) -> float:
    rng = np.random.default_rng(0)
    x = make_background("pink", minutes * 60, RATE, rng) * np.float32(0.1)
    words = [resample(w, sr, RATE) for w, sr in speak_batch(
        [Utterance(t, Voice("en-us", v)) for t in ("activate", "kitchen", "music") for v in ("m3", "f2")])]
    for at in range(RATE, len(x) - 2 * RATE, 3 * RATE):
        w = words[int(rng.integers(len(words)))]
        x[at:at + len(w)] += 0.3 * w
    sf.write(str(path), x, RATE, subtype="PCM_16")
    return len(x) / RATE


def scorer(spec: FeatureSpec, kernel: int, stride: int) -> Scorer:
    torch.manual_seed(0)
    model = TriggerWordModel(TriggerWordConfig(n_freq=spec.n_bins, conv_filters=128, conv_kernel=kernel,
                                               conv_stride=stride, gru_units=96, gru_layers=2))
    norm = Normaliser(np.zeros(spec.n_bins, np.float32), np.ones(spec.n_bins, np.float32))
    return Scorer(model, spec, norm)


def timed(path: Path, s: Scorer) -> float:
    score_file(path, s, 10.0)  # warm up (first-call allocations, ONNX session)
    t = time.perf_counter()
    times, scores = score_file(path, s, 10.0)
    detect(scores, 0.9, 6)
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=5.0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stream.wav"
        seconds = make_audio(path, args.minutes)
        contenders = {
            "speech_embedding frontend + Conv1D(k1) + 2 GRU 96": scorer(speech_embedding_spec(), 1, 1),
            "log-mel 40 x 20 ms + Conv1D(k15, s4) + 2 GRU 96 (previous default)":
                scorer(FeatureSpec("logmel", RATE, 640, 320, 40), 15, 4),
        }
        results = {name: timed(path, s) for name, s in contenders.items()}
    print(f"audio: {seconds / 60:.1f} min at {RATE} Hz, one thread, streamed in 10 s windows")
    for name, wall in results.items():
        print(f"{name}: {seconds / wall:7.1f}x real time ({wall:.2f} s)")


if __name__ == "__main__":
    main()
