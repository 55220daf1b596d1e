"""Heads on the frozen speech frontend, compared on dev only: train each variant of the params and
score it as the evaluate stage does, on the in-engine dev split and the cross-engine check's dev
part. Never reads a test clip or test session.

Run (after the default pipeline has made its data)::

    python -m benchmarks.trigger_word_head_sweep --out DIR \\
        --variant "window: train.model.head=window" \\
        --variant "window-mixup: train.model.head=window train.mixup_alpha=0.3" \\
        [--checkpoint data/trigger_word/train/checkpoint] \\
        [--ensemble "seeds: CHECKPOINT CHECKPOINT CHECKPOINT" [--ensemble-mode logit|prob]]

Each variant is params.yaml with ``key=value`` overrides (values in YAML) under
``trigger_word``. Like the evaluate stage: the threshold is chosen on the in-engine dev split
(its dev clips and 30 min of negative-only sessions, ``write_sessions``) for
``evaluate.target_fa_per_hour``; the cross dev part (its clips and sessions, ``check_clips`` /
``check_sessions``) is scored at that threshold and along its curve. What it does differently:
the frontend's embeddings of every dev window are computed once and kept (``DIR/features.npz``,
keyed by the audio's hash), so that each further head costs only its training and its own
forward passes. Prints one row per variant and appends it to ``DIR/results.jsonl``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import yaml
from torch import nn

from models.trigger_word_heads import load_head
from tasks.audio.features import FeatureExtractor
from tasks.config import BaseParams, read_yaml, validate_section
from tasks.trigger_word.clipset import read_clips, split_pools
from tasks.trigger_word.config import Layout, TriggerWordParams
from tasks.trigger_word.cross_engine import check_clips, check_levels, check_sessions, cross_pools
from tasks.trigger_word.detection import OPERATING_THRESHOLDS, det_curve, found_at, pick_threshold
from tasks.trigger_word.features import FeatureShards
from tasks.trigger_word.fit import train_into
from tasks.trigger_word.inference import Scorer, score_file
from tasks.trigger_word.levels import manifest_levels, misses_by_level, source_rms
from tasks.trigger_word.modeling import feature_spec, normaliser, positive_ends
from tasks.trigger_word.negatives import write_sessions
from tasks.trigger_word.train import score_split

log = logging.getLogger("sweep")


class CachedScorer(Scorer):
    """A :class:`Scorer` that keeps the frontend's features of every stretch of audio it has seen
    (by hash), before any normalisation, so another head (with its own normaliser, a stream
    normalisation or none) scores the same audio without the frontend."""

    def __init__(self, model, spec, norm, cache: dict[str, np.ndarray]):
        super().__init__(model, spec, norm)
        self.cache = cache

    @staticmethod
    def _key(*parts) -> str:
        h = hashlib.sha256()
        for p in ("raw", *parts):
            h.update(p.tobytes() if isinstance(p, np.ndarray) else repr(p).encode())
        return h.hexdigest()[:32]

    def score_windows(self, chunk, rate, win, hop, count):
        key = self._key(np.ascontiguousarray(chunk, np.float32), rate, win, hop, count)
        if key not in self.cache:
            from tasks.audio.window_features import WindowFeatures

            wf = self._windows.setdefault((rate, win, hop), WindowFeatures(self.spec, rate, win, hop))
            self.cache[key] = wf(chunk, count).numpy()
        return self.probabilities(self.norm(torch.from_numpy(self.cache[key])))

    def score_wave(self, wave, rate):
        key = self._key(np.ascontiguousarray(wave, np.float32), rate, "wave")
        if key not in self.cache:
            ex = self._extractors.setdefault(rate, FeatureExtractor(self.spec, rate))
            self.cache[key] = ex(torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32))).numpy()
        f = self.norm(torch.from_numpy(self.cache[key]))
        if f.shape[-1] < self.model.config.conv_kernel:
            return np.zeros(0, np.float32)
        return self.probabilities(f[None])[0]


def curve_at(curve, fa: float) -> float:
    return min((p.false_reject_rate for p in curve if p.false_accepts_per_hour <= fa), default=1.0)


class MeanHead(nn.Module):
    """Heads trained on the same features (one normaliser), as one: the mean of their per-step
    logits, or with ``mode="prob"`` the logit of their mean probability."""

    def __init__(self, heads: list[nn.Module], mode: str = "logit"):
        super().__init__()
        self.heads, self.mode, self.config = nn.ModuleList(heads), mode, heads[0].config

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = torch.stack([h(x) for h in self.heads])
        if self.mode == "logit":
            return logits.mean(0)
        p = torch.sigmoid(logits).mean(0).clamp(1e-7, 1 - 1e-7)
        return torch.log(p) - torch.log1p(-p)


def load_heads(checkpoints: list[Path], mode: str) -> tuple[nn.Module, dict]:
    """One head, or a :class:`MeanHead` of several whose normalisers agree; (model, first config)."""
    loaded = [load_head(c) for c in checkpoints]
    first = loaded[0][1]
    for c, (_, doc) in zip(checkpoints[1:], loaded[1:], strict=True):
        if doc["normaliser"] != first["normaliser"] or doc["features"] != first["features"]:
            raise SystemExit(f"{c}: trained on other features than {checkpoints[0]}; an ensemble needs one normaliser")
    return (loaded[0][0] if len(loaded) == 1 else MeanHead([m for m, _ in loaded], mode)), first


def dev_scores(checkpoint: Path | list[Path], layout: Layout, tw: TriggerWordParams, seed: int, work: Path,
               cache: dict[str, np.ndarray], mode: str = "logit",
               wrap: Callable[[nn.Module, dict], nn.Module] | None = None) -> dict:
    """The evaluate stage's dev figures (in-engine and cross-engine) of one checkpoint, or of the
    mean of several (``mode``: "logit" or "prob"); ``wrap(model, config)`` may replace the loaded
    head by a module with its interface (e.g. a fused second opinion) before it is scored."""
    ev = tw.evaluate
    checkpoints = [Path(c) for c in checkpoint] if isinstance(checkpoint, list) else [Path(checkpoint)]
    model, doc = load_heads(checkpoints, mode)
    if wrap is not None:
        model = wrap(model, doc)
    checkpoint = checkpoints[0]
    meta = {**doc["features"], **doc["normaliser"]}
    scorer = CachedScorer(model, feature_spec(meta, str(checkpoint)), normaliser(meta), cache)
    clips = read_clips(layout.clips)
    rate, clip_s = int(clips.sample_rate.iloc[0]), float(doc["clip_seconds"])
    pools = split_pools(layout.collect, layout.split)
    sessions_dir = work / "negative_audio"
    rows = write_sessions(sessions_dir, pools["dev"], tw.synthesize.rooms_for("dev"), ev, rate, seed, "dev") \
        if not (sessions_dir / "done.json").is_file() else json.loads((sessions_dir / "done.json").read_text())
    (sessions_dir / "done.json").write_text(json.dumps(rows))
    probs, _ = score_split(model, FeatureShards(layout.features, "dev"), scorer.norm)
    streamed = [score_file(sessions_dir / r["file"], scorer, clip_s)[1] for r in rows]
    hours = sum(r["seconds"] for r in rows) / 3600
    curve = det_curve(list(zip(probs, positive_ends(clips, "dev"), strict=True)), streamed, hours, scorer.clock,
                      OPERATING_THRESHOLDS, ev.refractory_s, ev.match_window_s, early_s=ev.match_early_s)
    chosen = pick_threshold(curve, ev.target_fa_per_hour)
    found = found_at(list(zip(probs, positive_ends(clips, "dev"), strict=True)), scorer.clock, chosen.threshold,
                     ev.refractory_s, ev.match_window_s, ev.match_early_s)
    levels = misses_by_level(found, manifest_levels(clips, "dev", layout.clips, source_rms(layout.collect)))

    cpools = cross_pools(layout.collect, "dev", pools["dev"].backgrounds)
    synth = tw.synthesize.rooms_for("dev")
    scores, ends = check_clips(cpools, synth, ev.cross_engine, scorer, rate, seed, "dev")
    cross_dir = work / "cross_engine"
    crow = check_sessions(cross_dir, cpools, synth, ev.cross_engine, ev, rate, seed, "dev") \
        if not (cross_dir / "done.json").is_file() else json.loads((cross_dir / "done.json").read_text())
    (cross_dir / "done.json").write_text(json.dumps(crow))
    cstreamed = [score_file(cross_dir / r["file"], scorer, clip_s)[1] for r in crow]
    chours = sum(r["seconds"] for r in crow) / 3600
    ccurve = det_curve(list(zip(scores, ends, strict=True)), cstreamed, chours, scorer.clock, OPERATING_THRESHOLDS,
                       ev.refractory_s, ev.match_window_s, early_s=ev.match_early_s)
    at = next(p for p in ccurve if p.threshold == chosen.threshold)
    cfound = found_at(list(zip(scores, ends, strict=True)), scorer.clock, chosen.threshold, ev.refractory_s,
                      ev.match_window_s, ev.match_early_s)
    clevels = misses_by_level(cfound, check_levels(cpools, synth, ev.cross_engine, rate, seed, "dev"))
    return {"threshold": chosen.threshold, "dev_frr": round(chosen.false_reject_rate, 4),
            "dev_fa_h": round(chosen.false_accepts_per_hour, 2),
            "dev_curve_2_5": [round(curve_at(curve, 2), 4), round(curve_at(curve, 5), 4)],
            "cross_dev_frr": round(at.false_reject_rate, 4), "cross_dev_misses": at.misses,
            "cross_dev_positives": sum(map(len, ends)), "cross_dev_fa_h": round(at.false_accepts_per_hour, 2),
            "cross_dev_curve_2_5_20": [round(curve_at(ccurve, n), 4) for n in (2, 5, 20)],
            # misses / positives at the threshold per word-to-background band (dB)
            "dev_by_level": {b: [v["misses"], v["positives"]] for b, v in levels.items()},
            "cross_dev_by_level": {b: [v["misses"], v["positives"]] for b, v in clevels.items()},
            # each cross dev positive found (1) or missed (0) at the threshold, in clip order: for paired tests
            "cross_dev_found": "".join("1" if f else "0" for clip in cfound for f in clip),
            "parameters": sum(p.numel() for p in model.parameters())}


def record(out: Path, row: dict, cache: dict[str, np.ndarray]) -> None:
    """Keep the cached dev windows (``out/features.npz``) and append ``row`` to ``out/results.jsonl``
    (and print it)."""
    np.savez(out / "features.npz", **cache)
    with (out / "results.jsonl").open("a") as f:
        f.write(json.dumps(row) + "\n")
    print(json.dumps(row), flush=True)


def with_sets(raw: dict, sets: list[str], under: str = "") -> dict:
    """A copy of ``raw`` with each ``key=value`` (dotted key, under ``under.`` when given; value in
    YAML) set; a key not already there stops with its name."""
    raw = json.loads(json.dumps(raw))
    for item in sets:
        key, value = item.split("=", 1)
        *path, last = f"{under}.{key}".split(".") if under else key.split(".")
        node = raw
        for k in path:
            node = node[k]
        if last not in node:
            raise SystemExit(f"unknown key {'.'.join([*path, last])}")
        node[last] = yaml.safe_load(value)
    return raw


def with_overrides(raw: dict, overrides: list[str]) -> dict:
    return with_sets(raw, overrides, under="trigger_word")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--variant", action="append", default=[], help='"name: key=value key=value"')
    parser.add_argument("--checkpoint", type=Path, action="append", default=[], help="score this one as it is")
    parser.add_argument("--ensemble", action="append", default=[],
                        help='"name: CHECKPOINT CHECKPOINT ...": score the mean of these heads (same features)')
    parser.add_argument("--ensemble-mode", choices=["logit", "prob"], default="logit",
                        help="average the heads' logits, or their probabilities")
    parser.add_argument("--train-seed", type=int, default=None,
                        help="seed of the training run alone (default base.seed; the data and the scoring keep it)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args.out.mkdir(parents=True, exist_ok=True)
    raw = read_yaml(args.params)
    base = validate_section(raw, "base", BaseParams, args.params)
    layout = Layout(base.data_dir)
    cache_path = args.out / "features.npz"
    cache = dict(np.load(cache_path)) if cache_path.is_file() else {}
    for item in args.ensemble:
        name, paths = item.split(":", 1)
        tw = validate_section(raw, "trigger_word", TriggerWordParams, args.params)
        torch.set_num_threads(tw.evaluate.threads)
        row = {"name": name.strip(), "ensemble": paths.split(), "mode": args.ensemble_mode,
               **dev_scores([Path(p) for p in paths.split()], layout, tw, base.seed, args.out, cache, args.ensemble_mode)}
        record(args.out, row, cache)
    jobs = [(str(c), None) for c in args.checkpoint] + [tuple(v.split(":", 1)) for v in args.variant]
    for name, spec in jobs:
        tw = validate_section(raw, "trigger_word", TriggerWordParams, args.params)
        checkpoint = Path(name)
        if spec is not None:
            name, overrides = name.strip(), spec.split()
            tw = validate_section(with_overrides(raw, overrides), "trigger_word", TriggerWordParams, args.params)
            run = args.out / "runs" / name
            mine = Layout(base.data_dir)
            mine.train_state = run / "train_state"
            mine.train_state.mkdir(parents=True, exist_ok=True)
            torch.set_num_threads(tw.train.threads)
            seeded = base if args.train_seed is None else base.model_copy(update={"seed": args.train_seed})
            summary = train_into(run, mine, seeded, tw.train)["summary"]
            checkpoint = run / "checkpoint"
            log.info("%s: trained, best epoch %d", name, summary["best_epoch"])
        torch.set_num_threads(tw.evaluate.threads)
        row = {"name": name, "overrides": spec, "train_seed": args.train_seed, **dev_scores(checkpoint, layout, tw, base.seed, args.out, cache)}
        record(args.out, row, cache)


if __name__ == "__main__":
    main()
