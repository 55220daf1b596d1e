"""Which speech engine says which words: training words by Kokoro blends, and the check by espeak-ng.

Leave one engine out, both ways. By default espeak-ng says the training words and Kokoro's five
voices make the cross-engine check (:mod:`tasks.trigger_word.cross_engine`). The reverse
(``collect.tts.engines: [kokoro]``, ``collect.cross_engine.engine: espeak``; params-kokoro.yaml)
trains on Kokoro *blends* and checks on espeak-ng voices that never said a training word.

A Kokoro voice is a style table (one 256-value vector per input length); the weighted average
of two or more tables is a voice of its own, between them (:func:`tasks.audio.kokoro.blend`).
A blend is drawn by seed: how many base voices, which, and their weights (Dirichlet, summing
to 1); each blend is its own speaker group, so the split keeps a blend in one split.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tasks.audio.shards import ShardSet, shard_name
from tasks.audio.tts import Utterance, speak_batch
from tasks.trigger_word.collect import (
    FOLDERS,
    _word_row,
    checked_word,
    choose_voices,
    espeak_origin,
    slug,
)
from tasks.trigger_word.config import AudioChecks, CollectParams
from tasks.trigger_word.engines_config import KokoroTrainVoices

CHECK_FOLDER = "cross_engine"  # tasks.trigger_word.cross_engine.FOLDER (that module imports this one)


def kokoro_blends(k: KokoroTrainVoices, seed: int) -> list[tuple[str, dict[str, float]]]:
    """``k.voices`` blends ``(name, {base voice: weight})``, drawn by ``seed``."""
    rng = np.random.default_rng([seed, 31])
    base = list(k.base_voices)
    out = []
    for i in range(k.voices):
        m = min(int(rng.integers(k.mix[0], k.mix[1] + 1)), len(base))
        chosen = sorted(int(c) for c in rng.choice(len(base), m, replace=False))
        weights = rng.dirichlet(np.ones(m))
        out.append((f"blend{i:03d}", {base[c]: round(float(w), 4) for c, w in zip(chosen, weights, strict=True)}))
    return out


def kokoro_train_plan(params: CollectParams, seed: int) -> list[list[dict]]:
    """Every training take said by a Kokoro blend, in shards: the positive at every speed, and
    ``negatives_per_voice`` negative words (all when 0) each at one speed drawn for it."""
    k = params.tts.kokoro
    items = []
    for vi, (name, weights) in enumerate(kokoro_blends(k, seed)):
        rng = np.random.default_rng([seed, 32, vi])
        items += [{"kind": "positive", "text": params.positive_word, "voice": name, "weights": weights,
                   "speed": s} for s in k.speeds]
        words = list(params.negative_words)
        if k.negatives_per_voice:
            picked = rng.choice(len(words), min(k.negatives_per_voice, len(words)), replace=False)
            words = [words[i] for i in sorted(int(j) for j in picked)]
        items += [{"kind": "negative", "text": w, "voice": name, "weights": weights,
                   "speed": float(k.speeds[int(rng.integers(len(k.speeds)))])} for w in words]
    return [items[i:i + k.shard_size] for i in range(0, len(items), k.shard_size)]


def _describe(weights: dict[str, float]) -> str:
    return " + ".join(f"{w:g} {v}" for v, w in weights.items())


def kokoro_word(text: str, voice: str | np.ndarray, speed: float, sample_rate: int, checks: AudioChecks
                ) -> tuple[np.ndarray | None, str | None]:
    """``text`` said by a Kokoro voice (a name or a style table) at ``speed``, checked and normalised
    like every take (:func:`tasks.trigger_word.collect.checked_word`); returns (audio, None) or
    (None, reason). Used for the training blends and the cross-engine check alike."""
    from tasks.audio import kokoro
    from tasks.audio.tts import ipa

    x = kokoro.synthesize(ipa(text), voice, speed)
    peak = float(np.abs(x).max()) if len(x) else 0.0
    if peak > 0.99:  # the model can overshoot; a word's level is set again in synthesis
        x = x * np.float32(0.99 / peak)
    return checked_word(x, kokoro.SAMPLE_RATE, sample_rate, checks)


def render_kokoro_train(items: Sequence[dict], out: Path, sample_rate: int, checks: AudioChecks
                        ) -> tuple[list[dict], list[dict]]:
    """Say a shard of Kokoro blend takes into ``out/positives`` and ``out/negatives``; returns
    (rows, quarantine rows). A take depends only on (phonemes, blend weights, speed)."""
    from tasks.audio import kokoro

    rows, bad = [], []
    tables: dict[str, np.ndarray] = {}
    keys = [f"{it['voice']}|{_describe(it['weights'])}|{it['text']}|{it['speed']}" for it in items]
    with ShardSet(out, shard_name("kokoro", keys), sample_rate) as shards:
        for it in items:
            origin = f"kokoro:{it['voice']} ({_describe(it['weights'])}) speed={it['speed']} text={it['text']!r}"
            if it["voice"] not in tables:
                tables[it["voice"]] = kokoro.blend(it["weights"])
            y, reason = kokoro_word(it["text"], tables[it["voice"]], it["speed"], sample_rate, checks)
            if reason is not None:
                bad.append({"file": origin, "kind": it["kind"], "reason": reason})
                continue
            wid = f"kokoro-{it['voice']}-{slug(it['text'])}-s{round(it['speed'] * 100):03d}"
            rows.append(_word_row(it["kind"], wid, shards.add(FOLDERS[it["kind"]], y), y, sample_rate,
                                  text=it["text"], group=f"kokoro:{it['voice']}", source="kokoro", origin=origin,
                                  speed=float(it["speed"])))
    return rows, bad


def espeak_check_plan(params: CollectParams, seed: int, shard_voices: int = 5) -> list[list[dict]]:
    """The check's takes when espeak-ng is held out: voices drawn from the tts grid (dev, then
    test, none in both), each saying the positive at every rate x pitch and the first
    ``cross_engine.negative_words`` negative words at the middle rate and pitch; shards of voices."""
    t, c = params.tts, params.cross_engine
    voices = choose_voices(t.accents, t.variants, 0, seed)
    order = np.random.default_rng([seed, 33]).permutation(len(voices))
    n_dev, n_test = c.espeak.dev_voices, c.espeak.test_voices
    if n_dev + n_test > len(voices):
        raise ValueError(f"cross_engine.espeak: {n_dev} + {n_test} voices asked, the tts grid has {len(voices)}")
    parts = [("dev", [voices[int(i)] for i in order[:n_dev]]),
             ("test", [voices[int(i)] for i in order[n_dev:n_dev + n_test]])]
    mid = (sorted(t.rates)[len(t.rates) // 2], sorted(t.pitches)[len(t.pitches) // 2])
    per_voice = []
    for split, chosen in parts:
        for v in chosen:
            items = [{"split": split, "kind": "positive", "utterance": Utterance(params.positive_word, v, r, p)}
                     for r, p in itertools.product(t.rates, t.pitches)]
            items += [{"split": split, "kind": "negative", "utterance": Utterance(w, v, *mid)}
                      for w in list(params.negative_words)[:c.negative_words]]
            per_voice.append(items)
    return [list(itertools.chain.from_iterable(per_voice[i:i + shard_voices]))
            for i in range(0, len(per_voice), shard_voices)]


def _espeak_id(u: Utterance) -> str:
    return f"espeak-{u.voice.accent}-{u.voice.variant}-{slug(u.text)}-r{u.rate}-p{u.pitch}".lower()


def render_espeak_check(items: Sequence[dict], out: Path, sample_rate: int, checks: AudioChecks
                        ) -> tuple[list[dict], list[dict]]:
    """Say a shard of the check's espeak-ng takes into ``out/cross_engine/``; returns (rows, quarantine rows)."""
    rows, bad = [], []
    audio = speak_batch([it["utterance"] for it in items])
    with ShardSet(out, shard_name("espeak", [_espeak_id(it["utterance"]) for it in items]), sample_rate) as shards:
        for it, (x, sr) in zip(items, audio, strict=True):
            u: Utterance = it["utterance"]
            y, reason = checked_word(x, sr, sample_rate, checks)
            if reason is not None:
                bad.append({"file": espeak_origin(u), "kind": it["kind"], "reason": reason})
                continue
            rows.append(_word_row(it["kind"], _espeak_id(u), shards.add(CHECK_FOLDER, y), y, sample_rate,
                                  text=u.text, group=u.voice.group,
                                  source="espeak", origin=espeak_origin(u), check_split=it["split"]))
    return rows, bad
