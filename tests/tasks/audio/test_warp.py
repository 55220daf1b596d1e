"""The formant warp moves the spectral envelope and keeps the pitch, the length and the level."""

from __future__ import annotations

import numpy as np
import scipy.signal as ss

from tasks.audio.warp import warp_factor, warp_formants

SR = 16000


def vowel(f0: float = 125.0, formants: tuple[float, ...] = (700.0, 1200.0, 2600.0)) -> np.ndarray:
    """One second of a vowel: a pulse train at ``f0`` through resonances at ``formants``."""
    x = np.zeros(SR)
    x[::int(SR / f0)] = 1.0
    for f in formants:
        r, th = np.exp(-np.pi * 90 / SR), 2 * np.pi * f / SR
        x = ss.lfilter([1.0], [1.0, -2 * r * np.cos(th), r * r], x)
    return (0.5 * x / np.abs(x).max()).astype(np.float32)


def first_formant(x: np.ndarray) -> float:
    """The lowest formant, from the roots of a 14th-order LPC fit (autocorrelation method)."""
    from scipy.linalg import solve_toeplitz

    y = np.append(x[0], x[1:] - 0.63 * x[:-1]) * np.hanning(len(x))
    r = np.correlate(y, y, "full")[len(y) - 1:len(y) + 15]
    a = np.concatenate([[1.0], -solve_toeplitz(r[:14], r[1:15])])
    roots = [z for z in np.roots(a) if z.imag > 0]
    freqs = sorted(np.angle(z) * SR / (2 * np.pi) for z in roots
                   if -np.log(abs(z)) * SR / np.pi < 400)  # bandwidth under 400 Hz
    return float(next(f for f in freqs if f > 300))


def pitch(x: np.ndarray) -> float:
    ac = np.correlate(x[:4000], x[:4000], "full")[3999:]
    lo, hi = SR // 400, SR // 60
    return SR / (lo + int(np.argmax(ac[lo:hi])))


def resonances(seed: int = 0) -> np.ndarray:
    """One second of noise through the same resonances (a clear envelope, no harmonics)."""
    x = np.random.default_rng(seed).standard_normal(SR)
    for f in (700.0, 1200.0, 2600.0):
        r, th = np.exp(-np.pi * 90 / SR), 2 * np.pi * f / SR
        x = ss.lfilter([1.0], [1.0, -2 * r * np.cos(th), r * r], x)
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


def test_formants_move_by_about_alpha():
    x = resonances()
    base = first_formant(x)
    assert abs(base - 700) < 20
    down, up = (first_formant(warp_formants(x, SR, a)) / base for a in (0.85, 1.15))
    assert abs(down - 0.85) < 0.03 and abs(up - 1.15) < 0.06


def test_pitch_length_and_level_stay():
    for f0 in (125.0, 220.0):
        x = vowel(f0)
        for alpha in (0.85, 1.15):
            y = warp_formants(x, SR, alpha)
            assert len(y) == len(x) and y.dtype == np.float32
            assert abs(pitch(y) - pitch(x)) < 2.0
            assert np.isclose(np.sqrt(np.mean(y ** 2)), np.sqrt(np.mean(x ** 2)), rtol=1e-4)


def test_identity_cases_and_determinism():
    x = vowel()
    assert warp_formants(x, SR, 1.0) is x
    short = x[:100]
    assert warp_formants(short, SR, 1.1) is short  # shorter than one frame
    assert np.array_equal(warp_formants(x, SR, 1.1), warp_formants(x, SR, 1.1))


def test_warp_factor_is_in_range_and_stable():
    draws = [warp_factor(0.85, 1.15, s) for s in range(200)]
    assert min(draws) >= 0.85 and max(draws) <= 1.15 and np.std(draws) > 0.05
    assert draws == [warp_factor(0.85, 1.15, s) for s in range(200)]
    assert warp_factor(1.0, 1.0, 7) == 1.0
