"""Benchmark: spectrogram features (101 x 5511 per 10 s clip at 44.1 kHz) against matplotlib.

Run: ``python -m benchmarks.trigger_word_features [--clips N]``

Both contenders turn the same 10-second 44.1 kHz WAV clips (written here) into the lecture's
spectrogram: a 200-sample Hann window every 80 samples (matplotlib: ``NFFT=200,
noverlap=120``, its default Hann window), in dB. Ours is the features stage's shard function
(read WAV, torchaudio/torch STFT, float16 shard on disk) on 2 worker processes; matplotlib's
``mlab.specgram`` (what the course's ``graph_spectrogram`` calls) runs the same way on 2
processes. The figures are clips per second over the same clips, in the same run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf

from tasks.audio.features import FeatureSpec
from tasks.trigger_word.features import feature_shard

RATE = 44100
SPEC = FeatureSpec("spectrogram", RATE, 200, 80)


def make_clips(folder: Path, n: int) -> list[str]:
    rng = np.random.default_rng(0)
    names = []
    for i in range(n):
        x = (0.1 * rng.standard_normal(10 * RATE)).astype(np.float32)
        sf.write(str(folder / f"clip-{i:04d}.wav"), x, RATE, subtype="PCM_16")
        names.append(f"clip-{i:04d}.wav")
    return names


def ours(folder: Path, names: list[str], out: Path) -> tuple[int, int]:
    f = feature_shard(folder, names, np.zeros((len(names), 1375), np.uint8), SPEC, RATE, out, 0)
    return f["rows"], f["frames"]


def matplotlib_specgram(folder: Path, names: list[str]) -> tuple[int, int]:
    from matplotlib import mlab

    shape = (0, 0)
    for name in names:
        x, _ = sf.read(str(folder / name), dtype="float32")
        pxx, _, _ = mlab.specgram(x, NFFT=200, Fs=RATE, noverlap=120)
        db = 10 * np.log10(pxx + 1e-10)
        shape = db.shape
    return len(names), shape[1]


def timed(fn, jobs: list[tuple]) -> tuple[float, tuple]:
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_noop, range(2)))  # start the workers before the clock
        t = time.perf_counter()
        results = list(pool.map(fn, *zip(*jobs, strict=True)))
        return time.perf_counter() - t, results[0]


def _noop(_: int) -> None:
    import torch  # noqa: F401 - warm the import in each worker


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clips", type=int, default=256)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        names = make_clips(folder, args.clips)
        shards = [names[i:i + 32] for i in range(0, len(names), 32)]
        t_ours, shape = timed(ours, [(folder, s, folder / f"out-{i}") for i, s in enumerate(shards)])
        t_mpl, mpl_shape = timed(matplotlib_specgram, [(folder, s) for s in shards])
    n = len(names)
    print(f"clips: {n} x 10 s at {RATE} Hz; frames per clip: ours {shape[1]}, matplotlib {mpl_shape[1]}")
    print(f"ours (torch STFT, float16 shards, 2 processes): {n / t_ours:8.1f} clips/s")
    print(f"matplotlib mlab.specgram (2 processes):          {n / t_mpl:8.1f} clips/s")
    print(f"speed-up: {t_mpl / t_ours:.2f}x")


if __name__ == "__main__":
    main()
