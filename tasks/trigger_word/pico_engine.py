"""SVOX Pico as a training engine (``collect.tts.engines: [espeak, pico]``, ``collect.tts.pico``),
or as the engine held out for the cross-engine check (``collect.cross_engine.engine: pico``).

Pico has two voices (en-US and en-GB, both female), so its speakers are made: a *variant* is a
base voice at a pitch of its own (drawn in ``pitch``, percent of the voice's) and a formant
(vocal-tract-length) warp of its own (drawn in ``warp``, :func:`tasks.audio.warp.warp_formants`,
applied to each take here in collect), and it says the positive at every rate x pitch step and
``negatives_per_variant`` negative words drawn for it. Each variant is its own speaker group.

Pico's takes are **for training only**: every row carries ``train_only`` and the split puts its
groups in train (:func:`tasks.trigger_word.split.split_assignments`). So the in-engine dev and
test splits stay the espeak-ng voices they were (the same bytes as without Pico, comparable
with earlier runs, and the threshold is still chosen on them), and no variant, which shares its
base voice with half the others, is ever scored as a held-out voice.

Held out instead, Pico's two voices make the check's two parts (``collect.cross_engine.pico``:
en-US dev, en-GB test), each at a few pitches and rates, never warped; training may then use
espeak-ng and Kokoro blends together.

A take depends only on (text, voice, pitch, rate, warp): Pico gets a fresh engine per word
(:func:`tasks.audio.pico.say`) and the warp draws no random numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tasks.audio import pico
from tasks.audio.shards import ShardSet, shard_name
from tasks.audio.warp import warp_formants
from tasks.trigger_word.collect import FOLDERS, _word_row, checked_word, slug
from tasks.trigger_word.config import AudioChecks, CollectParams
from tasks.trigger_word.engines import CHECK_FOLDER
from tasks.trigger_word.engines_config import PicoTrainVoices

LICENCE = "Apache-2.0"
PACKAGE = "ttspico 0.3.2"  # the version whose lingware tasks.audio.pico checks


def pico_variants(p: PicoTrainVoices, seed: int) -> list[dict]:
    """``p.variants`` speakers ``{"variant", "voice", "pitch", "warp"}``: base voices in turn, a
    pitch and a warp factor drawn for each by ``seed`` (a variant's draw does not depend on how
    many there are)."""
    out = []
    for i in range(p.variants):
        rng = np.random.default_rng([seed, 41, i])
        pitch = int(rng.integers(p.pitch[0], p.pitch[1] + 1))
        warp = round(float(rng.uniform(p.warp[0], p.warp[1])), 3) if p.warp[0] != p.warp[1] else float(p.warp[0])
        out.append({"variant": f"pico{i:03d}", "voice": p.voices[i % len(p.voices)], "pitch": pitch, "warp": warp})
    return out


def pico_train_plan(params: CollectParams, seed: int) -> list[list[dict]]:
    """Every Pico training take, in shards of ``shard_size``: each variant says the positive at
    every rate x pitch step and ``negatives_per_variant`` negative words (all when 0), each at one
    rate and pitch step drawn for it."""
    p = params.tts.pico

    def take(v: dict, kind: str, text: str, rate: int, step: float) -> dict:
        return {**v, "kind": kind, "text": text, "rate": int(rate), "pitch": round(v["pitch"] * step)}

    items = []
    for vi, v in enumerate(pico_variants(p, seed)):
        rng = np.random.default_rng([seed, 42, vi])
        items += [take(v, "positive", params.positive_word, r, s) for r in p.rates for s in p.pitch_steps]
        words = list(params.negative_words)
        if p.negatives_per_variant:
            picked = rng.choice(len(words), min(p.negatives_per_variant, len(words)), replace=False)
            words = [words[i] for i in sorted(int(j) for j in picked)]
        for w in words:
            r, s = p.rates[int(rng.integers(len(p.rates)))], p.pitch_steps[int(rng.integers(len(p.pitch_steps)))]
            items.append(take(v, "negative", w, r, s))
    return [items[i:i + p.shard_size] for i in range(0, len(items), p.shard_size)]


def pico_word(text: str, voice: str, pitch: int, rate: int, warp: float, sample_rate: int,
              checks: AudioChecks) -> tuple[np.ndarray | None, str | None]:
    """``text`` said by Pico's ``voice`` at ``pitch`` and ``rate`` (percent), formants warped by
    ``warp``, checked and normalised like every take; returns (audio, None) or (None, reason)."""
    x = pico.say(text, voice, pitch, rate)  # at pico.VOLUME: no take clips
    if warp != 1.0:
        x = warp_formants(x, pico.SAMPLE_RATE, warp)
        peak = float(np.abs(x).max())
        if peak > 0.99:  # the warp keeps the RMS, not the peak; a word's level is set again in synthesis
            x = x * np.float32(0.99 / peak)
    return checked_word(x, pico.SAMPLE_RATE, sample_rate, checks)


def _origin(it: dict) -> str:
    return f"pico:{it['voice']} pitch={it['pitch']} rate={it['rate']} warp={it['warp']} text={it['text']!r}"


def render_pico_train(items: Sequence[dict], out: Path, sample_rate: int, checks: AudioChecks
                      ) -> tuple[list[dict], list[dict]]:
    """Say a shard of Pico takes into ``out/positives`` and ``out/negatives``; returns (rows,
    quarantine rows). Rows name the engine (``source: pico``), base voice, pitch and rate in
    percent, warp, licence and package, and are ``train_only``."""
    rows, bad = [], []
    with ShardSet(out, shard_name("pico", [f"{it['variant']}|{_origin(it)}" for it in items]), sample_rate) as shards:
        for it in items:
            y, reason = pico_word(it["text"], it["voice"], it["pitch"], it["rate"], it["warp"], sample_rate, checks)
            if reason is not None:
                bad.append({"file": _origin(it), "kind": it["kind"], "reason": reason})
                continue
            wid = f"pico-{it['variant']}-{slug(it['text'])}-r{it['rate']:03d}-p{it['pitch']:03d}"
            rows.append(_word_row(it["kind"], wid, shards.add(FOLDERS[it["kind"]], y), y, sample_rate,
                                  text=it["text"], group=f"pico:{it['variant']}", source="pico",
                                  origin=_origin(it), voice=it["voice"], pitch_pct=it["pitch"],
                                  rate_pct=it["rate"], warp=it["warp"], licence=LICENCE, package=PACKAGE,
                                  train_only=True))
    return rows, bad


def pico_check_plan(params: CollectParams) -> list[list[dict]]:
    """The check's Pico takes, one shard per part: its voice says the positive at every pitch x
    rate and the first ``cross_engine.negative_words`` negative words at every pitch, middle rate."""
    c = params.cross_engine
    k = c.pico
    mid = sorted(k.rates)[len(k.rates) // 2]
    shards = []
    for split, voice in (("dev", k.dev_voice), ("test", k.test_voice)):
        base = {"split": split, "variant": voice.lower(), "voice": voice, "warp": 1.0}
        items = [{**base, "kind": "positive", "text": params.positive_word, "pitch": p, "rate": r}
                 for p in k.pitches for r in k.rates]
        items += [{**base, "kind": "negative", "text": w, "pitch": p, "rate": mid}
                  for w in list(params.negative_words)[:c.negative_words] for p in k.pitches]
        shards.append(items)
    return shards


def render_pico_check(items: Sequence[dict], out: Path, sample_rate: int, checks: AudioChecks
                      ) -> tuple[list[dict], list[dict]]:
    """Say a shard of the check's Pico takes into ``out/cross_engine/``; returns (rows, quarantine rows)."""
    rows, bad = [], []
    with ShardSet(out, shard_name("pico-check", [_origin(it) for it in items]), sample_rate) as shards:
        for it in items:
            y, reason = pico_word(it["text"], it["voice"], it["pitch"], it["rate"], 1.0, sample_rate, checks)
            if reason is not None:
                bad.append({"file": _origin(it), "kind": it["kind"], "reason": reason})
                continue
            wid = f"pico-{it['variant']}-{slug(it['text'])}-r{it['rate']:03d}-p{it['pitch']:03d}"
            # one speaker group per pitch: a check voice at another pitch is a listener's other speaker
            rows.append(_word_row(it["kind"], wid, shards.add(CHECK_FOLDER, y), y, sample_rate, text=it["text"],
                                  group=f"pico:{it['voice']}:p{it['pitch']}", source="pico", origin=_origin(it),
                                  voice=it["voice"], pitch_pct=it["pitch"], rate_pct=it["rate"], warp=1.0,
                                  licence=LICENCE, package=PACKAGE, check_split=it["split"]))
    return rows, bad
