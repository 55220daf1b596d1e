"""Enrolling a word from a few recordings, and detecting it: the trigger word by embeddings.

A take is trimmed of silence and set in the context the encoder trained on (background before
it), and the window ending just after it gives its vector. The detector is the mean of the
takes' vectors; a stream's score at each 80 ms step is ``(1 + cos) / 2`` between that mean and
the vector of the window ending there. The threshold comes from the encoder's rule:

    tau = imp + lam * (self - imp)      (cosines; the score threshold is (1 + tau) / 2)

with ``self`` the takes' mean leave-one-out cosine to the mean of the others (how alike the
word's takes are) and ``imp`` a high quantile of the cosines of the encoder's bank (other
words, and the audio between words) to the mean: ``lam`` was chosen on dev voices and words.

``--scorer match`` or ``fused`` scores by query-by-example instead (the takes' frontend steps
matched against the stream, alone or fused with the encoder's score:
:mod:`tasks.trigger_word.word_match`), with the same kind of rule on that score's scale: ``self``
the takes' leave-one-out score, ``imp`` the quantile of the scores over the encoder folder's
step bank, ``lam`` chosen on dev for that scorer by the word-encoder stage.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tasks.audio import speech_embedding as se
from tasks.audio.checks import AudioLimits, problem_in_length, problem_in_raw, rms, trim_silence
from tasks.audio.io import AudioReadError, read_audio, resample, to_mono
from tasks.audio.noise import colored_noise
from tasks.audio.pitch import pitch_shift, time_stretch
from tasks.audio.warp import warp_formants
from tasks.errors import DataError
from tasks.trigger_word.detection import detect
from tasks.trigger_word.inference import score_file
from tasks.trigger_word.word_data import RATE, end_step
from tasks.trigger_word.word_encoder import WindowEmbedder, load_encoder, load_step_bank
from tasks.trigger_word.word_match import (
    EnrolledTakes,
    Scoring,
    bank_centre,
    combined,
    fuse,
    match_scores,
    on_encoder_clock,
    scoring_doc,
    scoring_of,
    self_score,
    stream_unit,
    template_norms,
    template_scores,
    template_span,
    unit,
)

log = logging.getLogger(__name__)
LIMITS = AudioLimits(0.2, 2.0, -50.0, 0.001)  # a take: 0.2-2 s of word, not silent, not clipped
MIN_TAKES, MAX_TAKES = 3, 10
LEAD_S, TAIL_S = 1.3, 0.6  # context around a take, as in the encoder's training strips
CONTEXT_SNR_DB = 25.0  # the context's noise sits this far below the take (the training mixes' top)
STREAM_WINDOW_S = 6.0  # detect reads audio in windows this long, half overlapping
DETECTOR = "detector.json"
ENROLLED = "enrolled.npy"
TEMPLATES = "templates.npy"  # the match scorers' templates, one after another (detector.json has their lengths)
SCORERS = ("encoder", "match", "fused")


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


def in_context(wave: np.ndarray, seed: int = 0, snr_db: float = CONTEXT_SNR_DB, alpha: float = 0.0
               ) -> tuple[np.ndarray, int]:
    """The take with quiet noise (``snr_db`` below it; power falling as ``1/f**alpha``: white 0,
    pink 1, brown 2) before and after it; returns (audio, the take's end sample)."""
    rng = np.random.default_rng([seed, len(wave)])
    lead, tail = int(LEAD_S * RATE), int(TAIL_S * RATE)
    n = lead + len(wave) + tail
    if alpha == 0:
        noise = rng.standard_normal(n).astype(np.float32)
    else:  # coloured, scaled to unit power as the white noise is
        noise = colored_noise(n, alpha, rng).astype(np.float32)
        noise /= np.float32(max(rms(noise), 1e-9))
    noise *= np.float32(rms(wave) * 10 ** (-snr_db / 20))
    noise[lead:lead + len(wave)] += wave
    return np.clip(noise, -1, 1), lead + len(wave)


def speed_copy(wave: np.ndarray, factor: float) -> np.ndarray:
    """The take played ``factor`` times faster (tempo and pitch together, as a tape would)."""
    return resample(wave, int(round(RATE * factor)), RATE)


def augmented(waves: Sequence[np.ndarray], scoring: Scoring) -> list[tuple[int, np.ndarray, float, float]]:
    """``(take, audio, context SNR in dB, context noise colour)`` of each take's copies as
    ``scoring`` asks for them, in this order: speed-perturbed (``speeds``), in noisier contexts
    (``noise_db``, noise as ``1/f**noise_alpha``), pitch-shifted with tempo and formants kept
    (``pitch``, semitones; formants moving with it when ``pitch_formants``), formant-warped with
    pitch and tempo kept (``warps``), and tempo-stretched with pitch kept (``stretches``); the
    takes themselves are not included. Copies other than the noisy ones sit in the usual context."""
    base = CONTEXT_SNR_DB, 0.0
    out = [(k, speed_copy(w, f), *base) for k, w in enumerate(waves) for f in scoring.speeds]
    out += [(k, w, float(db), scoring.noise_alpha) for k, w in enumerate(waves) for db in scoring.noise_db]
    out += [(k, pitch_shift(w, RATE, s, keep_formants=not scoring.pitch_formants), *base)
            for k, w in enumerate(waves) for s in scoring.pitch]
    out += [(k, warp_formants(w, RATE, a), *base) for k, w in enumerate(waves) for a in scoring.warps]
    return out + [(k, time_stretch(w, RATE, max(1, int(round(len(w) / f)))), *base)
                  for k, w in enumerate(waves) for f in scoring.stretches]


def enrolled_takes(embedder: WindowEmbedder, waves: Sequence[np.ndarray], jitter: int,
                   scoring: Scoring | None = None) -> EnrolledTakes:
    """Takes (16 kHz) in context as the scorers need them; each take's vector is the encoder's
    window ending just after it. ``scoring``'s copies (:func:`augmented`: speed, noise, pitch,
    formant and tempo copies of each take) are more templates (the vectors stay the takes' own)."""
    vectors, contexts, spans = [], [], []
    for wave in waves:
        x, end = in_context(wave)
        steps = embedder.steps(x, RATE)  # (T, 96)
        vecs = embedder.embed_steps(steps)  # vector t: window ending at step t + W - 1
        t = end_step(end) + jitter // 2 - (embedder.model.config.window - 1)
        vectors.append(vecs[int(np.clip(t, 0, len(vecs) - 1))])
        contexts.append(steps)
        spans.append(template_span(end - len(wave), end))
    copies = augmented(waves, scoring) if scoring is not None else []
    for i, (_, wave, db, alpha) in enumerate(copies):
        x, end = in_context(wave, seed=1 + i, snr_db=db, alpha=alpha)
        contexts.append(embedder.steps(x, RATE))
        spans.append(template_span(end - len(wave), end))
    origin = tuple(range(len(waves))) + tuple(k for k, *_ in copies) if copies else ()
    return EnrolledTakes(np.stack(vectors), contexts, spans, origin)


def take_vectors(embedder: WindowEmbedder, waves: Sequence[np.ndarray], jitter: int) -> np.ndarray:
    """``(K, dim)`` unit vectors of takes (16 kHz), each from the window ending just after it."""
    return enrolled_takes(embedder, waves, jitter).vectors


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


def scoring_rule(rule: dict, scorer: str, where: Path) -> tuple[Scoring, float]:
    """The scoring and lambda of ``scorer`` in an encoder folder's threshold rule."""
    if scorer not in SCORERS:
        raise EnrolmentError(f"unknown scorer {scorer!r}; known: {', '.join(SCORERS)}")
    if scorer == "encoder":
        return Scoring("encoder"), float(rule["lambda"])
    got = rule.get("scorers", {}).get(scorer)
    if got is None:
        raise EnrolmentError(f"{where}: this word encoder has no rule for the {scorer!r} scorer (an older "
                             "encoder folder); re-run `dvc repro tw_word_encoder`, or enrol with --scorer encoder")
    return scoring_of(got | {"kind": scorer}), float(got["lambda"])


def build_detector(paths: Sequence[Path], encoder_dir: Path, scorer: str | None = None
                   ) -> tuple[dict, np.ndarray, np.ndarray | None]:
    """Check the recordings and enrol them with the encoder; returns (manifest, take vectors, the
    match scorers' templates one after another or None). ``scorer``: as the encoder folder's
    rule says when None."""
    if not MIN_TAKES <= len(paths) <= MAX_TAKES:
        raise EnrolmentError(f"enrol-word takes {MIN_TAKES}-{MAX_TAKES} recordings of the word; got {len(paths)}")
    model, doc, bank = load_encoder(encoder_dir)
    rule = doc["threshold_rule"]
    scoring, lam = scoring_rule(rule, scorer or rule.get("scorer", "encoder"), Path(encoder_dir) / "config.json")
    step_bank = load_step_bank(encoder_dir) if scoring.kind != "encoder" else None
    usable, bad = check_takes(paths)
    if len(usable) < MIN_TAKES:
        why = "; ".join(f"{b['file']}: {b['reason']}" for b in bad)
        raise EnrolmentError(f"only {len(usable)} usable take(s) of the {MIN_TAKES} needed; {why}")
    for b in bad:
        log.warning("enrol-word: %s skipped: %s", b["file"], b["reason"])
    embedder = WindowEmbedder(model)
    takes = enrolled_takes(embedder, [u.wave for u in usable], int(doc["jitter_steps"]),
                           scoring if scoring.kind != "encoder" else None)
    vectors = takes.vectors
    refuse_disagreeing(usable, vectors, bank, float(rule["agree_quantile"]))
    templates = None
    if step_bank is None:
        self_cos, imp_cos = threshold_parts(vectors, bank, float(rule["bank_quantile"]))
        threshold = rule_threshold(self_cos, imp_cos, lam)
        parts = {"self_cos": round(self_cos, 6), "impostor_cos": round(imp_cos, 6),
                 **{k: v for k, v in rule.items() if k not in ("scorers", "scorer")}}
        about: dict = {"kind": "encoder"}
    else:
        self_s, imp_s, norms = match_rule_parts(scoring, takes, step_bank, embedder, float(rule["bank_quantile"]))
        threshold = float(np.clip(imp_s + lam * (self_s - imp_s), 0.0, 1.0))
        parts = {"self_score": round(self_s, 6), "impostor_score": round(imp_s, 6), "lambda": lam,
                 "bank_quantile": rule["bank_quantile"], "agree_quantile": rule["agree_quantile"]}
        raw = [c[a:b + scoring.extra] for c, (a, b) in zip(takes.contexts, takes.spans, strict=True)]
        templates = np.concatenate(raw).astype(np.float32)
        about = scoring_doc(scoring) | {"template_steps": [len(x) for x in raw]}
        if norms is not None:
            about["template_norms"] = [[round(float(a), 6), round(float(b), 6)] for a, b in norms]
    manifest = {
        "kind": "enrolled_word", "threshold": round(threshold, 6), "scorer": about, "threshold_parts": parts,
        "refractory_s": 1.0, "window_s": STREAM_WINDOW_S, "encoder": "encoder",
        "takes": [{"file": str(u.path), "audio_sha256": u.sha256, "seconds": round(len(u.wave) / RATE, 3),
                   "agreement": round(float(a), 4)} for u, a in zip(usable, agreement(vectors), strict=True)],
        "skipped": bad,
    }
    return manifest, vectors, templates


def match_rule_parts(scoring: Scoring, takes: EnrolledTakes, step_bank: np.ndarray, embedder: WindowEmbedder,
                     quantile: float) -> tuple[float, float, np.ndarray | None]:
    """``(self, imp, norms)`` of the rule on a match scorer's scale: the takes' leave-one-out score,
    the ``quantile`` of the scores over the step bank, and (``scoring.norm``) each template's mean
    and spread over the bank."""
    centre = bank_centre(step_bank)
    window = embedder.model.config.window
    c = centre if scoring.centred else None
    per = template_scores(takes.templates(scoring, c), stream_unit(step_bank, c, scoring.running),
                          scoring.cost)  # (K, T_bank)
    norms = template_norms(per) if scoring.norm else None
    enc = ((1.0 + embedder.embed_steps(step_bank) @ takes.mean()) / 2).astype(np.float32)
    imp = float(np.quantile(combined(scoring, per, enc, window, norms), quantile))
    return self_score(scoring, takes, embedder.embed_steps, centre, window, norms), imp, norms


class EnrolledScorer:
    """A stream scorer (as :func:`score_file` expects): audio -> per-step scores (0-1): the
    encoder's ``(1 + cos) / 2`` to the enrolled mean, or a match scorer's."""

    def __init__(self, embedder: WindowEmbedder, mean: np.ndarray, scoring: Scoring | None = None,
                 templates: Sequence[np.ndarray] = (), centre: np.ndarray | None = None,
                 norms: np.ndarray | None = None):
        self.embedder, self.mean, self.clock = embedder, mean, embedder.clock
        self.scoring = scoring or Scoring()
        self.norms = norms if self.scoring.norm else None
        self.centre = centre if self.scoring.centred else None
        if self.scoring.running > 0:  # the templates would need their contexts' running means
            raise EnrolmentError("running-mean centring (scorer running > 0) is a dev experiment of "
                                 "benchmarks/word_match_variants; detect does not stream it")
        self.templates = [unit(x, self.centre) for x in templates]

    def score_wave(self, wave: np.ndarray, rate: int) -> np.ndarray:
        steps = self.embedder.steps(wave, rate)
        enc = ((1.0 + self.embedder.embed_steps(steps) @ self.mean) / 2).astype(np.float32)
        if self.scoring.kind == "encoder":
            return enc
        m = on_encoder_clock(match_scores(self.templates, unit(steps, self.centre), self.scoring.top, self.norms,
                                          self.scoring.cost), self.embedder.model.config.window)
        return m if self.scoring.kind == "match" else fuse(enc, m, self.scoring.weight)


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
        about = doc.get("scorer", {"kind": "encoder"})  # folders enrolled before the match scorers: the encoder
        scoring = scoring_of(about)
        templates, centre, norms = [], None, None
        if scoring.kind != "encoder":
            templates = self._templates(folder, [int(n) for n in about["template_steps"]])
            centre = bank_centre(load_step_bank(folder / doc["encoder"]))
        if scoring.norm:
            norms = np.asarray(about.get("template_norms", []), np.float32)
            if norms.shape != (len(templates), 2):
                raise EnrolmentError(f"{folder / DETECTOR}: template_norms {norms.shape} does not fit its "
                                     f"{len(templates)} templates; run enrol-word again")
        self.scorer = EnrolledScorer(WindowEmbedder(model, threads), centroid(vectors), scoring, templates, centre,
                                     norms)
        self.threshold = float(doc["threshold"]) if threshold is None else threshold
        self.window_s = float(doc["window_s"])
        self.refractory = int(round(float(doc["refractory_s"]) / self.scorer.clock.step_s))

    @staticmethod
    def _templates(folder: Path, lengths: list[int]) -> list[np.ndarray]:
        path = folder / TEMPLATES
        try:
            flat = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise EnrolmentError(f"{path}: damaged enrol-word folder ({exc}); run enrol-word again") from None
        if flat.ndim != 2 or flat.shape[1] != se.DIM or len(flat) != sum(lengths) or min(lengths, default=0) < 1:
            raise EnrolmentError(f"{path}: shape {flat.shape} does not fit the template lengths {lengths} in "
                                 f"{folder / DETECTOR}; run enrol-word again")
        return np.split(flat.astype(np.float32), np.cumsum(lengths)[:-1])

    def run(self, path: Path) -> list[dict]:
        t, s = score_file(path, self.scorer, self.window_s)
        return [{"time_s": round(float(t[i]), 3), "score": round(float(s[i]), 4)}
                for i in detect(s, self.threshold, self.refractory)]
