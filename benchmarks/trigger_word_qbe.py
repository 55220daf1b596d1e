"""Query by example as a second opinion for the trained head, dev only.

Templates of the trigger word come from the *training* split's takes (espeak-ng voices of the
train split; never a dev, test or cross-engine voice); each is matched against the stream by
subsequence DTW on the frozen frontend's steps (:mod:`tasks.trigger_word.head_match`), and the
match is fused with the head's per-step logit. Every variant is scored exactly as the evaluate
stage scores a head, through the head sweep's :func:`dev_scores` (threshold chosen on the
in-engine dev split for ``evaluate.target_fa_per_hour``, the cross-engine dev part read at it
and along its curve). Never reads a test clip or session.

Run (after the default pipeline has made its data)::

    python -m benchmarks.trigger_word_qbe --out DIR \\
        --variant "k5: k=5 extra=8 weight=0.5" --variant "match-only: k=5 weight=1"

Variant keys (defaults in :data:`DEFAULTS`): ``k`` templates, ``pick`` (coverage: greedy
facility location over a pool of ``pool`` train takes; random; spread: one per accent in
turn), ``extra`` template steps after the take, ``space`` (centred | standardised), ``weight``
(the match's share of the fused logit; 0 is the head alone, 1 the match alone) and ``gain``
(logit units per standard deviation of the opinion), ``encoder`` (the word encoder's share of
the opinion: 0 is the match alone, 1 the encoder alone; its vector is the mean of the ``pool``
takes' or of the ``k`` templates' takes, ``centroid=pool|k``) and ``snr`` (0: templates in
quiet context, as ``enrol-word`` makes them; else over the train split's backgrounds, this
many dB above them). Appends one row per variant to
``DIR/results.jsonl``. The cost in ``detect``: ``python -m benchmarks.trigger_word_detect --match K``.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.trigger_word_head_sweep import dev_scores, record
from tasks.audio import speech_embedding as se
from tasks.audio.checks import trim_silence
from tasks.config import BaseParams, read_yaml, validate_section
from tasks.io import stable_unit
from tasks.trigger_word.config import Layout, TriggerWordParams
from tasks.trigger_word.enrol import centroid as enrol_centroid
from tasks.trigger_word.enrol import enrolled_takes
from tasks.trigger_word.features import FeatureShards
from tasks.trigger_word.head_match import (
    MatchedHead,
    MatchFusion,
    coverage_order,
    take_steps,
    to_space,
)
from tasks.trigger_word.modeling import normaliser
from tasks.trigger_word.word_data import collected_words, read_take
from tasks.trigger_word.word_encoder import WindowEmbedder, load_encoder
from tasks.trigger_word.word_encoder_stage import split_backgrounds

log = logging.getLogger("qbe")
DEFAULTS = {"k": 5, "pick": "coverage", "pool": 80, "extra": 4, "space": "centred", "weight": 0.3, "gain": 1.0,
            "encoder": 0.0, "centroid": "pool", "snr": 0.0}


def train_takes(layout: Layout, word: str, pool: int, seed: int) -> list[tuple[str, np.ndarray]]:
    """Up to ``pool`` espeak-ng takes of ``word`` from the train split (by seed): ``(voice group, wave)``."""
    words = collected_words(layout.collect, layout.split)
    part = words[(words.split == "train") & (words.text == word.lower()) & words.group.str.startswith("tts:")]
    rows = sorted(part.itertuples(), key=lambda r: stable_unit("qbe-take", seed, r.path))[:pool]
    return [(r.group, read_take(r.path, r.text, r.group, int(r.sample_rate)).wave) for r in rows]


def pick_templates(groups: list[str], spaced: list[np.ndarray], k: int, pick: str, seed: int) -> list[int]:
    """Indices of the ``k`` templates (unit rows, their takes' voice groups) a variant keeps."""
    if pick == "random":
        return sorted(range(len(spaced)), key=lambda i: stable_unit("qbe-pick", seed, i))[:k]
    if pick == "spread":  # one per accent in turn (accent = the voice group's part before "+")
        by_accent: dict[str, list[int]] = {}
        for i, g in enumerate(groups):
            by_accent.setdefault(g.split("+")[0], []).append(i)
        order = [ids[r] for r in range(max(map(len, by_accent.values()))) for _, ids in sorted(by_accent.items())
                 if r < len(ids)]
        return order[:k]
    if pick == "coverage":
        return coverage_order(spaced, k)
    raise SystemExit(f"unknown pick {pick!r}")


def calibrate(head: MatchedHead, shards: FeatureShards, norm, clips: int) -> tuple[float, float]:
    """Mean and standard deviation of the match over the negative steps of ``clips`` training clips."""
    values = []
    for i in range(min(clips, len(shards))):
        x, y = shards[i]
        m = head.match(norm(torch.from_numpy(np.asarray(x, np.float32)[None])))[0]
        n = min(len(m), len(y))
        values.append(m[:n][np.asarray(y[:n]) == 0])
    v = np.concatenate(values)
    v = v[v > 0]  # steps where some template path fits
    return float(v.mean()), float(v.std())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--checkpoint", type=Path, default=None, help="default: the train stage's")
    parser.add_argument("--variant", action="append", default=[], help='"name: key=value ..."')
    parser.add_argument("--calibration-clips", type=int, default=100)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    raw_params = read_yaml(args.params)
    base = validate_section(raw_params, "base", BaseParams, args.params)
    tw = validate_section(raw_params, "trigger_word", TriggerWordParams, args.params)
    layout = Layout(base.data_dir)
    checkpoint = args.checkpoint or layout.train / "checkpoint"
    cache_path = args.out / "features.npz"
    cache = dict(np.load(cache_path)) if cache_path.is_file() else {}
    frontend = se.SpeechEmbedding()
    takes: dict[int, list[tuple[str, np.ndarray]]] = {}
    train_shards = FeatureShards(layout.features, "train")
    backgrounds = split_backgrounds(layout.collect, layout.split, "train")
    for item in args.variant:
        name, spec = item.split(":", 1)
        v = dict(DEFAULTS)
        for kv in spec.split():
            key, value = kv.split("=", 1)
            if key not in DEFAULTS:
                raise SystemExit(f"unknown variant key {key!r}; known: {', '.join(DEFAULTS)}")
            v[key] = type(DEFAULTS[key])(value)
        if v["pool"] not in takes:
            takes[v["pool"]] = train_takes(layout, tw.collect.positive_word, v["pool"], base.seed)
        pool = takes[v["pool"]]
        made: dict = {}

        def wrap(model, doc, v=v, pool=pool, made=made):
            mean, std = (np.asarray(doc["normaliser"][k], np.float32) for k in ("mean", "std"))
            raw = [take_steps(frontend, w, v["extra"]) if v["snr"] == 0 else
                   take_steps(frontend, w, v["extra"], background=backgrounds[i % len(backgrounds)], snr_db=v["snr"])
                   for i, (_, w) in enumerate(pool)]
            spaced = [to_space(r, mean, std, v["space"]) for r in raw]
            keep = pick_templates([g for g, _ in pool], spaced, v["k"], v["pick"], base.seed)
            fusion = MatchFusion(v["weight"], v["gain"], v["space"], encoder_weight=v["encoder"])
            embedder, centroid = None, None
            if v["encoder"] > 0:
                encoder, edoc, _ = load_encoder(layout.word_encoder)
                embedder = WindowEmbedder(encoder)
                which = keep if v["centroid"] == "k" else range(len(pool))
                waves = [trim_silence(pool[i][1], se.RATE, threshold_db=-40.0) for i in which]
                centroid = enrol_centroid(enrolled_takes(embedder, waves, int(edoc["jitter_steps"])).vectors)
            head = MatchedHead(model, [spaced[i] for i in keep], mean, std, fusion, embedder, centroid)
            m, s = calibrate(head, train_shards, normaliser({**doc["normaliser"]}), args.calibration_clips)
            head.fusion = MatchFusion(v["weight"], v["gain"], v["space"], m, s, v["encoder"])
            made.update(templates=[pool[i][0] for i in keep], steps=[len(spaced[i]) for i in keep],
                        calibration=[round(m, 5), round(s, 5)])
            return head

        t0 = time.perf_counter()
        row = {"name": name.strip(), **v, **dev_scores(checkpoint, layout, tw, base.seed, args.out, cache, wrap=wrap)}
        row.update(made, seconds=round(time.perf_counter() - t0, 1))
        record(args.out, row, cache)


if __name__ == "__main__":
    main()
