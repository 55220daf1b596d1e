"""Stage `features`: spectrograms of every clip, in memory-mappable shards per split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.runtime import Progress, in_order, logger, publish_table, stage_main, with_runner
from tasks.audio.features import FeatureSpec, speech_embedding_spec
from tasks.audio.speech_embedding import identity as frontend_identity
from tasks.config import BaseParams
from tasks.io import atomic_dir, write_json, write_parquet
from tasks.trigger_word.clipset import read_clips
from tasks.trigger_word.config import SPLITS, FeaturesParams, Layout, TriggerWordParams
from tasks.trigger_word.features import feature_shard, normalisation

shard_task = task(feature_shard, name="features-shard", cache_policy=NO_CACHE)


def feature_spec(params: FeaturesParams, clip_rate: int) -> FeatureSpec:
    """The features' settings; the pretrained frontend fixes its own (rate, step, size)."""
    if params.kind == "speech_embedding":
        return speech_embedding_spec()
    return FeatureSpec(params.kind, params.sample_rate or clip_rate, params.n_fft, params.hop, params.n_mels)


def features_into(out: Path, clips_dir: Path, base: BaseParams, params: FeaturesParams) -> dict:
    clips = read_clips(clips_dir)
    rate = int(clips.sample_rate.iloc[0])
    spec = feature_spec(params, rate)
    jobs, index = [], []
    for split in SPLITS:
        part = clips[clips.split == split]
        for shard, start in enumerate(range(0, len(part), params.shard_size)):
            rows = part.iloc[start:start + params.shard_size]
            jobs.append((split, shard, rows.path.tolist(), np.stack(rows.labels.to_numpy())))
            index += [{"clip_id": c, "split": split, "shard": shard, "row": i}
                      for i, c in enumerate(rows.clip_id)]
    submit = shard_task.with_options(retries=base.retries, retry_delay_seconds=1)
    train_stats, shapes = [], {}
    with Progress(len(clips), "features", unit="clip") as bar:
        for job, stats in zip(jobs, in_order(
                lambda j: submit.submit(clips_dir, j[2], j[3], spec, rate, out / j[0], j[1]),
                jobs, window=2 * base.workers), strict=True):
            if job[0] == "train":
                train_stats.append(stats)
            shapes[job[0]] = shapes.get(job[0], 0) + stats["rows"]
            n_frames = stats["frames"]
            bar.update(stats["rows"])
    mean, std = normalisation(train_stats) if train_stats else ([], [])
    meta = {"kind": spec.kind, "sample_rate": spec.sample_rate, "input_rate": rate, "n_fft": spec.n_fft,
            "hop": spec.hop, "n_mels": spec.n_mels, "n_bins": spec.n_bins,
            "n_frames": n_frames if jobs else 0, "ty": int(len(clips.labels.iloc[0])) if len(clips) else 0,
            "frontend": frontend_identity() if spec.kind == "speech_embedding" else None,
            "dtype": "float16", "layout": "x: (n, F, T) float16; y: (n, Ty) uint8",
            "clips": shapes, "mean": mean, "std": std}
    write_parquet(out / "index.parquet", pd.DataFrame(index, columns=["clip_id", "split", "shard", "row"]))
    write_json(out / "meta.json", meta)
    return meta


@flow(name="trigger-word-features")
def features(base: BaseParams, params: FeaturesParams, clips_dir: str, out_dir: str) -> dict:
    """Compute features for every clip into ``out_dir`` (replaced atomically)."""
    with atomic_dir(out_dir) as tmp:
        meta = features_into(Path(tmp), Path(clips_dir), base, params)
    publish_table("trigger-word-features",
                  [{"split": s, "clips": meta["clips"].get(s, 0), "shape": f"{meta['n_bins']} x {meta['n_frames']}",
                    "kind": meta["kind"]} for s in SPLITS], "Feature shards per split")
    logger().info("features: %s x %s per clip, %s", meta["n_bins"], meta["n_frames"], meta["clips"])
    return {k: v for k, v in meta.items() if k not in ("mean", "std")}


def run(base: BaseParams, params: TriggerWordParams, layout: Layout, runner: str | None = None) -> None:
    """Stage tw_features: features of every clip, in memory-mappable shards."""
    with_runner(features, base, runner)(base, params.features, str(layout.clips), str(layout.features))


if __name__ == "__main__":
    stage_main(run, "trigger_word", TriggerWordParams, Layout)
