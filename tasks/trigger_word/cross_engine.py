"""The cross-engine check: does the detector hear voices of an engine it never trained on?

*Material* (made in collect, ``collect/cross_engine/``): the trigger word and some negative
words said by Kokoro-82M voices (never in training: training uses espeak-ng), split by voice
into a dev and a test part, and real human speech (recorded prompts from folders, e.g.
Debian's non-English asterisk prompts) as negatives, dev and test from different folders.

*Check* (in evaluate): clips of those words over the split's own backgrounds (never in
training) at 0-15 dB, and negative-only sessions of the negatives, scored by the same code as
``detect``; false-reject rate at the dev-chosen threshold with a Wilson interval, false accepts
per hour with an exact Poisson interval.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from tasks.audio.checks import problem_in_raw
from tasks.audio.io import AudioReadError, read_audio, to_mono
from tasks.audio.shards import ShardSet, shard_name
from tasks.io import stable_unit
from tasks.trigger_word.collect import _normalise_word, _word_row, slug, word_limits
from tasks.trigger_word.config import (
    AudioChecks,
    CrossEngineCheck,
    CrossEngineMaterial,
    EvaluateParams,
    SynthesizeParams,
)
from tasks.trigger_word.detection import (
    OPERATING_THRESHOLDS,
    CurvePoint,
    det_curve,
    found_at,
    poisson_rate_interval,
    wilson_interval,
)
from tasks.trigger_word.engines import kokoro_word
from tasks.trigger_word.inference import Scorer, score_file
from tasks.trigger_word.levels import misses_by_level, plan_levels
from tasks.trigger_word.negatives import write_sessions
from tasks.trigger_word.synth import ClipPlan, Pools, Source, plan_clip, render_clip

log = logging.getLogger(__name__)
FOLDER = "cross_engine"
MANIFEST = "words.parquet"


def kokoro_plan(m: CrossEngineMaterial, positive_word: str, negative_words: Sequence[str]
                ) -> list[dict]:
    """Every Kokoro take: the positive at every speed, the first ``negative_words`` at speed 1."""
    items = []
    for split, voices in (("dev", m.dev_voices), ("test", m.test_voices)):
        for voice in voices:
            items += [{"split": split, "kind": "positive", "text": positive_word, "voice": voice, "speed": s}
                      for s in m.speeds]
            items += [{"split": split, "kind": "negative", "text": w, "voice": voice, "speed": 1.0}
                      for w in list(negative_words)[:m.negative_words]]
    return items


def render_kokoro(items: Sequence[dict], out: Path, sample_rate: int, checks: AudioChecks
                  ) -> tuple[list[dict], list[dict]]:
    """Say a shard of Kokoro takes into a shard in ``out/cross_engine/``; returns (rows, quarantine rows)."""
    rows, bad = [], []
    with ShardSet(out, shard_name("kokoro", [repr(sorted(it.items())) for it in items]), sample_rate) as shards:
        for it in items:
            origin = f"kokoro:{it['voice']} speed={it['speed']} text={it['text']!r}"
            y, reason = kokoro_word(it["text"], it["voice"], it["speed"], sample_rate, checks)
            if reason is not None:
                bad.append({"file": origin, "kind": it["kind"], "reason": reason})
                continue
            wid = f"kokoro-{it['voice']}-{slug(it['text'])}-s{round(it['speed'] * 100):03d}".replace("_", "-")
            rows.append(_word_row(it["kind"], wid, shards.add(FOLDER, y), y, sample_rate, text=it["text"],
                                  group=f"kokoro:{it['voice']}", source="kokoro", origin=origin,
                                  check_split=it["split"]))
    return rows, bad


def real_speech_files(folders: Sequence[str], count: int, seed: int, split: str) -> list[Path]:
    """Up to ``count`` WAV files from ``folders`` (missing folders are skipped with a warning), by seed."""
    files = []
    for folder in folders:
        root = Path(folder)
        if not root.is_dir():
            log.warning("cross-engine check: real-speech folder %s not found (see scripts/setup.sh); skipped", root)
            continue
        files += sorted(p for p in root.rglob("*.wav") if p.is_file())
    files.sort(key=lambda p: stable_unit("real-speech", seed, split, p.as_posix()))
    return sorted(files[:count])


def ingest_real_speech(files: Sequence[Path], split: str, out: Path, sample_rate: int, checks: AudioChecks,
                       max_s: float) -> tuple[list[dict], list[dict]]:
    """Real recorded speech as negatives, normalised like words; a longer recording (a prompt is
    a sentence) keeps its first ``max_s`` seconds, faded out over 10 ms."""
    limits = checks.model_copy(update={"word_max_s": 3600.0})
    rows, bad = [], []
    with ShardSet(out, shard_name(f"speech-{split}", [f"{p.parent.name}/{p.name}" for p in files]), sample_rate) as shards:
        for path in files:
            try:
                data, sr = read_audio(path)
            except AudioReadError as exc:
                bad.append({"file": str(path), "kind": "negative", "reason": str(exc)})
                continue
            reason = problem_in_raw(data, word_limits(limits))
            y = None
            if reason is None:
                y, reason = _normalise_word(to_mono(data), sr, sample_rate, limits)
            if reason is not None:
                bad.append({"file": str(path), "kind": "negative", "reason": reason})
                continue
            if len(y) > max_s * sample_rate:
                y = y[:int(max_s * sample_rate)].copy()
                fade = int(0.01 * sample_rate)
                y[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
            wid = f"speech-{split}-{slug(path.parent.name)}-{slug(path.stem)}"
            rows.append(_word_row("negative", wid, shards.add(FOLDER, y), y, sample_rate, text=None,
                                  group=f"speech:{path.parent.name}", source="real-speech", origin=str(path),
                                  check_split=split))
    return rows, bad


def cross_pools(collect_dir: Path, split: str, backgrounds: Sequence[Source]) -> Pools | None:
    """The check's pools for ``split``: its cross-engine words over the split's own backgrounds."""
    path = Path(collect_dir) / FOLDER / MANIFEST
    if not path.is_file():
        return None
    words = pd.read_parquet(path)
    words = words[words.check_split == split]

    def sources(frame: pd.DataFrame) -> tuple[Source, ...]:
        return tuple(Source(r.path, int(r.samples), float(r.rms_db)) for r in frame.itertuples())

    return Pools(Path(collect_dir), sources(words[words.kind == "positive"]),
                 sources(words[words.kind == "negative"]), tuple(backgrounds))


def check_plans(pools: Pools, synth: SynthesizeParams, check: CrossEngineCheck, rate: int, seed: int,
                split: str) -> tuple[SynthesizeParams, list[ClipPlan]]:
    """The params the check's clips are rendered with, and each clip's plan (no audio read)."""
    p = synth.model_copy(update={"positives": check.positives, "negatives": check.negatives,
                                 "word_to_background_db": check.word_to_background_db})
    return p, [plan_clip(int(stable_unit("cross-clip", seed, split, i) * 2**63), pools, p, rate)
               for i in range(check.clips)]


def check_clips(pools: Pools, synth: SynthesizeParams, check: CrossEngineCheck, scorer: Scorer, rate: int,
                seed: int, split: str) -> tuple[list[np.ndarray], list[list[float]]]:
    """Score ``check.clips`` clips of the check's words over the split's backgrounds (rendered in
    memory, scored whole like the training clips); returns (scores, positive end times in s)."""
    p, plans = check_plans(pools, synth, check, rate, seed, split)
    cache: dict = {}
    scores, ends = [], []
    for plan in plans:
        pcm, _ = render_clip(plan, pools.root, p, rate, cache)
        scores.append(scorer.score_wave(pcm.astype(np.float32) / np.float32(32768.0), rate))
        ends.append([ev.end / rate for ev in plan.events if ev.kind == "positive"])
    return scores, ends


def check_levels(pools: Pools, synth: SynthesizeParams, check: CrossEngineCheck, rate: int, seed: int,
                 split: str) -> list[list[float]]:
    """Word-to-background level (dB) of each positive of each check clip, as :func:`check_clips`
    orders them."""
    return [plan_levels(plan, pools) for plan in check_plans(pools, synth, check, rate, seed, split)[1]]


def check_sessions(out: Path, pools: Pools, synth: SynthesizeParams, check: CrossEngineCheck,
                   ev: EvaluateParams, rate: int, seed: int, split: str) -> list[dict]:
    """Negative-only sessions of the check's negatives over the split's backgrounds (WAV files)."""
    p = synth.model_copy(update={"word_to_background_db": check.word_to_background_db})
    e = ev.model_copy(update={"negative_minutes": check.negative_minutes})
    neg = Pools(pools.root, (), pools.negatives, pools.backgrounds)
    return write_sessions(out, neg, p, e, rate, seed, f"cross-{split}")


def operating_point(curve: Sequence[CurvePoint], threshold: float, positives: int, hours: float,
                    prefix: str) -> dict:
    """The curve at ``threshold`` with 95% intervals: Wilson for the rate, Poisson for FA/h."""
    pt = next(c for c in curve if c.threshold == threshold)
    frr_lo, frr_hi = wilson_interval(pt.misses, positives)
    fa_lo, fa_hi = poisson_rate_interval(pt.false_accepts, hours)
    return {f"{prefix}_false_reject_rate": round(pt.false_reject_rate, 6),
            f"{prefix}_false_reject_rate_ci95": [round(frr_lo, 6), round(frr_hi, 6)],
            f"{prefix}_misses": pt.misses, f"{prefix}_positives": positives,
            f"{prefix}_false_accepts_per_hour": round(pt.false_accepts_per_hour, 6),
            f"{prefix}_false_accepts_per_hour_ci95": [round(fa_lo, 6), round(fa_hi, 6)],
            f"{prefix}_false_accepts": pt.false_accepts, f"{prefix}_negative_hours": round(hours, 4)}


def run_check(out: Path, collect_dir: Path, backgrounds: dict[str, Sequence[Source]], scorer: Scorer,
              threshold: float, synth: SynthesizeParams, ev: EvaluateParams, rate: int, seed: int,
              clip_s: float) -> dict | None:
    """The whole check for dev and test: metrics at ``threshold`` (chosen on the in-engine dev
    split) and each split's DET curve; None when collect made no cross-engine material."""
    check = ev.cross_engine
    metrics: dict = {}
    curves: dict = {}
    for split in ("dev", "test"):
        pools = cross_pools(collect_dir, split, backgrounds[split])
        if pools is None or check.clips == 0 or not pools.positives:
            return None
        scores, ends = check_clips(pools, synth.rooms_for(split), check, scorer, rate, seed, split)
        streamed, hours = [], 0.0
        if pools.negatives and check.negative_minutes > 0:
            for row in check_sessions(out, pools, synth.rooms_for(split), check, ev, rate, seed, split):
                streamed.append(score_file(out / row["file"], scorer, clip_s)[1])
                hours += row["seconds"] / 3600
        curve = det_curve(list(zip(scores, ends, strict=True)), streamed, hours, scorer.clock,
                          OPERATING_THRESHOLDS, ev.refractory_s, ev.match_window_s, early_s=ev.match_early_s)
        curves[split] = curve
        metrics.update(operating_point(curve, threshold, sum(map(len, ends)), hours, f"cross_engine_{split}"))
        found = found_at(list(zip(scores, ends, strict=True)), scorer.clock, threshold, ev.refractory_s,
                         ev.match_window_s, ev.match_early_s)
        metrics[f"cross_engine_{split}_misses_by_level_db"] = misses_by_level(
            found, check_levels(pools, synth.rooms_for(split), check, rate, seed, split))
        metrics[f"cross_engine_{split}_positive_takes"] = len(pools.positives)
        metrics[f"cross_engine_{split}_real_speech_negatives"] = sum("/speech-" in s.path for s in pools.negatives)
        for engine in ("kokoro", "espeak", "pico"):  # the engine held out (tasks.trigger_word.engines, .pico_engine)
            n = sum(f"/{engine}-" in s.path for s in pools.negatives)
            if n or engine == "kokoro":
                metrics[f"cross_engine_{split}_{engine}_negatives"] = n
        log.info("cross-engine %s: FRR %.3f, %.2f FA/h at threshold %.3f", split,
                 metrics[f"cross_engine_{split}_false_reject_rate"],
                 metrics[f"cross_engine_{split}_false_accepts_per_hour"], threshold)
    return {"metrics": metrics, "curves": curves}
