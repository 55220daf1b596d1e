"""Spectrogram features with torchaudio (the lecture's linear spectrogram or a log-mel one), or
the frozen pretrained speech frontend (``speech_embedding``, see :mod:`tasks.audio.speech_embedding`).

Both are in decibels, shaped ``(F, T)`` per clip (frequency bins first, as ``nn.Conv1d``
reads them), computed without centre padding so ``T = (n - n_fft) // hop + 1``: 10 s at
44.1 kHz with n_fft 200 and hop 80 gives the lecture's 101 x 5511 (a Hann window, like
matplotlib's ``specgram`` default).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torchaudio.functional as AF

_EPS = 1e-10


KINDS = ("spectrogram", "logmel", "speech_embedding")


@dataclass(frozen=True)
class FeatureSpec:
    kind: str  # "spectrogram" | "logmel" | "speech_embedding"
    sample_rate: int  # rate the features are computed at, in Hz
    n_fft: int
    hop: int
    n_mels: int = 40

    @property
    def n_bins(self) -> int:
        return self.n_fft // 2 + 1 if self.kind == "spectrogram" else self.n_mels

    def n_frames(self, n_samples: int) -> int:
        return max(0, (n_samples - self.n_fft) // self.hop + 1)


def speech_embedding_spec() -> FeatureSpec:
    """The frontend's fixed settings: 16 kHz, 96 values per 80 ms; as a frame clock, each step
    has heard the audio up to its end (``n_fft = hop = 1280`` samples, see the module)."""
    from tasks.audio import speech_embedding as se

    return FeatureSpec("speech_embedding", se.RATE, se.STEP, se.STEP, se.DIM)


class FeatureExtractor:
    """Turn waveforms ``(n,)`` or ``(B, n)`` at ``input_rate`` into dB features ``(..., F, T)``.

    One clip at a time is the fastest way on a CPU (the STFT's working set stays in cache);
    the power is taken as re^2 + im^2, which is several times cheaper than ``abs()**2``.
    """

    def __init__(self, spec: FeatureSpec, input_rate: int):
        if spec.kind not in KINDS:
            raise ValueError(f"unknown feature kind {spec.kind!r}")
        self.spec = spec
        self.input_rate = input_rate
        self.frontend = None
        if spec.kind == "speech_embedding":
            from tasks.audio.speech_embedding import SpeechEmbedding

            self.frontend = SpeechEmbedding()
        self.window = torch.hann_window(spec.n_fft)
        self.mel = None
        if spec.kind == "logmel":
            self.mel = AF.melscale_fbanks(spec.n_fft // 2 + 1, 0.0, spec.sample_rate / 2, spec.n_mels,
                                          spec.sample_rate, norm="slaney", mel_scale="slaney")  # (bins, mels)

    @torch.inference_mode()
    def __call__(self, wave: torch.Tensor) -> torch.Tensor:
        if self.input_rate != self.spec.sample_rate:
            wave = AF.resample(wave, self.input_rate, self.spec.sample_rate)
        if self.frontend is not None:
            if wave.ndim == 1:
                return torch.from_numpy(self.frontend(wave.numpy()))  # (96, T)
            return torch.stack([torch.from_numpy(self.frontend(w.numpy())) for w in wave])
        s = torch.stft(wave, self.spec.n_fft, self.spec.hop, window=self.window, center=False,
                       return_complex=True)  # (..., bins, T)
        power = s.real.square() + s.imag.square()
        if self.mel is not None:
            power = torch.matmul(power.transpose(-1, -2), self.mel).transpose(-1, -2)  # (..., mels, T)
        return power.add_(_EPS).log10_().mul_(10.0)
