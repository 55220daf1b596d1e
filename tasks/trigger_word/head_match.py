"""A second opinion for the trained head: query by example on the frontend's steps.

Templates are training takes of the trigger word (their frozen-frontend steps, from the step
that first hears the take to ``extra`` steps after the one that has heard it whole, as
``enrol-word`` makes them: :mod:`tasks.trigger_word.word_match`). A stream's *match* at step
``j`` is the best template's subsequence-DTW score ending there; it is standardised with the
mean and spread of the match over the training clips' negative steps (``z``), and fused with
the head's per-step logit:

    fused logit = (1 - w) * head logit + w * gain * z

so the fused score is still a probability-like value, thresholded and streamed like the head's
alone. The opinion may also mix in the word encoder's ``(1 + cos) / 2`` to the takes' mean vector
(``encoder_weight``), as ``enrol-word``'s fused scorer does. :class:`MatchedHead` is that fusion as an ``nn.Module`` with the head's interface, so the
scoring code (clips, streams, ``detect``, ``evaluate``) runs it unchanged.

The steps are compared in one of two spaces, both made from the head's own normaliser: ``centred``
(the frontend's steps minus the training features' mean) or ``standardised`` (also divided by
their spread, the head's input itself).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from tasks.audio import speech_embedding as se
from tasks.audio.checks import trim_silence
from tasks.trigger_word.enrol import LEAD_S, TAIL_S, in_context
from tasks.trigger_word.word_data import background_slice, mix_word
from tasks.trigger_word.word_match import match_scores, subsequence_dtw, template_span, unit

SPACES = ("centred", "standardised")


@dataclass(frozen=True)
class MatchFusion:
    """How the match joins the head's logit (see the module docstring)."""

    weight: float  # w, the match's share (0-1; 1 = the match alone)
    gain: float = 1.0  # logit units per standard deviation of the match
    space: str = "centred"  # centred | standardised
    mean: float = 0.0  # the opinion's mean over training negative steps (0-1 scale)
    std: float = 1.0  # and its standard deviation
    encoder_weight: float = 0.0  # the word encoder's share of the opinion (0 = the match alone, 1 = the encoder)


def over_background(wave: np.ndarray, background: np.ndarray, snr_db: float, level_db: float = -30.0
                    ) -> tuple[np.ndarray, int]:
    """The take over a stretch of ``background`` (looped; its offset drawn from the take's length, so
    a take always gets the same stretch), ``snr_db`` above it, with ``enrol-word``'s context before
    and after; returns (audio, the take's end sample)."""
    lead, tail = int(LEAD_S * se.RATE), int(TAIL_S * se.RATE)
    x = background_slice([background], lead + len(wave) + tail, np.random.default_rng([len(wave)]), level_db)
    mix_word(x, wave, lead, snr_db, level_db)
    return np.clip(x, -1, 1), lead + len(wave)


def take_steps(frontend: se.SpeechEmbedding, wave: np.ndarray, extra: int, trim_db: float = -40.0,
               background: np.ndarray | None = None, snr_db: float = 10.0) -> np.ndarray:
    """A 16 kHz take -> its template ``(n, 96)``: raw frontend steps of the take, trimmed of silence and
    set in quiet context as ``enrol-word`` does (or over ``background``, ``snr_db`` above it), up to
    ``extra`` steps after it."""
    x = trim_silence(np.asarray(wave, np.float32), se.RATE, threshold_db=trim_db)
    ctx, end = in_context(x) if background is None else over_background(x, background, snr_db)
    steps = frontend(ctx).T  # (T, 96)
    a, b = template_span(end - len(x), end, extra)
    return np.ascontiguousarray(steps[a:b])


def to_space(steps: np.ndarray, mean: np.ndarray, std: np.ndarray, space: str) -> np.ndarray:
    """Raw steps ``(T, 96)`` -> unit rows in the comparison space."""
    if space not in SPACES:
        raise ValueError(f"unknown match space {space!r}; known: {', '.join(SPACES)}")
    x = np.asarray(steps, np.float32) - mean[None, :]
    return unit(x / std[None, :] if space == "standardised" else x, None)


def coverage_order(templates: Sequence[np.ndarray], k: int) -> list[int]:
    """``k`` templates that between them match the others best (greedy facility location on the
    DTW score of each template against each other take, all in unit rows): the indices, in order."""
    n = len(templates)
    sim = np.full((n, n), -1.0)
    for i in range(n):
        for j in range(n):
            if i != j:
                sim[i, j] = float(subsequence_dtw(templates[i], templates[j]).max())
    np.fill_diagonal(sim, 1.0)
    chosen: list[int] = []
    best = np.full(n, -1.0)
    for _ in range(min(k, n)):
        gains = [np.maximum(best, sim[i]).sum() if i not in chosen else -np.inf for i in range(n)]
        pick = int(np.argmax(gains))
        chosen.append(pick)
        best = np.maximum(best, sim[pick])
    return chosen


class MatchedHead(nn.Module):
    """A trained head fused with a second opinion: the match of ``templates`` (unit rows in
    ``fusion.space``), and optionally the word encoder's ``(1 + cos) / 2`` to ``centroid`` (its
    mean vector of the same takes), mixed by ``fusion.encoder_weight``:
    ``(B, F, T)`` normalised features -> ``(B, Ty)`` fused logits, the head's interface.
    ``mean`` / ``std``: the head's normaliser (the encoder reads the raw steps)."""

    def __init__(self, head: nn.Module, templates: Sequence[np.ndarray], mean: np.ndarray, std: np.ndarray,
                 fusion: MatchFusion, embedder=None, centroid: np.ndarray | None = None):
        super().__init__()
        self.head, self.config, self.fusion = head, head.config, fusion
        self.templates = [np.asarray(t, np.float32) for t in templates]
        self.mean, self.std = np.asarray(mean, np.float32), np.asarray(std, np.float32)
        # normalised features x (= (raw - mean) / std) -> the comparison space, before unit length
        self.scale = np.ones_like(self.std) if fusion.space == "standardised" else self.std
        self.embedder, self.centroid = embedder, centroid

    def opinion(self, f: np.ndarray) -> np.ndarray:
        """``(F, T)`` normalised features of one clip -> ``(T,)`` second opinion per step (0-1)."""
        ew = self.fusion.encoder_weight
        m = match_scores(self.templates, unit(f.T * self.scale[None, :], None)) if ew < 1 else 0.0
        if ew == 0:
            return m
        raw = f.T * self.std[None, :] + self.mean[None, :]  # (T, 96) the frontend's own steps
        w = self.embedder.model.config.window
        enc = np.zeros(len(raw), np.float32)
        if len(raw) >= w:  # vector t is the window ending at step t + w - 1
            enc[w - 1:] = (1.0 + self.embedder.embed_steps(raw) @ self.centroid) / 2
        return (ew * enc + (1 - ew) * m).astype(np.float32)

    def match(self, x: torch.Tensor) -> np.ndarray:
        """``(B, F, T)`` normalised features -> ``(B, Ty)`` second opinion on the head's clock (0-1)."""
        k, s = self.config.conv_kernel, self.config.conv_stride
        rows = [self.opinion(f)[k - 1::s] for f in x.detach().numpy()]
        return np.stack(rows) if rows else np.zeros((0, 0), np.float32)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.head(x)  # (B, Ty)
        w = self.fusion.weight
        if w == 0:
            return logits
        m = self.match(x)[:, :logits.shape[1]]
        z = torch.from_numpy((m - self.fusion.mean) / max(self.fusion.std, 1e-6)).to(logits.dtype)
        return (1 - w) * logits + w * self.fusion.gain * z
