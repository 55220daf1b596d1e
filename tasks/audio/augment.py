"""Word augmentation for synthesis: speed perturbation, random equalisation, room reverb.

All deterministic from explicit arguments (the seed of each word's EQ curve and room is
stored in the clip's plan), and all return exactly ``length`` samples.
"""

from __future__ import annotations

import numpy as np


def change_speed(x: np.ndarray, length: int) -> np.ndarray:
    """Stretch or squeeze ``x`` to ``length`` samples (tempo and pitch change together)."""
    if length == len(x):
        return x
    pos = np.linspace(0.0, len(x) - 1, length)
    return np.interp(pos, np.arange(len(x)), x).astype(np.float32)


def _eq_curve(n_bins: int, max_db: float, rng: np.random.Generator) -> np.ndarray:
    """A smooth random gain curve within +-max_db (a tilt plus a few broad bumps)."""
    f = np.linspace(0.0, 1.0, n_bins)
    knots = rng.uniform(-max_db, max_db, 6)
    curve_db = np.interp(f, np.linspace(0.0, 1.0, 6), knots)
    return (10 ** (curve_db / 20)).astype(np.float32)


def room_impulse(sample_rate: int, rt60_s: float, rng: np.random.Generator) -> np.ndarray:
    """A synthetic room impulse response: a direct path then exponentially decaying noise."""
    n = max(1, int(rt60_s * sample_rate))
    t = np.arange(n) / sample_rate
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60_s)  # -60 dB at rt60
    tail[0] = 0.0
    h = np.concatenate([[1.0], 0.3 * tail / (np.sqrt(np.sum(tail**2)) + 1e-9)])
    return h.astype(np.float32)


def augment_word(x: np.ndarray, sample_rate: int, length: int, speed: float, eq_db: float,
                 seed: int, rt60_s: float, rir: np.ndarray | None = None) -> np.ndarray:
    """Apply speed, EQ and reverb to a word; the result has exactly ``length`` samples.

    The reverb tail beyond ``length`` is faded out over 10 ms rather than kept, so the
    word's end in the clip (and so its label) stays where the plan put it. With ``rir`` (a
    real impulse response, see :mod:`tasks.audio.rir`) a word with reverb (``rt60_s > 0``)
    gets that room instead of a synthetic one.
    """
    y = change_speed(x, length) if speed != 1.0 or length != len(x) else x
    if eq_db <= 0 and rt60_s <= 0:
        return y
    rng = np.random.default_rng(seed)
    tail = (len(rir) if rir is not None else int(rt60_s * sample_rate) + 1) if rt60_s > 0 else 0
    n_fft = 1 << int(np.ceil(np.log2(length + tail)))
    spec = np.fft.rfft(y, n_fft)
    if eq_db > 0:
        spec *= _eq_curve(len(spec), eq_db, rng)
    if rt60_s > 0:
        spec *= np.fft.rfft(room_impulse(sample_rate, rt60_s, rng) if rir is None else rir, n_fft)
    out = np.fft.irfft(spec, n_fft)[:length].astype(np.float32)
    fade = min(length, int(0.01 * sample_rate))
    if rt60_s > 0 and fade:
        out[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return out
