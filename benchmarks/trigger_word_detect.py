"""Benchmark: `detect` speed on one core, the pretrained speech frontend against the log-mel preset,
each streamed the way `detect` does (features computed once per stretch of audio) and the
former way (every window computed on its own), in the same run.

Run: ``python -m benchmarks.trigger_word_detect [--minutes M] [--repeats R] [--match K ...]``

Every detector streams the same file (M minutes of 16 kHz audio: espeak-ng words over pink
noise, written here) through the code `detect` runs (``score_file``: windows as long as the
training clips, each kept for its second half, then thresholded), on one thread (torch and
onnxruntime); ``per_window=True`` is the former path. The heads (the GRU head, and the window
head of ``train.model.head: window``) have the shipped presets' shapes with untrained weights: the speed of a forward pass does not depend on the values.
Figures are times real time (audio seconds per wall second, and per second of this process's
CPU time: on a shared machine the wall clock also counts other jobs' turns) of the fastest of
R rounds, the contenders taking turns in each round so that a busy machine slows them alike;
the largest difference between the two paths' scores is printed too. ``--match K`` adds the GRU
head fused with the query-by-example match of K templates of 17 steps
(:mod:`tasks.trigger_word.head_match`; random unit steps: the DTW's cost does not depend on the
values either).
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
from models.trigger_word_window import WindowHead, WindowHeadConfig
from tasks.audio.features import FeatureSpec, speech_embedding_spec
from tasks.audio.io import resample
from tasks.audio.noise import make_background
from tasks.audio.tts import Utterance, Voice, speak_batch
from tasks.trigger_word.detection import detect
from tasks.trigger_word.head_match import MatchedHead, MatchFusion
from tasks.trigger_word.inference import Normaliser, Scorer, score_file
from tasks.trigger_word.word_match import unit

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


def scorer(spec: FeatureSpec, kernel: int, stride: int, window: bool = False, match: int = 0) -> Scorer:
    torch.manual_seed(0)
    model = WindowHead(WindowHeadConfig(n_freq=spec.n_bins, window=16, units=64, layers=2)) if window else \
        TriggerWordModel(TriggerWordConfig(n_freq=spec.n_bins, conv_filters=128, conv_kernel=kernel,
                                           conv_stride=stride, gru_units=96, gru_layers=2))
    zeros, ones = np.zeros(spec.n_bins, np.float32), np.ones(spec.n_bins, np.float32)
    if match:
        rng = np.random.default_rng(0)
        templates = [unit(rng.standard_normal((17, spec.n_bins)), None) for _ in range(match)]
        model = MatchedHead(model, templates, zeros, ones, MatchFusion(0.5, 1.0, "centred", 0.55, 0.12))
    return Scorer(model, spec, Normaliser(zeros, ones))


def timed(path: Path, s: Scorer, per_window: bool) -> tuple[float, float, np.ndarray]:
    """(wall s, CPU s of this process, scores) of one streamed pass over ``path``."""
    t, c = time.perf_counter(), time.process_time()
    times, scores = score_file(path, s, 10.0, per_window=per_window)
    detect(scores, 0.9, 6)
    return time.perf_counter() - t, time.process_time() - c, scores


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--match", type=int, action="append", default=[],
                        help="also the GRU head fused with the match of this many templates")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stream.wav"
        seconds = make_audio(path, args.minutes)
        kinds = {
            "speech_embedding frontend + Conv1D(k1) + 2 GRU 96": scorer(speech_embedding_spec(), 1, 1),
            "speech_embedding frontend + window head (16 frames, 2 x 64)": scorer(speech_embedding_spec(), 1, 1, True),
            "log-mel 40 x 20 ms + Conv1D(k15, s4) + 2 GRU 96": scorer(FeatureSpec("logmel", RATE, 640, 320, 40), 15, 4),
            **{f"speech_embedding frontend + Conv1D(k1) + 2 GRU 96 + match of {k} templates":
               scorer(speech_embedding_spec(), 1, 1, match=k) for k in args.match},
        }
        walls: dict[tuple[str, bool], list[float]] = {}
        cpus: dict[tuple[str, bool], list[float]] = {}
        scores: dict[tuple[str, bool], np.ndarray] = {}
        for s in kinds.values():
            for per_window in (False, True):
                timed(path, s, per_window)  # warm up (first-call allocations, ONNX sessions)
        for _ in range(max(1, args.repeats)):
            for name, s in kinds.items():
                for per_window in (False, True):
                    wall, cpu, scores[name, per_window] = timed(path, s, per_window)
                    walls.setdefault((name, per_window), []).append(wall)
                    cpus.setdefault((name, per_window), []).append(cpu)
    print(f"audio: {seconds / 60:.1f} min at {RATE} Hz, one thread, streamed in 10 s windows, "
          f"fastest of {max(1, args.repeats)} rounds")
    print("times real time by wall clock, and by this process's CPU time (what one free core would take)")
    for name in kinds:
        diff = float(np.abs(scores[name, False] - scores[name, True]).max())
        print(f"{name}:")
        for per_window, label in ((False, "features once per stretch (detect)"), (True, "every window alone (former)")):
            wall, cpu = min(walls[name, per_window]), min(cpus[name, per_window])
            print(f"  {label:<36} {seconds / wall:7.1f}x wall ({wall:.2f} s), {seconds / cpu:7.1f}x CPU ({cpu:.2f} s)")
        print(f"  speed-up {min(walls[name, True]) / min(walls[name, False]):.2f}x wall, "
              f"{min(cpus[name, True]) / min(cpus[name, False]):.2f}x CPU; largest score difference {diff:.1e}")


if __name__ == "__main__":
    main()
