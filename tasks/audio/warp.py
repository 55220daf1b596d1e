"""Cheap speaker variety: a vocal-tract-length (formant) warp that keeps pitch and duration.

A longer vocal tract puts the formants lower, a shorter one higher; the voice's pitch (its
harmonics) is a separate matter, and so is its tempo. :func:`warp_formants` moves the spectral
envelope of each short-time frame along the frequency axis by ``alpha`` (``alpha`` > 1: formants
up, a shorter tract) and leaves the fine structure (harmonics) where it was: the envelope is the
low-quefrency part of the frame's real cepstrum, and each frame's spectrum is multiplied by
``warped envelope / envelope``. The phases are kept, the frames are overlap-added again, and the
result has the input's length and RMS. Deterministic: no random numbers.

The factor of each word in a clip comes from :func:`warp_factor` (its event's EQ seed and the
range ``synthesize.augment.warp``), so a clip's plan needs no new field to be rebuilt.
"""

from __future__ import annotations

import numpy as np

from tasks.io import stable_unit

# Frame of the warp, in seconds (32 ms: a few pitch periods) and its hop (a quarter of it).
FRAME_S = 0.032
# Cepstral lifter: quefrencies below this are the envelope (2.5 ms: shorter than the pitch
# period of voices up to 400 Hz; with 1.8 ms the envelope was so smooth that formants moved only
# about half of alpha, measured on resonances excited by noise in tests/tasks/audio/test_warp.py).
LIFTER_S = 0.0025


def warp_factor(lo: float, hi: float, seed: int) -> float:
    """A word's warp factor in ``[lo, hi]``, from its event's seed (1.0 when ``lo == hi == 1``)."""
    if lo == hi:
        return float(lo)
    return float(lo + (hi - lo) * stable_unit("formant-warp", seed))


def _frames(x: np.ndarray, n_fft: int, hop: int) -> tuple[np.ndarray, int]:
    """Hann-windowed frames of ``x`` padded by half a frame each side; returns (frames, padded length)."""
    pad = n_fft // 2
    y = np.pad(x.astype(np.float64), (pad, pad + n_fft))
    count = 1 + (len(x) + pad) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(count)[:, None]
    return y[idx] * np.hanning(n_fft + 1)[:-1], len(y)


def warp_formants(x: np.ndarray, sample_rate: int, alpha: float) -> np.ndarray:
    """``x`` with its formants moved by ``alpha`` (0.85: a longer vocal tract, 1.15: a shorter one).

    Float32, the same length and RMS as ``x``; ``x`` itself when ``alpha`` is 1 or ``x`` is
    shorter than one frame.
    """
    n_fft = 1 << int(np.ceil(np.log2(FRAME_S * sample_rate)))
    hop = n_fft // 4
    if alpha == 1.0 or len(x) < n_fft:
        return x
    frames, padded = _frames(x, n_fft, hop)
    spec = np.fft.rfft(frames, axis=1)  # (frames, bins)
    log_mag = np.log(np.abs(spec) + 1e-9)
    cep = np.fft.irfft(log_mag, n_fft, axis=1)
    cut = max(2, int(LIFTER_S * sample_rate))
    cep[:, cut:n_fft - cut + 1] = 0.0
    env = np.fft.rfft(cep, axis=1).real  # log envelope per bin
    bins = np.arange(spec.shape[1], dtype=np.float64)
    src = np.minimum(bins / alpha, bins[-1])  # warped(f) = envelope(f / alpha), linearly interpolated
    lo = np.minimum(src.astype(np.int64), len(bins) - 2)
    frac = src - lo
    warped = env[:, lo] * (1.0 - frac) + env[:, lo + 1] * frac
    spec *= np.exp(np.clip(warped - env, -12.0, 12.0))
    window = np.hanning(n_fft + 1)[:-1]
    out_frames = np.fft.irfft(spec, n_fft, axis=1) * window
    y = np.zeros(padded)
    norm = np.zeros(padded)
    for phase in range(n_fft // hop):  # overlap-add: frames of one phase do not overlap each other
        part = out_frames[phase::n_fft // hop]
        start = phase * hop
        stop = start + len(part) * n_fft
        y[start:stop] += part.ravel()
        norm[start:stop] += np.tile(window ** 2, len(part))
    pad = n_fft // 2
    y = y[pad:pad + len(x)] / np.maximum(norm[pad:pad + len(x)], 1e-3)
    rms_in = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    rms_out = float(np.sqrt(np.mean(np.square(y))))
    if rms_out > 0:
        y *= rms_in / rms_out
    return y.astype(np.float32)
