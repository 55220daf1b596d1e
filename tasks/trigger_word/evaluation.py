"""The body of stage tw_evaluate: false-reject rate and false accepts per hour on voices never heard in training.

1. Calibrate on **dev**: score the dev clips and stream over dev negative-only sessions, build
   the DET curve, pick the threshold meeting ``target_fa_per_hour``.
2. Measure on **test** the same way, at that threshold and over the whole curve.
3. Write what went wrong (false accepts with file and time, missed positives) and ship the
   model: the checkpoint plus threshold, metrics and a model card, in ``model/``.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from models.checkpoint import CARD, CONFIG, WEIGHTS, read_config
from models.trigger_word_heads import load_head
from tasks.config import BaseParams
from tasks.io import write_json, write_parquet, write_text
from tasks.progress import Progress, logger
from tasks.trigger_word.clipset import read_clips, split_pools
from tasks.trigger_word.config import Layout, TriggerWordParams
from tasks.trigger_word.cross_engine import run_check
from tasks.trigger_word.detection import (
    OPERATING_THRESHOLDS,
    CurvePoint,
    det_curve,
    detect,
    match,
    pick_threshold,
    poisson_rate_interval,
    wilson_interval,
)
from tasks.trigger_word.features import FeatureShards
from tasks.trigger_word.hard_negatives import cut_windows
from tasks.trigger_word.inference import Scorer, score_file
from tasks.trigger_word.levels import manifest_levels, misses_by_level, source_rms
from tasks.trigger_word.model_card import model_card
from tasks.trigger_word.modeling import feature_spec, normaliser, positive_ends
from tasks.trigger_word.negatives import write_sessions
from tasks.trigger_word.train import score_split


def curve_csv(points) -> str:
    columns = [f.name for f in fields(CurvePoint)]
    return pd.DataFrame([asdict(p) for p in points], columns=columns).round(6).to_csv(index=False, lineterminator="\n")


def stream_sessions(folder: Path, rows: list[dict], scorer: Scorer, window_s: float, bar: Progress
                    ) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(file, times, scores) for each session, streamed window by window."""
    out = []
    for row in rows:
        out.append((row["file"], *score_file(folder / row["file"], scorer, window_s)))
        bar.update(1)
    return out


def evaluate_into(out: Path, model_dir: Path, layout: Layout, base: BaseParams, tw: TriggerWordParams) -> dict:
    log = logger()
    params = tw.evaluate
    torch.set_num_threads(params.threads)
    model, doc = load_head(layout.train / "checkpoint")
    meta = {**doc["features"], **doc["normaliser"]}
    scorer = Scorer(model, feature_spec(meta, str(layout.train / "checkpoint")), normaliser(meta))
    clock = scorer.clock
    clips = read_clips(layout.clips)
    clip_s = float(doc["clip_seconds"])
    rate = int(clips.sample_rate.iloc[0])
    pools = split_pools(layout.collect, layout.split)

    results = {}
    sessions = {}
    for split in ("dev", "test"):
        sessions[split] = write_sessions(out / "negative_audio", pools[split], tw.synthesize.rooms_for(split), params, rate,
                                         base.seed, split)
    n_sessions = sum(len(v) for v in sessions.values())
    with Progress(n_sessions, "evaluate: streaming negative audio", unit="session") as bar:
        for split in ("dev", "test"):
            probs, _ = score_split(model, FeatureShards(layout.features, split), scorer.norm)
            ends = positive_ends(clips, split)
            streamed = stream_sessions(out / "negative_audio", sessions[split], scorer, clip_s, bar)
            hours = sum(r["seconds"] for r in sessions[split]) / 3600
            curve = det_curve(list(zip(probs, ends, strict=True)), [s for _, _, s in streamed], hours, clock,
                              OPERATING_THRESHOLDS, params.refractory_s, params.match_window_s,
                              early_s=params.match_early_s)
            results[split] = {"probs": probs, "ends": ends, "streamed": streamed, "hours": hours, "curve": curve}

    chosen = pick_threshold(results["dev"]["curve"], params.target_fa_per_hour)
    thr = chosen.threshold
    test_point = next(p for p in results["test"]["curve"] if p.threshold == thr)
    log.info("evaluate: threshold %.3f chosen on dev (FRR %.3f, %.2f FA/h); test: FRR %.3f, %.2f FA/h "
             "over %.2f h of negative audio", thr, chosen.false_reject_rate, chosen.false_accepts_per_hour,
             test_point.false_reject_rate, test_point.false_accepts_per_hour, results["test"]["hours"])

    refractory = int(round(params.refractory_s / clock.step_s))
    false_accepts, misses = [], []
    found_by_split: dict[str, list[np.ndarray]] = {}
    for split, r in results.items():
        found_by_split[split] = []
        for file, times, scores in r["streamed"]:
            for t in detect(scores, thr, refractory):
                false_accepts.append({"split": split, "file": f"negative_audio/{file}",
                                      "time_s": round(float(times[t]), 3), "score": round(float(scores[t]), 4)})
        part = clips[clips.split == split]
        for row, p, ends in zip(part.itertuples(), r["probs"], r["ends"], strict=True):
            fired_steps = detect(p, thr, refractory)
            fired = np.asarray(clock.seconds(fired_steps))
            found, fa = match(fired, ends, params.match_window_s, params.match_early_s)
            found_by_split[split].append(found)
            step_t = np.asarray(clock.seconds(np.arange(len(p))))
            positives = [ev for ev in row.events if ev["kind"] == "positive"]
            for ev, ok, end in zip(positives, found, ends, strict=True):
                if not ok:
                    window = (step_t >= end - params.match_early_s) & (step_t <= end + params.match_window_s)
                    misses.append({"split": split, "clip_id": row.clip_id, "clip": f"../clips/{row.path}",
                                   "word": ev["source"], "end_s": round(end, 3),
                                   "max_score": round(float(p[window].max()) if window.any() else 0.0, 4)})
            for t, step in zip(fired[fa], fired_steps[fa], strict=True):
                false_accepts.append({"split": split, "file": f"../clips/{row.path}", "time_s": round(float(t), 3),
                                      "score": round(float(p[step]), 4)})
    mined = mine_false_accepts(out, pools["train"], scorer, thr, refractory, clip_s, rate, base, tw)
    cross = run_check(out / "cross_engine", layout.collect, {s: pools[s].backgrounds for s in ("dev", "test")},
                      scorer, thr, tw.synthesize, params, rate, base.seed, clip_s)
    write_parquet(out / "false_accepts.parquet",
                  pd.DataFrame(false_accepts, columns=["split", "file", "time_s", "score"]))
    write_parquet(out / "misses.parquet",
                  pd.DataFrame(misses, columns=["split", "clip_id", "clip", "word", "end_s", "max_score"]))

    metrics = {
        "threshold": thr, "target_fa_per_hour": params.target_fa_per_hour,
        "test_false_reject_rate": test_point.false_reject_rate,
        "test_false_accepts_per_hour": test_point.false_accepts_per_hour,
        "test_false_reject_rate_ci95": [round(v, 6) for v in wilson_interval(
            test_point.misses, sum(len(e) for e in results["test"]["ends"]))],
        "test_false_accepts_per_hour_ci95": [round(v, 6) for v in poisson_rate_interval(
            test_point.false_accepts, results["test"]["hours"])],
        "test_positives": sum(len(e) for e in results["test"]["ends"]),
        "test_negative_hours": round(results["test"]["hours"], 4),
        "dev_false_reject_rate": chosen.false_reject_rate,
        "dev_false_accepts_per_hour": chosen.false_accepts_per_hour,
        "dev_negative_hours": round(results["dev"]["hours"], 4),
        "mined_false_accepts": mined,
        # Misses at the threshold by the word's level over its background (tasks.trigger_word.levels).
        **by_level(found_by_split, clips, layout),
        # Points read off the test DET curve (not operating points: chosen on test itself).
        **{f"test_curve_frr_at_{n}_fa_per_hour": min(
            (p.false_reject_rate for p in results["test"]["curve"] if p.false_accepts_per_hour <= n), default=1.0)
           for n in (1, 5, 20)},
        **(cross["metrics"] if cross else {}),
    }
    ship(model_dir, layout, doc, metrics, params, tw)
    curves = {s: results[s]["curve"] for s in results}
    if cross:
        curves |= {f"cross_engine_{s}": c for s, c in cross["curves"].items()}
    return {"metrics": metrics, "curves": curves,
            "false_accepts": len(false_accepts), "misses": len(misses)}


def by_level(found: dict[str, list[np.ndarray]], clips: pd.DataFrame, layout: Layout) -> dict:
    """``{split}_misses_by_level_db`` for each split, from each positive's planned level."""
    rms = source_rms(layout.collect)
    return {f"{split}_misses_by_level_db": misses_by_level(f, manifest_levels(clips, split, layout.clips, rms))
            for split, f in found.items()}


def mine_false_accepts(out: Path, pool, scorer: Scorer, threshold: float, refractory: int, clip_s: float,
                       rate: int, base: BaseParams, tw: TriggerWordParams) -> int:
    """Stream over train-split negative-only audio; cut each false accept into ``hard_negatives/``."""
    params = tw.evaluate
    folder = out / "hard_negatives"
    rows: list[dict] = []
    if params.mine_minutes > 0:
        scratch = out / "mining_audio"
        sessions = write_sessions(scratch, pool, tw.synthesize.rooms_for("train"),
                                  params.model_copy(update={"negative_minutes": params.mine_minutes}),
                                  rate, base.seed, "train")
        with Progress(len(sessions), "evaluate: mining false accepts on train audio", unit="session") as bar:
            for file, times, scores in stream_sessions(scratch, sessions, scorer, clip_s, bar):
                fired = detect(scores, threshold, refractory)
                rows += cut_windows(scratch / file, [float(times[t]) for t in fired],
                                    [float(scores[t]) for t in fired], params.mine_window_s, folder,
                                    Path(file).stem)
        shutil.rmtree(scratch)  # remade from the seed on demand; only the windows are kept
    folder.mkdir(parents=True, exist_ok=True)
    write_parquet(folder / "hard_negatives.parquet",
                  pd.DataFrame(rows, columns=["file", "session", "time_s", "score"]))
    logger().info("evaluate: %d false accepts mined from %.0f min of train-split audio (for `feedback`)",
                  len(rows), params.mine_minutes)
    return len(rows)


def ship(model_dir: Path, layout: Layout, doc: dict, metrics: dict, params, tw: TriggerWordParams) -> None:
    """The shipped model folder: trained weights + threshold, detector settings, metrics, card."""
    model_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(layout.train / "checkpoint" / WEIGHTS, model_dir / WEIGHTS)
    config = read_config(layout.train / "checkpoint")
    config.update({"threshold": metrics["threshold"], "refractory_s": params.refractory_s,
                   "window_s": doc["clip_seconds"], "metrics": metrics,
                   "params": {"trigger_word": tw.model_dump()}})
    write_json(model_dir / CONFIG, config)
    summary = pd.read_parquet(layout.collect / "positives.parquet")
    write_text(model_dir / CARD, model_card(config, summary, pd.read_parquet(layout.split / "assignments.parquet")))
