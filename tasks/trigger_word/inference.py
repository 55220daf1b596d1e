"""Scoring audio with a trained trigger-word model: clips, and streams of any length.

A stream is cut into windows as long as the training clips, each half a window after the
last; a window's scores are kept only for its second half (the first window keeps all), so
every kept score had at least half a window of context, like in training, and memory stays
bounded by a group of windows whatever the file's length. Each window is scored as a clip
of its own, but the features of a group of windows are computed once per stretch of audio
(:mod:`tasks.audio.window_features`) and the model runs on the group as one batch.
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
from tasks.audio.window_features import WindowFeatures
from tasks.trigger_word.detection import StepClock
from tasks.trigger_word.stream_norm import StreamNorm

GROUP = 16  # windows scored together when streaming (80 s of audio for 10 s windows)


@dataclass(frozen=True)
class Normaliser:
    """The training features' mean and std per bin, then optionally a per-stream normalisation
    of each clip's (or streamed window's) steps (:mod:`tasks.trigger_word.stream_norm`)."""

    mean: np.ndarray  # (F,)
    std: np.ndarray  # (F,)
    stream: StreamNorm | None = None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., F, T)`` dB features -> standardised per bin (then along time, with ``stream``)."""
        m = torch.as_tensor(self.mean, dtype=x.dtype)[:, None]
        s = torch.as_tensor(self.std, dtype=x.dtype)[:, None]
        x = (x - m) / s
        return x if self.stream is None else self.stream(x)


class Scorer:
    """A model with its feature pipeline: waveform at any rate -> per-step probabilities."""

    def __init__(self, model: TriggerWordModel, spec: FeatureSpec, norm: Normaliser):
        self.model = model.eval()
        self.spec = spec
        self.norm = norm
        self.clock = StepClock(spec.sample_rate, spec.n_fft, spec.hop, model.config.conv_kernel,
                               model.config.conv_stride)
        self._extractors: dict[int, FeatureExtractor] = {}
        self._windows: dict[tuple[int, int, int], WindowFeatures] = {}

    def features(self, wave: np.ndarray, rate: int) -> torch.Tensor:
        ex = self._extractors.setdefault(rate, FeatureExtractor(self.spec, rate))
        return self.norm(ex(torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32))))

    @torch.inference_mode()
    def probabilities(self, features: torch.Tensor) -> np.ndarray:
        """``(B, F, T)`` normalised features -> ``(B, Ty)`` probabilities."""
        return torch.sigmoid(self.model(features)).numpy()

    def score_windows(self, chunk: np.ndarray, rate: int, win: int, hop: int, count: int) -> np.ndarray:
        """Probabilities ``(count, Ty)`` of ``count`` windows of ``win`` samples, ``hop`` apart,
        in ``chunk``: each as :meth:`score_wave` scores it alone (to float tolerance), in one batch."""
        key = (rate, win, hop)
        if key not in self._windows:
            self._windows[key] = WindowFeatures(self.spec, rate, win, hop)
        return self.probabilities(self.norm(self._windows[key](chunk, count)))

    def score_wave(self, wave: np.ndarray, rate: int) -> np.ndarray:
        """Probabilities ``(Ty,)`` for one mono waveform (empty if shorter than the receptive field)."""
        f = self.features(wave, rate)
        if f.shape[-1] < self.model.config.conv_kernel:
            return np.zeros(0, np.float32)
        return self.probabilities(f[None])[0]


def stream_scores(path: Path | str, scorer: Scorer, window_s: float, block_s: float = 1.0,
                  group: int = GROUP, per_window: bool = False) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(times_s, probabilities)`` for consecutive stretches of an audio file.

    Reads the file in blocks and scores ``group`` windows at a time (their features computed
    once per stretch of audio, see :class:`WindowFeatures`, and the model run on them as one
    batch); holds at most ``group`` windows of audio. ``per_window`` scores each window on
    its own (the former way, kept as the reference the shared one is checked against).
    Raises :class:`AudioReadError` for files soundfile cannot open.
    """
    shared = not per_window and hasattr(scorer, "score_windows")
    group = max(1, group) if shared else 1
    with open_audio(path) as f:
        rate = f.samplerate
        win = max(1, int(round(window_s * rate)))
        hop = max(1, win // 2)
        blocks: list[np.ndarray] = []
        held = 0  # samples in blocks
        start = 0  # absolute index of the first held sample
        first = True

        def emit(probs: np.ndarray, offset: int, length: int, keep_from: int) -> tuple[np.ndarray, np.ndarray]:
            times = offset / rate + np.asarray(scorer.clock.seconds(np.arange(len(probs))))
            keep = (times >= (offset + keep_from) / rate) & (times < (offset + length) / rate + 1e-9)
            return times[keep], probs[keep]

        def finite(wave: np.ndarray, offset: int, span: int) -> None:
            bad = np.flatnonzero(~np.isfinite(wave))
            if len(bad):  # the first window holding a bad sample, as when windows were checked one by one
                at = offset + max(0, -(-(int(bad[0]) - span + 1) // hop)) * hop
                raise AudioReadError(f"non-finite samples near {at / rate:.1f} s")

        def windows(buf: np.ndarray, count: int, first: bool) -> Iterator[tuple[np.ndarray, np.ndarray]]:
            chunk = buf[:(count - 1) * hop + win]
            finite(chunk, start, win)
            if shared:
                probs = scorer.score_windows(chunk, rate, win, hop, count)
            else:
                probs = [scorer.score_wave(chunk[i * hop:i * hop + win], rate) for i in range(count)]
            for i in range(count):
                yield emit(probs[i], start + i * hop, win, 0 if first and i == 0 else win - hop)

        def ready(n: int) -> int:
            return (n - win) // hop + 1 if n >= win else 0

        for block in f.blocks(blocksize=max(1, int(block_s * rate)), dtype="float32", always_2d=True):
            blocks.append(to_mono(block))
            held += len(blocks[-1])
            if ready(held) >= group:
                buf = np.concatenate(blocks)
                count = ready(held)
                yield from windows(buf, count, first)
                first = False
                blocks, held, start = [buf[count * hop:]], held - count * hop, start + count * hop
        buf = np.concatenate(blocks) if blocks else np.zeros(0, np.float32)
        if count := ready(len(buf)):
            yield from windows(buf, count, first)
            first = False
            buf, start = buf[count * hop:], start + count * hop
        if len(buf) and (first or len(buf) > win - hop):
            finite(buf, start, len(buf))
            yield emit(scorer.score_wave(buf, rate), start, len(buf), 0 if first else win - hop)


def score_file(path: Path | str, scorer: Scorer, window_s: float, per_window: bool = False
               ) -> tuple[np.ndarray, np.ndarray]:
    """``(times_s, probabilities)`` of a whole file, streamed (see :func:`stream_scores`)."""
    parts = list(stream_scores(path, scorer, window_s, per_window=per_window))
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
