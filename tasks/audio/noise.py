"""Generated background sounds, so the default pipeline runs without any recordings.

Each generator is deterministic given its ``numpy.random.Generator`` and returns mono
float32 normalised to an RMS of -20 dBFS; synthesis sets the final level.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

_TARGET_RMS = 0.1  # -20 dBFS


def _normalise(x: np.ndarray) -> np.ndarray:
    r = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    y = x * (_TARGET_RMS / max(r, 1e-9))
    return np.clip(y, -0.99, 0.99).astype(np.float32)


def colored_noise(n: int, alpha: float, rng: np.random.Generator) -> np.ndarray:
    """Noise whose power falls as ``1/f**alpha``: white 0, pink 1, brown 2, blue -1, violet -2."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n)
    f[0] = f[1]
    spectrum *= f ** (-alpha / 2.0)
    return np.fft.irfft(spectrum, n)


def _smooth_envelope(n: int, sr: int, rate_hz: float, depth: float, rng: np.random.Generator) -> np.ndarray:
    """A slow random envelope in [1 - depth, 1] (wind gusts, passing cars)."""
    knots = max(2, int(n / sr * rate_hz) + 2)
    env = np.interp(np.arange(n), np.linspace(0, n, knots), rng.random(knots))
    return 1.0 - depth + depth * env


def hum(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Mains hum (50 or 60 Hz with odd harmonics) over faint pink noise."""
    t = np.arange(n) / sr
    f0 = rng.choice([50.0, 60.0])
    tone = sum(rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 2 * np.pi))
               for k in (1, 3, 5, 7))
    return tone + 0.05 * colored_noise(n, 1.0, rng) / 0.1


def fan(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A fan or air conditioner: blade tone with harmonics over low-passed noise."""
    t = np.arange(n) / sr
    f0 = rng.uniform(80, 240)
    tone = sum(np.sin(2 * np.pi * f0 * k * t) / k**1.5 for k in range(1, 6))
    noise = colored_noise(n, 1.5, rng)
    return 0.3 * tone / np.std(tone) + noise / np.std(noise)


def rain(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Rain: many short decaying clicks over pink noise."""
    drops = np.zeros(n)
    count = int(n / sr * rng.uniform(200, 800))
    drops[rng.integers(0, n, count)] = rng.standard_normal(count)
    decay = np.exp(-np.arange(int(0.004 * sr)) / (0.0008 * sr))
    clicks = np.convolve(drops, decay)[:n]
    bed = colored_noise(n, 1.0, rng)
    return clicks / (np.std(clicks) + 1e-9) + 0.5 * bed / np.std(bed)


def wind(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Wind: brown noise with slow gusts."""
    return colored_noise(n, 2.0, rng) * _smooth_envelope(n, sr, 0.5, 0.8, rng)


def traffic(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Distant traffic: low rumble with cars passing every few seconds."""
    rumble = colored_noise(n, 2.0, rng)
    t = np.arange(n) / sr
    swell = np.zeros(n)
    for centre in rng.uniform(0, n / sr, max(1, int(n / sr / 3))):
        swell += np.exp(-((t - centre) ** 2) / (2 * rng.uniform(0.5, 1.5) ** 2))
    return rumble / np.std(rumble) * (0.3 + swell)


def babble(n: int, sr: int, rng: np.random.Generator, words: Sequence[np.ndarray]) -> np.ndarray:
    """Distant chatter: many words from many voices overlapped at random places."""
    out = np.zeros(n)
    if not words:
        return colored_noise(n, 1.0, rng)
    for _ in range(int(n / sr * 6)):
        w = words[int(rng.integers(len(words)))]
        w = w[: n]
        start = int(rng.integers(0, n - len(w) + 1))
        out[start:start + len(w)] += w * rng.uniform(0.2, 1.0)
    return out + 0.05 * np.std(out) * rng.standard_normal(n)


_COLOURS = {"white": 0.0, "pink": 1.0, "brown": 2.0, "blue": -1.0, "violet": -2.0}
_TEXTURES: dict[str, Callable[[int, int, np.random.Generator], np.ndarray]] = {
    "hum": hum, "fan": fan, "rain": rain, "wind": wind, "traffic": traffic,
}
KINDS = (*_COLOURS, *_TEXTURES, "babble")


def make_background(kind: str, seconds: float, sr: int, rng: np.random.Generator,
                    babble_words: Sequence[np.ndarray] = ()) -> np.ndarray:
    """One generated background of ``kind`` (see :data:`KINDS`), RMS -20 dBFS, float32."""
    n = int(round(seconds * sr))
    if kind in _COLOURS:
        x = colored_noise(n, _COLOURS[kind], rng)
    elif kind in _TEXTURES:
        x = _TEXTURES[kind](n, sr, rng)
    elif kind == "babble":
        x = babble(n, sr, rng, babble_words)
    else:
        raise ValueError(f"unknown background kind {kind!r}; known: {', '.join(KINDS)}")
    return _normalise(x)
