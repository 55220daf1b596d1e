"""Stage ``word_encoder``: train the word encoder, set its threshold rule on dev, check it on test.

Training material: the collected words of the train split's voices (the positive word and
the other held-out words left out) plus ``vocabulary`` everyday words and ``lexicon_words``
common words of a pronunciation lexicon (:mod:`tasks.trigger_word.lexicon`), said by espeak-ng
train voices and by SVOX Pico variants (:func:`pico_plan`): a second engine, so that what the
encoder learns is the word rather than one synthesiser's voice.
Dev and test material: the split's own voices (espeak-ng voices never trained on, Kokoro
voices) saying words never trained on, and the split's own backgrounds and real speech.

Besides the encoder's own rule, the stage sets on dev the rule of each query-by-example scorer
(:mod:`tasks.trigger_word.word_match`: the takes' frontend steps matched against the stream,
alone or fused with the encoder), over a step bank of training strips it ships in the folder;
``scorer`` names the one ``enrol-word`` uses by default.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from tasks.audio import speech_embedding as se
from tasks.audio.io import read_audio, resample, to_mono
from tasks.audio.pico import VOICES as PICO_VOICES
from tasks.trigger_word.lexicon import lexicon_words
from tasks.trigger_word.word_data import (
    RATE,
    Take,
    collected_words,
    espeak_takes,
    kokoro_takes,
    pico_takes,
    read_take,
    strip_steps,
    windows,
)
from tasks.trigger_word.word_encoder import (
    WindowEmbedder,
    WindowSet,
    embed_windows,
    save_encoder,
    train_encoder,
    with_cut_windows,
)
from tasks.trigger_word.word_encoder_config import VOCABULARY, WordEncoderParams
from tasks.trigger_word.word_eval import (
    curve,
    enrolments,
    match_scored,
    negative_steps,
    pick_lambda,
    report,
    scored_curve,
    scored_rows,
    summary,
)
from tasks.trigger_word.word_match import Scoring, scoring_doc, step_bank

log = logging.getLogger(__name__)


def _pick(items: list, n: int, rng: np.random.Generator) -> list:
    if n == 0 or n >= len(items):
        return list(items)
    return [items[i] for i in sorted(rng.choice(len(items), n, replace=False))]


def split_backgrounds(collect_dir: Path, split_dir: Path, split: str) -> list[np.ndarray]:
    """The split's background recordings at 16 kHz."""
    a = pd.read_parquet(split_dir / "assignments.parquet")
    rows = a[(a.kind == "background") & (a.split == split)]
    out = []
    for p in sorted(rows.path):
        data, sr = read_audio(collect_dir / p)
        out.append(resample(to_mono(data), sr, RATE))
    return out


def eval_takes(words: pd.DataFrame, split: str, params: WordEncoderParams, tts_grid: list[tuple[int, int]],
               seed: int) -> tuple[list[Take], list[Take]]:
    """(enrolment words' takes, negative takes) of one split."""
    rng = np.random.default_rng([seed, 21, ("dev", "test").index(split)])
    mine = words[words.split == split]
    held = {w.lower() for w in params.held_out_words}
    extra = params.dev_words if split == "dev" else params.test_words
    voices = _pick(sorted(mine[mine.source == "tts"].group.unique()), params.eval_voices, rng)
    pos_rows = mine[mine.text.isin(held) & (mine.group.isin(voices) | (mine.source == "kokoro"))]
    positives = [read_take(r.path, r.text, r.group, r.sample_rate) for r in pos_rows.itertuples()]
    positives += espeak_takes([(w.lower(), g, r, p) for g in voices for w in extra for r, p in tts_grid])
    # The split's Kokoro voices (an engine never in training) say its words too, at every speed.
    kokoro_voices = sorted(g.split(":", 1)[1] for g in mine[mine.source == "kokoro"].group.unique())
    positives += kokoro_takes([(w.lower(), v, s) for v in kokoro_voices for w in extra for s in params.kokoro_speeds])
    all_eval = held | {w.lower() for w in (*params.dev_words, *params.test_words)}
    neg_rows = mine[~mine.text.isin(all_eval)]
    tts = neg_rows[neg_rows.source == "tts"]
    tts = tts.iloc[sorted(rng.choice(len(tts), min(len(tts), 600), replace=False))] if len(tts) else tts
    neg_rows = pd.concat([neg_rows[neg_rows.source != "tts"], tts])
    negatives = [read_take(r.path, r.text, r.group, r.sample_rate) for r in neg_rows.itertuples()]
    return positives, negatives


def train_takes(words: pd.DataFrame, params: WordEncoderParams, tts_grid: list[tuple[int, int]], seed: int
                ) -> list[Take]:
    rng = np.random.default_rng([seed, 22])
    held = {w.lower() for w in (*params.held_out_words, *params.dev_words, *params.test_words)}
    train = words[(words.split == "train") & ~words.text.isin(held) & (words.text != "")]
    voices = _pick(sorted(train.group.unique()), params.train_voices, rng)
    train = train[train.group.isin(voices)]
    rows = _pick(list(train.itertuples()), params.train_takes, rng)
    takes = [read_take(r.path, r.text, r.group, r.sample_rate) for r in rows]
    tts_voices = [g for g in voices if g.startswith("tts:")]
    vocab_voices = _pick(tts_voices, params.vocabulary_voices, rng)
    plan = [(w, g, *tts_grid[int(rng.integers(len(tts_grid)))]) for w in VOCABULARY[:params.vocabulary]
            for g in vocab_voices]
    if params.lexicon_words:
        lex_rng = np.random.default_rng([seed, 25])
        for w in lexicon_words(params.lexicon_words, held):
            plan += [(w, g, *tts_grid[int(lex_rng.integers(len(tts_grid)))])
                     for g in _pick(tts_voices, params.lexicon_voices, lex_rng)]
    return takes + espeak_takes(plan) + pico_takes(pico_plan(params, held, seed))


def pico_plan(params: WordEncoderParams, held: set[str], seed: int) -> list[tuple[str, str, int, int]]:
    """``(word, voice, pitch, rate)``: each vocabulary and lexicon word said by ``pico_*_voices``
    SVOX Pico variants, the two voices in turn (the first drawn), pitch and rate drawn by seed."""
    rng = np.random.default_rng([seed, 26])
    words = [(w, params.pico_vocabulary_voices) for w in VOCABULARY[:params.vocabulary]]
    if params.lexicon_words and params.pico_lexicon_voices:
        words += [(w, params.pico_lexicon_voices) for w in lexicon_words(params.lexicon_words, held)]
    plan = []
    for w, n in words:
        first = int(rng.integers(len(PICO_VOICES)))
        plan += [(w, PICO_VOICES[(first + i) % len(PICO_VOICES)], int(rng.integers(params.pico_pitch[0],
                  params.pico_pitch[1] + 1)), int(rng.integers(params.pico_rate[0], params.pico_rate[1] + 1)))
                 for i in range(n)]
    return plan


def window_set(frontend: se.SpeechEmbedding, takes: list[Take], backgrounds: list[np.ndarray],
               labels: dict[str, int], snr: tuple[float, float], params: WordEncoderParams, seed: int) -> WindowSet:
    rng = np.random.default_rng([seed, 23, len(takes)])
    order = rng.permutation(len(takes))
    takes = [takes[i] for i in order]
    steps, ends = strip_steps(frontend, takes, backgrounds, rng, snr, params.background_db)
    return WindowSet(steps, ends, np.asarray([labels.setdefault(t.text, len(labels)) for t in takes], np.int64))


def match_scoring(params: WordEncoderParams, kind: str) -> Scoring:
    """A query-by-example scorer as the params set it (``kind`` match or fused)."""
    return Scoring(kind, params.match_weight, params.match_extra_steps, True, 1, params.match_norm,
                   tuple(params.match_speeds), tuple(params.match_noise_db),
                   pitch=tuple(params.match_pitch_semitones), warps=tuple(params.match_warps))


def make_bank(model: torch.nn.Module, ws: WindowSet, params: WordEncoderParams, seed: int) -> np.ndarray:
    """Vectors of training words at any alignment and of the audio between them (half each)."""
    rng = np.random.default_rng([seed, 24])
    n = params.bank_windows // 2
    near = ws.ends[rng.integers(len(ws.ends), size=n)] + rng.integers(-4, 7, size=n)
    anywhere = rng.integers(params.window_steps - 1, len(ws.steps), size=params.bank_windows - n)
    last = np.concatenate([near, anywhere])
    return embed_windows(model, windows(ws.steps, last, params.window_steps, np.zeros(len(last), np.int64)))


def run(out: Path, collect_dir: Path, split_dir: Path, params: WordEncoderParams, tts_grid: list[tuple[int, int]],
        seed: int) -> tuple[dict, list[dict], list[dict]]:
    """Train into ``out`` (an empty folder); returns (metrics, training history, dev curves: a row per
    scorer and rule parameter)."""
    t0 = time.perf_counter()
    torch.set_num_threads(params.threads)
    words = collected_words(collect_dir, split_dir)
    frontend = se.SpeechEmbedding(threads=params.threads)
    bgs = {s: split_backgrounds(collect_dir, split_dir, s) for s in ("train", "dev", "test")}
    labels: dict[str, int] = {}
    takes = train_takes(words, params, tts_grid, seed)
    n_pico = sum(t.group.startswith("pico:") for t in takes)
    train = window_set(frontend, takes, bgs["train"], labels,
                       params.train_word_to_background_db, params, seed)
    del takes  # the windows hold what training needs
    dev_pos, dev_neg = eval_takes(words, "dev", params, tts_grid, seed)
    dev_set = window_set(frontend, [t for t in dev_pos + dev_neg if t.text], bgs["dev"], dict(labels),
                         params.word_to_background_db, params, seed + 1)
    log.info("word encoder: %d train takes of %d words, %d dev takes (%.0f s)", len(train.labels), len(labels),
             len(dev_set.labels), time.perf_counter() - t0)
    model, history = train_encoder(with_cut_windows(train, params.cut_fraction, params.cut_steps, seed), dev_set,
                                   params, seed)
    bank = make_bank(model, train, params, seed)
    steps_bank = step_bank(train.steps, params.step_bank_steps) if params.step_bank_steps else None
    embedder = WindowEmbedder(model, params.threads)
    dev_enrols = enrolments(dev_pos, embedder, bank, bgs["dev"], params, seed, match_scoring(params, "match"))
    dev_steps, dev_hours = negative_steps(dev_neg, embedder, bgs["dev"], params, seed)
    dev_segs = [embedder.embed_steps(x) for x in dev_steps]
    dev_curve = curve(dev_enrols, dev_segs, dev_hours, embedder, params)
    lam = pick_lambda(dev_curve, params.target_fa_per_hour)
    log.info("word encoder: dev check done, lambda %.2f (%.0f s)", lam, time.perf_counter() - t0)
    metrics = {"lambda": lam, "train_takes": len(train.labels), "train_takes_pico": n_pico,
               "train_words": len(labels),
               "best_epoch": int(np.argmin([h["dev_loss"] for h in history]) + 1), "scorer": params.scorer}
    metrics |= report(dev_enrols, dev_segs, dev_hours, embedder, lam, params, "dev")
    curves = [{"scorer": "encoder", **q} for q in dev_curve]
    scorers: dict[str, dict] = {}
    for kind in ("match", "fused") if steps_bank is not None else ():
        scoring = match_scoring(params, kind)
        bank32 = steps_bank.astype(np.float32)
        scored = match_scored(scoring, dev_enrols, dev_steps, dev_segs, embedder, bank32, params)
        points = scored_curve(scored, dev_hours, embedder.clock, params)
        k_lam = pick_lambda(points, params.target_fa_per_hour)
        scorers[kind] = {"lambda": k_lam, **{k: v for k, v in scoring_doc(scoring).items() if k != "kind"}}
        curves += [{"scorer": kind, **q} for q in points]
        metrics[f"{kind}_lambda"] = k_lam
        metrics |= summary(scored_rows(scored, k_lam, embedder.clock, params), dev_hours, f"{kind}_dev")
        log.info("word encoder: %s scorer on dev, lambda %.3f (%.0f s)", kind, k_lam, time.perf_counter() - t0)
    if params.evaluate_test:
        test_pos, test_neg = eval_takes(words, "test", params, tts_grid, seed)
        enrols = enrolments(test_pos, embedder, bank, bgs["test"], params, seed, match_scoring(params, "match"))
        test_steps, hours = negative_steps(test_neg, embedder, bgs["test"], params, seed)
        segs = [embedder.embed_steps(x) for x in test_steps]
        metrics |= report(enrols, segs, hours, embedder, lam, params, "test")
        if params.scorer in scorers:  # the scorer that ships, at its dev lambda
            sc = scorers[params.scorer]
            scored = match_scored(match_scoring(params, params.scorer), enrols, test_steps, segs,
                                  embedder, steps_bank.astype(np.float32), params)
            metrics |= summary(scored_rows(scored, sc["lambda"], embedder.clock, params), hours,
                               f"{params.scorer}_test")
    rule = {"lambda": lam, "bank_quantile": params.bank_quantile, "agree_quantile": params.agree_quantile,
            "scorer": params.scorer, "scorers": scorers}
    save_encoder(out, model, bank, rule, {"jitter_steps": params.jitter_steps, "train_words": sorted(labels),
                                          "held_out_words": sorted({*params.held_out_words, *params.dev_words,
                                                                    *params.test_words}),
                                          "metrics": metrics, "seed": seed}, steps_bank)
    # The wall time goes to the log, not the metrics: same params and seed, same bytes.
    log.info("word encoder: trained and checked in %.1f s", time.perf_counter() - t0)
    return metrics, history, curves
