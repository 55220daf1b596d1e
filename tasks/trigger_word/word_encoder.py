"""Training the word encoder with the triplet loss, and the encoder folder it ships in.

Batches are P words x K takes (each take a window of frontend steps, drawn with a random
alignment jitter); :func:`models.losses.batch_semi_hard_triplet_loss` pulls takes of the same
word together and pushes other words beyond the margin. The epoch with the lowest loss on
dev voices saying words never trained on is kept.

The folder holds the encoder (``model.safetensors`` + ``config.json``: its config, the
frontend it was trained with, the window and the threshold rules) and ``bank.npy``: vectors of
other words and of the audio between words, against which an enrolment's threshold is set;
and ``bank_steps.npy``: frontend steps of training strips (words and the audio between them),
for the query-by-example scorers (:mod:`tasks.trigger_word.word_match`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from models.checkpoint import CheckpointError, load_model, save_model
from models.losses import batch_semi_hard_triplet_loss
from models.word_encoder import WordEncoder, WordEncoderConfig
from tasks.audio import speech_embedding as se
from tasks.audio.io import resample
from tasks.trigger_word.detection import StepClock
from tasks.trigger_word.word_data import windows
from tasks.trigger_word.word_encoder_config import WordEncoderParams

log = logging.getLogger(__name__)
BANK = "bank.npy"
STEP_BANK = "bank_steps.npy"
KIND = "word_encoder"


@dataclass(frozen=True)
class WindowSet:
    """Takes as windows of a step array: ``steps (S, 96)``, ``ends (N,)`` step indices, ``labels (N,)``."""

    steps: np.ndarray
    ends: np.ndarray
    labels: np.ndarray

    def batch(self, idx: np.ndarray, window: int, offsets: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(windows(self.steps, self.ends[idx], window, offsets))  # (B, W, 96)


def with_cut_windows(ws: WindowSet, fraction: float, steps: tuple[int, int], seed: int) -> WindowSet:
    """``ws`` plus, for a ``fraction`` of its takes (drawn by seed), a window ending ``steps``
    (drawn) before the word does, labelled as a class of its own per word: the start of a longer
    word ("activa-" of "activation") must not pass for a whole word."""
    n = int(round(fraction * len(ws.ends)))
    if n == 0:
        return ws
    rng = np.random.default_rng([seed, 27])
    idx = np.sort(rng.choice(len(ws.ends), n, replace=False))
    cut = ws.ends[idx] - rng.integers(steps[0], steps[1] + 1, size=n)
    shift = int(ws.labels.max()) + 1  # word w's cut windows: class w + shift
    return WindowSet(ws.steps, np.concatenate([ws.ends, cut]), np.concatenate([ws.labels, ws.labels[idx] + shift]))


def pk_batches(labels: np.ndarray, p: int, k: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """One epoch of P x K batches: every label with 2+ takes, shuffled; K takes of each (drawn
    with replacement when a label has fewer)."""
    by_label = {lab: np.flatnonzero(labels == lab) for lab in np.unique(labels)}
    usable = [lab for lab, ix in by_label.items() if len(ix) >= 2]
    if not usable:
        return
    rounds = max(1, int(np.ceil(len(labels) / (p * k))))
    for _ in range(rounds):
        chosen = rng.choice(usable, size=min(p, len(usable)), replace=False)
        yield np.concatenate([rng.choice(by_label[lab], size=k, replace=len(by_label[lab]) < k) for lab in chosen])


def dev_loss(model: WordEncoder, dev: WindowSet, params: WordEncoderParams, seed: int) -> float:
    rng = np.random.default_rng([seed, 7])
    losses = []
    model.eval()
    with torch.inference_mode():
        for idx in pk_batches(dev.labels, params.batch_words, params.batch_takes, rng):
            off = np.full(len(idx), params.jitter_steps // 2)
            emb = model(dev.batch(idx, params.window_steps, off))
            losses.append(float(batch_semi_hard_triplet_loss(emb, torch.from_numpy(dev.labels[idx]), params.margin)))
    return float(np.mean(losses)) if losses else float("nan")


def train_encoder(train: WindowSet, dev: WindowSet, params: WordEncoderParams, seed: int
                  ) -> tuple[WordEncoder, list[dict]]:
    """Train for ``params.epochs``; returns the encoder of the best dev epoch and the history."""
    torch.manual_seed(seed)
    config = WordEncoderConfig(se.DIM, params.window_steps, params.hidden, params.dim, params.dropout)
    model = WordEncoder(config)
    opt = torch.optim.AdamW(model.parameters(), lr=params.learning_rate, weight_decay=1e-4)
    steps_per_epoch = max(1, int(np.ceil(len(train.labels) / (params.batch_words * params.batch_takes))))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, params.learning_rate, total_steps=params.epochs * steps_per_epoch)
    rng = np.random.default_rng([seed, 6])
    best, best_state, history = float("inf"), None, []
    labels = torch.from_numpy(train.labels)
    for epoch in range(1, params.epochs + 1):
        model.train()
        total = 0.0
        for idx in pk_batches(train.labels, params.batch_words, params.batch_takes, rng):
            off = rng.integers(0, params.jitter_steps + 1, size=len(idx))
            loss = batch_semi_hard_triplet_loss(model(train.batch(idx, params.window_steps, off)), labels[idx],
                                                params.margin)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach())
        d = dev_loss(model, dev, params, seed)
        history.append({"epoch": epoch, "train_loss": round(total / steps_per_epoch, 6), "dev_loss": round(d, 6)})
        log.info("word encoder epoch %d: train loss %.4f, dev loss %.4f", epoch, total / steps_per_epoch, d)
        if d < best:
            best, best_state = d, {k: v.detach().clone() for k, v in model.state_dict().items()}
    if best_state is not None:
        model.load_state_dict(best_state)
    return model.eval(), history


@torch.inference_mode()
def embed_windows(model: WordEncoder, x: np.ndarray, batch: int = 1024) -> np.ndarray:
    """``(N, W, 96)`` windows -> ``(N, dim)`` unit vectors (float32)."""
    out = [model(torch.from_numpy(np.ascontiguousarray(x[i:i + batch], np.float32))).numpy()
           for i in range(0, len(x), batch)]
    return np.concatenate(out) if out else np.zeros((0, model.config.dim), np.float32)


def save_encoder(folder: Path, model: WordEncoder, bank: np.ndarray, rule: dict, meta: dict,
                 step_bank: np.ndarray | None = None) -> None:
    """The encoder folder: weights, config (window, frontend, threshold rule, ``meta``), the bank,
    and the step bank when given (float16 ``(S, 96)``)."""
    save_model(folder, model, model.config, {"kind": KIND, "frontend": se.identity(), "threshold_rule": rule,
                                              **meta})
    np.save(folder / BANK, bank.astype(np.float32))
    if step_bank is not None:
        np.save(folder / STEP_BANK, np.asarray(step_bank, np.float16))


def load_step_bank(folder: Path | str) -> np.ndarray:
    """The encoder folder's step bank ``(S, 96)`` float32; refuses a missing or damaged file, naming it."""
    path = Path(folder) / STEP_BANK
    try:
        steps = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: missing or unreadable ({exc}); the match scorers need it: re-run "
                              "`dvc repro tw_word_encoder`, or enrol with --scorer encoder") from None
    if steps.ndim != 2 or steps.shape[1] != se.DIM or len(steps) < 100 or not np.isfinite(steps).all():
        raise CheckpointError(f"{path}: shape {steps.shape} or values unfit, expected (N >= 100, {se.DIM}) finite")
    return steps.astype(np.float32)


def load_encoder(folder: Path | str) -> tuple[WordEncoder, dict, np.ndarray]:
    """``(encoder, config.json, bank)``; refuses a missing or damaged file (naming it) and an
    encoder trained with another frontend than the installed one."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"{folder}: word encoder folder not found; run `dvc repro tw_word_encoder` "
                              "(or pass --encoder)")
    model, doc = load_model(folder, WordEncoder, WordEncoderConfig)
    if doc.get("kind") != KIND:
        raise CheckpointError(f"{folder / 'config.json'}: not a word encoder (kind {doc.get('kind')!r})")
    se.check_identity(doc.get("frontend"), str(folder))
    path = folder / BANK
    try:
        bank = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: missing or unreadable ({exc})") from None
    if bank.ndim != 2 or bank.shape[1] != model.config.dim:
        raise CheckpointError(f"{path}: shape {bank.shape}, expected (N, {model.config.dim})")
    return model, doc, bank


class WindowEmbedder:
    """Audio at any rate -> one encoder vector per frontend step (the window ending there).

    ``clock`` maps vector ``t`` to the time its window ends, as :class:`StepClock` does for
    the trigger-word model, so the same stream and match code can score either."""

    def __init__(self, model: WordEncoder, threads: int = 1):
        self.model = model.eval()
        self.frontend = se.SpeechEmbedding(threads=threads)
        w = model.config.window
        self.clock = StepClock(se.RATE, se.STEP, se.STEP, w, 1)

    def steps(self, wave: np.ndarray, rate: int) -> np.ndarray:
        """``(n,)`` mono audio -> ``(T, 96)`` frontend steps."""
        return self.frontend(resample(np.asarray(wave, np.float32), rate, se.RATE)).T

    def embed_wave(self, wave: np.ndarray, rate: int) -> np.ndarray:
        """``(n,)`` mono audio -> ``(T - W + 1, dim)`` vectors (empty when shorter than a window)."""
        return self.embed_steps(self.steps(wave, rate))

    def embed_steps(self, steps: np.ndarray) -> np.ndarray:
        """``(T, 96)`` frontend steps -> ``(T - W + 1, dim)`` vectors, vector ``t`` the window ending
        at step ``t + W - 1`` (empty when shorter than a window)."""
        w = self.model.config.window
        if len(steps) < w:
            return np.zeros((0, self.model.config.dim), np.float32)
        idx = np.arange(w - 1, len(steps))
        return embed_windows(self.model, windows(steps, idx, w, np.zeros(len(idx), np.int64)))
