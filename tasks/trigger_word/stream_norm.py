"""Per-stream normalisation of the feature steps a head sees (cepstral mean normalisation's idea).

A speaker, a channel or a speech engine shifts every step of its features by much the same
offset; subtracting a running mean of the steps removes it, as CMN does for MFCCs. The mean is
causal: step ``t`` is normalised with the steps ``<= t`` of its window alone, weighted by
``decay ** (t - k)`` and divided by the sum of the weights (so the first step is weighted
fully, and a constant offset on every step cancels exactly). Each window is normalised on its
own, like a training clip, so streaming a long file (windows half a window apart, the second
half of each kept, :mod:`tasks.trigger_word.inference`) gives each kept step at least half a
window of history and the same scores as the windows scored as clips.

Kinds: ``mean`` subtracts the running mean; ``mean_std`` also divides by the running standard
deviation (with one pseudo-step of unit variance, so the first steps do not blow up); ``l2``
scales each step to length ``sqrt(F)`` (no running statistics); ``mean_l2`` subtracts the
running mean, then scales to length ``sqrt(F)``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch

KINDS = ("mean", "mean_std", "l2", "mean_l2")


@dataclass(frozen=True)
class StreamNorm:
    kind: str  # one of KINDS
    decay: float  # weight of a step one step older, 0 < decay <= 1 (1: the plain mean since the start)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"stream normalisation {self.kind!r}: expected one of {', '.join(KINDS)}")
        if not 0 < self.decay <= 1:
            raise ValueError(f"stream normalisation decay {self.decay}: expected 0 < decay <= 1")

    @classmethod
    def from_meta(cls, doc: dict) -> StreamNorm:
        """From a checkpoint's ``normaliser.stream`` entry (:meth:`to_meta`)."""
        return cls(doc["kind"], float(doc["decay"]))

    def to_meta(self) -> dict:
        return {"kind": self.kind, "decay": self.decay}

    def weights(self, t: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(T, T)`` float64: row ``t`` holds step ``k``'s weight in the running mean at ``t``
        (0 for ``k > t``, rows summing to 1); and ``(T,)`` the rows' sums before that."""
        return _weights(self.decay, t)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., F, T)`` standardised features -> the same shape, normalised along ``T``."""
        f, t = x.shape[-2], x.shape[-1]
        if t == 0:
            return x
        y = x.double()  # the running statistics in float64: a large offset must cancel exactly
        if self.kind != "l2":
            w, total = self.weights(t)
            mean = y @ w.T  # (..., F, T): the running mean at each step
            if self.kind == "mean_std":
                var = ((y * y) @ w.T - mean * mean).clamp(min=0)  # running variance about it
                var = (var * total + 1.0) / (total + 1.0)  # and one pseudo-step of variance 1
                y = (y - mean) / var.sqrt()
            else:
                y = y - mean
        if self.kind in ("l2", "mean_l2"):
            y = y * (math.sqrt(f) / y.norm(dim=-2, keepdim=True).clamp(min=1e-6))
        return y.to(x.dtype)


@functools.lru_cache(maxsize=16)
def _weights(decay: float, t: int) -> tuple[torch.Tensor, torch.Tensor]:
    lag = torch.arange(t)[:, None] - torch.arange(t)[None, :]  # t - k
    raw = torch.where(lag >= 0, torch.tensor(decay, dtype=torch.float64) ** lag.clamp(min=0),
                      torch.zeros((), dtype=torch.float64))
    total = raw.sum(1)
    return raw / total[:, None], total


def stream_norm_from_params(kind: str, time_constant_s: float | None, step_s: float) -> StreamNorm | None:
    """The normalisation ``trigger_word.train.model.stream_norm`` names, for steps ``step_s`` apart
    (None for ``none``): the running mean forgets with time constant ``time_constant_s`` seconds
    (``decay = exp(-step_s / time_constant_s)``; null: the plain mean of all steps so far)."""
    if kind == "none":
        return None
    decay = 1.0 if time_constant_s is None else math.exp(-step_s / time_constant_s)
    return StreamNorm(kind, decay)
