"""Scoring audio with a trained trigger-word model: clips, and streams of any length.

A stream is cut into windows as long as the training clips, each half a window after the
last; a window's scores are kept only for its second half (the first window keeps all), so
every kept score had at least half a window of context, like in training, and memory stays
bounded by one window whatever the file's length.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from models.trigger_word import TriggerWordModel
from tasks.audio.features import FeatureExtractor, FeatureSpec
from tasks.audio.io import AudioReadError, open_audio, to_mono
from tasks.trigger_word.detection import StepClock


@dataclass(frozen=True)
class Normaliser:
    mean: np.ndarray  # (F,)
    std: np.ndarray  # (F,)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., F, T)`` dB features -> standardised per bin."""
        m = torch.as_tensor(self.mean, dtype=x.dtype)[:, None]
        s = torch.as_tensor(self.std, dtype=x.dtype)[:, None]
        return (x - m) / s


class Scorer:
    """A model with its feature pipeline: waveform at any rate -> per-step probabilities."""

    def __init__(self, model: TriggerWordModel, spec: FeatureSpec, norm: Normaliser):
        self.model = model.eval()
        self.spec = spec
        self.norm = norm
        self.clock = StepClock(spec.sample_rate, spec.n_fft, spec.hop, model.config.conv_kernel,
                               model.config.conv_stride)
        self._extractors: dict[int, FeatureExtractor] = {}

    def features(self, wave: np.ndarray, rate: int) -> torch.Tensor:
        ex = self._extractors.setdefault(rate, FeatureExtractor(self.spec, rate))
        return self.norm(ex(torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32))))

    @torch.inference_mode()
    def probabilities(self, features: torch.Tensor) -> np.ndarray:
        """``(B, F, T)`` normalised features -> ``(B, Ty)`` probabilities."""
        return torch.sigmoid(self.model(features)).numpy()

    def score_wave(self, wave: np.ndarray, rate: int) -> np.ndarray:
        """Probabilities ``(Ty,)`` for one mono waveform (empty if shorter than the receptive field)."""
        f = self.features(wave, rate)
        if f.shape[-1] < self.model.config.conv_kernel:
            return np.zeros(0, np.float32)
        return self.probabilities(f[None])[0]


def stream_scores(path: Path | str, scorer: Scorer, window_s: float, block_s: float = 1.0
                  ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(times_s, probabilities)`` for consecutive stretches of an audio file.

    Reads the file in blocks; holds at most one window of audio. Raises
    :class:`AudioReadError` for files soundfile cannot open.
    """
    with open_audio(path) as f:
        rate = f.samplerate
        win = max(1, int(round(window_s * rate)))
        hop = max(1, win // 2)
        buf = np.zeros(0, np.float32)
        start = 0  # absolute index of buf[0]
        first = True

        def emit(wave: np.ndarray, offset: int, keep_from: int) -> tuple[np.ndarray, np.ndarray]:
            if not np.isfinite(wave).all():
                raise AudioReadError(f"non-finite samples near {offset / rate:.1f} s")
            probs = scorer.score_wave(wave, rate)
            times = offset / rate + np.asarray(scorer.clock.seconds(np.arange(len(probs))))
            keep = (times >= (offset + keep_from) / rate) & (times < (offset + len(wave)) / rate + 1e-9)
            return times[keep], probs[keep]

        for block in f.blocks(blocksize=max(1, int(block_s * rate)), dtype="float32", always_2d=True):
            buf = np.concatenate([buf, to_mono(block)])
            while len(buf) >= win:
                yield emit(buf[:win], start, 0 if first else win - hop)
                first = False
                buf = buf[hop:]
                start += hop
        if first and len(buf):
            yield emit(buf, start, 0)
        elif not first and len(buf) > win - hop:
            yield emit(buf, start, win - hop)


def score_file(path: Path | str, scorer: Scorer, window_s: float) -> tuple[np.ndarray, np.ndarray]:
    """``(times_s, probabilities)`` of a whole file, streamed (see :func:`stream_scores`)."""
    parts = list(stream_scores(path, scorer, window_s))
    if not parts:
        return np.zeros(0), np.zeros(0, np.float32)
    return np.concatenate([t for t, _ in parts]), np.concatenate([s for _, s in parts])


def chime(rate: int, seconds: float = 0.25) -> np.ndarray:
    """A short two-tone chime to mark a detection in an audio copy (the lecture's demo)."""
    t = np.arange(int(seconds * rate)) / rate
    tone = 0.5 * np.sin(2 * np.pi * 880 * t) + 0.3 * np.sin(2 * np.pi * 1320 * t)
    return (0.4 * tone * np.exp(-t * 12)).astype(np.float32)


def write_with_chimes(src: Path | str, dst: Path | str, times_s: list[float], block_s: float = 1.0) -> None:
    """Copy ``src`` to ``dst`` (WAV, same rate and channels) with a chime at each time, streaming."""
    with sf.SoundFile(str(src)) as f:
        rate, channels = f.samplerate, f.channels
        ding = chime(rate)
        starts = [int(t * rate) for t in times_s]
        with sf.SoundFile(str(dst), "w", samplerate=rate, channels=channels, subtype="PCM_16", format="WAV") as out:
            pos = 0
            for block in f.blocks(blocksize=max(1, int(block_s * rate)), dtype="float32", always_2d=True):
                for s in starts:
                    lo, hi = max(s, pos), min(s + len(ding), pos + len(block))
                    if lo < hi:
                        block[lo - pos:hi - pos] += ding[lo - s:hi - s, None]
                out.write(np.clip(block, -1, 1))
                pos += len(block)
