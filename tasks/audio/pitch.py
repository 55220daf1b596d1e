"""Pitch and tempo apart: a pitch shift that keeps the tempo (and by default the formants), and a
time stretch that keeps the pitch.

A speech engine's pitch setting moves the voice's fundamental (its harmonics) and leaves its
tempo and vocal tract alone; its rate setting changes the tempo alone. Playing a recording
faster (:func:`tasks.trigger_word.enrol.speed_copy`) changes all three together. Here:

- :func:`time_stretch`: a phase vocoder (torchaudio's, on a 32 ms Hann STFT with a quarter-frame
  hop) that changes the length and keeps the spectrum, so pitch and formants stay;
- :func:`pitch_shift`: the recording played ``2**(semitones/12)`` times faster (polyphase
  resampling: pitch, formants and tempo up together), then stretched back to its length (tempo
  restored); with ``keep_formants`` the spectral envelope is then moved back by the inverse
  factor (:func:`tasks.audio.warp.warp_formants`), so that only the harmonics have moved.

Both keep the input's RMS and are deterministic (no random numbers).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from tasks.audio.warp import warp_formants

FRAME_S = 0.032  # the phase vocoder's frame (a few pitch periods); its hop is a quarter of it
MAX_DENOMINATOR = 64  # the shift's factor as a fraction p/q with q <= this (under 0.03 semitone off)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


def _level_of(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``y`` scaled to the RMS of ``x`` (float32)."""
    r = _rms(y)
    return (y * (_rms(x) / r) if r > 0 else y).astype(np.float32)


def time_stretch(x: np.ndarray, sample_rate: int, length: int) -> np.ndarray:
    """``x`` stretched or squeezed to ``length`` samples with its pitch and formants kept (float32,
    the input's RMS); ``x`` itself when the length is already ``length`` or ``x`` is shorter
    than one frame."""
    import torch
    import torchaudio.functional as AF

    n_fft = 1 << int(np.ceil(np.log2(FRAME_S * sample_rate)))
    hop = n_fft // 4
    if length == len(x) or len(x) < n_fft or length < 1:
        return x
    t = torch.from_numpy(np.ascontiguousarray(x, np.float32))
    window = torch.hann_window(n_fft)
    spec = torch.stft(t, n_fft, hop, window=window, return_complex=True)  # (bins, frames)
    advance = torch.linspace(0, math.pi * hop, spec.shape[0])[:, None]
    out = AF.phase_vocoder(spec, rate=len(x) / length, phase_advance=advance)  # rate > 1: fewer frames
    y = torch.istft(out, n_fft, hop, window=window, length=length).numpy()
    return _level_of(y, x)


def shift_factor(semitones: float) -> Fraction:
    """The frequency factor of a shift by ``semitones``, as the fraction the resampling uses."""
    return Fraction(2.0 ** (semitones / 12.0)).limit_denominator(MAX_DENOMINATOR)


def pitch_shift(x: np.ndarray, sample_rate: int, semitones: float, keep_formants: bool = True) -> np.ndarray:
    """``x`` with its pitch moved by ``semitones`` (+ up), its length (tempo) kept, and with
    ``keep_formants`` its formants too (float32, the input's RMS); ``x`` itself for 0."""
    from scipy.signal import resample_poly

    if semitones == 0 or len(x) == 0:
        return x
    r = shift_factor(semitones)
    faster = resample_poly(np.asarray(x, np.float64), r.denominator, r.numerator)  # len / r: all up by r
    y = time_stretch(faster.astype(np.float32), sample_rate, len(x))
    if len(y) != len(x):  # shorter than a phase-vocoder frame: no shift
        return x
    if keep_formants:
        y = warp_formants(y, sample_rate, float(1 / r))
    return _level_of(y, x)
