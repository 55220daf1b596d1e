"""Enrolling a word from a few recordings, and detecting it: the trigger word by embeddings.

A take is trimmed of silence and set in the context the encoder trained on (background before
it), and the window ending just after it gives its vector. The detector is the mean of the
takes' vectors; a stream's score at each 80 ms step is ``(1 + cos) / 2`` between that mean and
the vector of the window ending there. The threshold comes from the encoder's rule:

    tau = imp + lam * (self - imp)      (cosines; the score threshold is (1 + tau) / 2)

with ``self`` the takes' mean leave-one-out cosine to the mean of the others (how alike the
word's takes are) and ``imp`` a high quantile of the cosines of the encoder's bank (other
words, and the audio between words) to the mean: ``lam`` was chosen on dev voices and words.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tasks.audio.checks import AudioLimits, problem_in_length, problem_in_raw, rms, trim_silence
from tasks.audio.io import AudioReadError, read_audio, resample, to_mono
from tasks.errors import DataError
from tasks.trigger_word.detection import detect
from tasks.trigger_word.inference import score_file
from tasks.trigger_word.word_data import RATE, end_step
from tasks.trigger_word.word_encoder import WindowEmbedder, load_encoder

log = logging.getLogger(__name__)
LIMITS = AudioLimits(0.2, 2.0, -50.0, 0.001)  # a take: 0.2-2 s of word, not silent, not clipped
MIN_TAKES, MAX_TAKES = 3, 10
LEAD_S, TAIL_S = 1.3, 0.6  # context around a take, as in the encoder's training strips
CONTEXT_SNR_DB = 25.0  # the context's noise sits this far below the take (the training mixes' top)
STREAM_WINDOW_S = 6.0  # detect reads audio in windows this long, half overlapping
DETECTOR = "detector.json"
ENROLLED = "enrolled.npy"


class EnrolmentError(DataError):
    """Recordings that cannot make a detector; the message names the files and why."""


@dataclass(frozen=True)
class Usable:
    path: Path
    wave: np.ndarray  # (n,) 16 kHz, trimmed
    sha256: str


def check_takes(paths: Sequence[Path], trim_db: float = -40.0) -> tuple[list[Usable], list[dict]]:
    """Read and check each recording; returns (usable takes, ``{"file", "reason"}`` of the others)."""
    usable, bad, seen = [], [], {}
    for path in paths:
        try:
            data, sr = read_audio(path, max_seconds=60.0)
        except AudioReadError as exc:
            bad.append({"file": str(path), "reason": str(exc)})
            continue
        digest = hashlib.sha256(np.ascontiguousarray(data).tobytes()).hexdigest()
        if digest in seen:
            bad.append({"file": str(path), "reason": f"the same audio as {seen[digest]}: a take counts once"})
            continue
        seen[digest] = path
        reason = problem_in_raw(data, LIMITS)
        if reason is None:
            x = trim_silence(resample(to_mono(data), sr, RATE), RATE, threshold_db=trim_db)
            reason = problem_in_length(len(x), RATE, LIMITS)
        if reason is not None:
            bad.append({"file": str(path), "reason": reason})
            continue
        usable.append(Usable(Path(path), x, digest))
    return usable, bad


def in_context(wave: np.ndarray, seed: int = 0) -> tuple[np.ndarray, int]:
    """The take with quiet noise before and after it; returns (audio, the take's end sample)."""
    rng = np.random.default_rng([seed, len(wave)])
    lead, tail = int(LEAD_S * RATE), int(TAIL_S * RATE)
    noise = rng.standard_normal(lead + len(wave) + tail).astype(np.float32)
    noise *= np.float32(rms(wave) * 10 ** (-CONTEXT_SNR_DB / 20))
    noise[lead:lead + len(wave)] += wave
    return np.clip(noise, -1, 1), lead + len(wave)


def take_vectors(embedder: WindowEmbedder, waves: Sequence[np.ndarray], jitter: int) -> np.ndarray:
    """``(K, dim)`` unit vectors of takes (16 kHz), each from the window ending just after it."""
    out = []
    for wave in waves:
        x, end = in_context(wave)
        vecs = embedder.embed_wave(x, RATE)  # vector t: window ending at step t + W - 1
        t = end_step(end) + jitter // 2 - (embedder.model.config.window - 1)
        out.append(vecs[int(np.clip(t, 0, len(vecs) - 1))])
    return np.stack(out)


def agreement(vectors: np.ndarray) -> np.ndarray:
    """Each take's cosine to the (normalised) mean of the other takes."""
    total = vectors.sum(axis=0)
    others = total[None, :] - vectors
    others /= np.linalg.norm(others, axis=1, keepdims=True).clip(1e-9)
    return (vectors * others).sum(axis=1)


def centroid(vectors: np.ndarray) -> np.ndarray:
    m = vectors.mean(axis=0)
    return (m / max(float(np.linalg.norm(m)), 1e-9)).astype(np.float32)


def threshold_parts(vectors: np.ndarray, bank: np.ndarray, quantile: float) -> tuple[float, float]:
    """``(self, imp)`` of the rule in the module docstring (cosines)."""
    return float(agreement(vectors).mean()), float(np.quantile(bank @ centroid(vectors), quantile))


def rule_threshold(self_cos: float, imp_cos: float, lam: float) -> float:
    """The score threshold (0-1) of the rule for one enrolment."""
    return float(np.clip((1 + imp_cos + lam * (self_cos - imp_cos)) / 2, 0.0, 1.0))


def agreement_bars(vectors: np.ndarray, bank: np.ndarray, quantile: float) -> np.ndarray:
    """For each take, the ``quantile`` of the bank's cosines to the mean of the *other* takes: a
    take less like the others than that is no more like them than other words are."""
    total = vectors.sum(axis=0)
    others = total[None, :] - vectors
    others /= np.linalg.norm(others, axis=1, keepdims=True).clip(1e-9)
    return np.quantile(bank @ others.T, quantile, axis=0)


def refuse_disagreeing(usable: Sequence[Usable], vectors: np.ndarray, bank: np.ndarray, quantile: float) -> None:
    agree, bars = agreement(vectors), agreement_bars(vectors, bank, quantile)
    off = [f"{u.path} ({a:.2f} < {b:.2f})" for u, a, b in zip(usable, agree, bars, strict=True) if a < b]
    if off:
        raise EnrolmentError(
            "these takes do not sound like the same word as the others (their cosine to the others' mean is "
            f"below that of {1 - quantile:.1%} of other words): {', '.join(off)}; record the same word each "
            "time, or leave them out")


def build_detector(paths: Sequence[Path], encoder_dir: Path) -> tuple[dict, np.ndarray]:
    """Check the recordings and enrol them with the encoder; returns (manifest, take vectors)."""
    if not MIN_TAKES <= len(paths) <= MAX_TAKES:
        raise EnrolmentError(f"enrol-word takes {MIN_TAKES}-{MAX_TAKES} recordings of the word; got {len(paths)}")
    model, doc, bank = load_encoder(encoder_dir)
    usable, bad = check_takes(paths)
    if len(usable) < MIN_TAKES:
        why = "; ".join(f"{b['file']}: {b['reason']}" for b in bad)
        raise EnrolmentError(f"only {len(usable)} usable take(s) of the {MIN_TAKES} needed; {why}")
    for b in bad:
        log.warning("enrol-word: %s skipped: %s", b["file"], b["reason"])
    rule = doc["threshold_rule"]
    embedder = WindowEmbedder(model)
    vectors = take_vectors(embedder, [u.wave for u in usable], int(doc["jitter_steps"]))
    refuse_disagreeing(usable, vectors, bank, float(rule["agree_quantile"]))
    self_cos, imp_cos = threshold_parts(vectors, bank, float(rule["bank_quantile"]))
    manifest = {
        "kind": "enrolled_word", "threshold": round(rule_threshold(self_cos, imp_cos, float(rule["lambda"])), 6),
        "threshold_parts": {"self_cos": round(self_cos, 6), "impostor_cos": round(imp_cos, 6), **rule},
        "refractory_s": 1.0, "window_s": STREAM_WINDOW_S, "encoder": "encoder",
        "takes": [{"file": str(u.path), "audio_sha256": u.sha256, "seconds": round(len(u.wave) / RATE, 3),
                   "agreement": round(float(a), 4)} for u, a in zip(usable, agreement(vectors), strict=True)],
        "skipped": bad,
    }
    return manifest, vectors


class EnrolledScorer:
    """A stream scorer (as :func:`score_file` expects): audio -> per-step ``(1 + cos) / 2``."""

    def __init__(self, embedder: WindowEmbedder, mean: np.ndarray):
        self.embedder, self.mean, self.clock = embedder, mean, embedder.clock

    def score_wave(self, wave: np.ndarray, rate: int) -> np.ndarray:
        return ((1.0 + self.embedder.embed_wave(wave, rate) @ self.mean) / 2).astype(np.float32)


def is_enrolled(folder: Path) -> bool:
    return (Path(folder) / DETECTOR).is_file()


class EnrolledDetector:
    """An ``enrol-word`` folder, ready to stream files through (``detect --checkpoint DIR``)."""

    def __init__(self, folder: Path, threshold: float | None = None, threads: int = 1):
        import json

        folder = Path(folder)
        try:
            doc = json.loads((folder / DETECTOR).read_text())
            vectors = np.load(folder / ENROLLED, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise EnrolmentError(f"{folder}: damaged enrol-word folder ({exc}); run enrol-word again") from None
        model, _, _ = load_encoder(folder / doc["encoder"])
        if vectors.ndim != 2 or vectors.shape[1] != model.config.dim:
            raise EnrolmentError(f"{folder / ENROLLED}: shape {vectors.shape} does not fit the encoder")
        self.scorer = EnrolledScorer(WindowEmbedder(model, threads), centroid(vectors))
        self.threshold = float(doc["threshold"]) if threshold is None else threshold
        self.window_s = float(doc["window_s"])
        self.refractory = int(round(float(doc["refractory_s"]) / self.scorer.clock.step_s))

    def run(self, path: Path) -> list[dict]:
        t, s = score_file(path, self.scorer, self.window_s)
        return [{"time_s": round(float(t[i]), 3), "score": round(float(s[i]), 4)}
                for i in detect(s, self.threshold, self.refractory)]
