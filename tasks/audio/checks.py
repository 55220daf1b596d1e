"""Checks and clean-up for recordings: each check returns a reason string or None."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Magnitude at or above which a float sample counts as clipped (int16 full scale is 0.99997).
CLIP_LEVEL = 0.999


@dataclass(frozen=True)
class AudioLimits:
    """Bounds a recording must meet to be used (units in the field names)."""

    min_seconds: float
    max_seconds: float
    silence_dbfs: float = -50.0  # peak below this -> silent
    max_clipped_fraction: float = 0.001  # share of samples at full scale -> clipped


def dbfs(x: float) -> float:
    """Amplitude (1.0 = full scale) to decibels relative to full scale."""
    return 20.0 * float(np.log10(max(x, 1e-12)))


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def problem_in_raw(data: np.ndarray, limits: AudioLimits) -> str | None:
    """The first problem of decoded audio ``(n, channels)`` before any processing."""
    if data.size == 0:
        return "empty: no samples"
    if not np.isfinite(data).all():
        return "non-finite: contains NaN or Inf samples"
    peak = float(np.abs(data).max())
    if dbfs(peak) < limits.silence_dbfs:
        return f"silent: peak {dbfs(peak):.1f} dBFS below {limits.silence_dbfs:.1f} dBFS"
    if data.ndim == 2 and data.shape[1] > 1:  # what is used is the mono mix: channels can cancel
        mixed = float(np.abs(data.mean(axis=1, dtype=np.float64)).max())
        if dbfs(mixed) < limits.silence_dbfs:
            return (f"silent after mixing to mono: the channels cancel (peak {dbfs(mixed):.1f} dBFS, "
                    f"each channel up to {dbfs(peak):.1f} dBFS); is one channel's polarity inverted?")
    clipped = float(np.mean(np.abs(data) >= CLIP_LEVEL))
    if clipped > limits.max_clipped_fraction:
        return f"clipped: {clipped:.2%} of samples at full scale (limit {limits.max_clipped_fraction:.2%})"
    return None


def problem_in_length(n_samples: int, sr: int, limits: AudioLimits) -> str | None:
    seconds = n_samples / sr
    if seconds < limits.min_seconds:
        return f"too short: {seconds:.3f} s < {limits.min_seconds} s"
    if seconds > limits.max_seconds:
        return f"too long: {seconds:.3f} s > {limits.max_seconds} s"
    return None


def trim_silence(x: np.ndarray, sr: int, threshold_db: float = -40.0, frame_s: float = 0.01,
                 pad_s: float = 0.02) -> np.ndarray:
    """Cut leading and trailing frames quieter than ``threshold_db`` below the loudest frame.

    Frame energies are measured on ``frame_s`` windows; ``pad_s`` of the quiet edge is kept
    so the word's onset and release are not cut.
    """
    frame = max(1, int(round(frame_s * sr)))
    n_frames = len(x) // frame
    if n_frames == 0:
        return x
    energy = np.sqrt(np.mean(np.square(x[: n_frames * frame].reshape(n_frames, frame), dtype=np.float64), axis=1))
    loud = np.flatnonzero(energy >= energy.max() * 10 ** (threshold_db / 20.0))
    pad = int(round(pad_s * sr))
    start = max(0, loud[0] * frame - pad)
    end = min(len(x), (loud[-1] + 1) * frame + pad)
    return x[start:end]
