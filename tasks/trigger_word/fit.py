"""The body of stage tw_train: the model on the feature shards, best epoch kept by dev quality.

Resumable: after every epoch the full state (weights, optimiser, random generators, history,
best so far) is saved to ``train_state/``; a run with the same params and data continues
from the last finished epoch instead of starting over.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from models.checkpoint import save_model
from models.state import load_state_or_none, save_state
from models.trigger_word_heads import build_head
from tasks.config import BaseParams
from tasks.io import clean_stale_temps
from tasks.progress import Progress, logger
from tasks.trigger_word.clipset import read_clips
from tasks.trigger_word.config import Layout, TrainParams
from tasks.trigger_word.detection import DEFAULT_THRESHOLDS, det_curve, pick_threshold
from tasks.trigger_word.features import FeatureShards
from tasks.trigger_word.modeling import (
    after_negatives,
    clock_for,
    data_fingerprint,
    model_config,
    normaliser,
    positive_ends,
    read_meta,
    relabel,
    stream_meta,
)
from tasks.trigger_word.train import (
    Relabelled,
    SpecAugment,
    lr_factor,
    score_split,
    train_one_epoch,
)

STATE = "state.safetensors"  # safetensors + JSON (models.state): loading it runs no code


LEGACY_STATE = "state.pt"  # a pickle from older versions: never loaded


def dev_quality(probs: np.ndarray, ends: list[list[float]], clock, clip_s: float, target: float) -> dict:
    """Dev-set quality: false-reject rate at the threshold meeting the false-accept target on dev clips."""
    hours = len(probs) * clip_s / 3600
    curve = det_curve(list(zip(probs, ends, strict=True)), [], hours, clock, DEFAULT_THRESHOLDS, 1.0,
                      clip_false_accepts=True)
    p = pick_threshold(curve, target)
    return {"dev_frr": p.false_reject_rate, "dev_fa_per_hour": p.false_accepts_per_hour,
            "dev_threshold": p.threshold}


def history_csv(history: list[dict]) -> str:
    return pd.DataFrame(history).to_csv(index=False, lineterminator="\n")


def train_into(out: Path, layout: Layout, base: BaseParams, params: TrainParams) -> dict:
    log = logger()
    torch.set_num_threads(params.threads)
    meta = read_meta(layout.features)
    config = model_config(params.model, meta)
    stream = stream_meta(params.model, meta)
    norm = normaliser({**meta, **stream})
    clock = clock_for(meta, config)
    train_set, dev_set = FeatureShards(layout.features, "train"), FeatureShards(layout.features, "dev")
    clips = read_clips(layout.clips)
    if params.labels is not None:  # other labels than the clips' own, from the same word ends
        train_set, dev_set = (Relabelled(shards, relabel(clips, split, meta["ty"], *params.labels))
                              for shards, split in ((train_set, "train"), (dev_set, "dev")))
    dev_ends = positive_ends(clips, "dev")
    clip_s = float(clips.samples.iloc[0] / clips.sample_rate.iloc[0])
    data_hash = data_fingerprint(layout.features)
    fingerprint = hashlib.sha256(json.dumps(
        {"params": params.model_dump(), "seed": base.seed, "data": data_hash}, sort_keys=True).encode()).hexdigest()

    torch.manual_seed(base.seed)
    model = build_head(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=params.learning_rate, weight_decay=params.weight_decay)
    steps_per_epoch = -(-len(train_set) // params.batch_size)
    warmup = int(round(params.warmup_epochs * steps_per_epoch))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, functools.partial(
        lr_factor, total_steps=params.epochs * steps_per_epoch, warmup_steps=warmup, schedule=params.lr_schedule))
    # The weights that are scored and kept: the trained ones, or their exponential moving
    # average over about the last ``ema_epochs`` epochs of steps (BatchNorm statistics too).
    average = None
    if params.ema_epochs:
        decay = 1.0 - 1.0 / max(1.0, params.ema_epochs * steps_per_epoch)
        average = torch.optim.swa_utils.AveragedModel(
            model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(decay), use_buffers=True)
    kept = model if average is None else average.module
    rng = np.random.default_rng([base.seed, 11])
    history: list[dict] = []
    best: dict | None = None
    state_path = layout.train_state / STATE
    if (layout.train_state / LEGACY_STATE).is_file():
        log.warning("train: ignoring %s (a pickle from an older version; it is never loaded)", LEGACY_STATE)
    clean_stale_temps(state_path)  # a half-written state left by a killed run
    state = load_state_or_none(state_path)  # a damaged state is moved aside: start over
    if state is not None:
        if state.get("fingerprint") == fingerprint:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            if average is not None:
                average.load_state_dict(state["average"])
            rng.bit_generator.state = state["rng"]
            torch.set_rng_state(state["torch_rng"])
            history, best = state["history"], state["best"]
            log.info("train: resuming after epoch %d of %d", len(history), params.epochs)
        else:
            log.info("train: ignoring saved state of a run with other params or data")
    augment = SpecAugment(**params.spec_augment.model_dump())
    step_weights = None
    if params.negative_weight != 1.0:
        hard = after_negatives(clips, "train", meta["ty"], params.negative_window_s)
        labels = np.stack(clips[clips.split == "train"].labels.to_numpy()).astype(bool)
        step_weights = np.where(hard & ~labels, np.float32(params.negative_weight), np.float32(1.0))
    log.info("train: %d train / %d dev clips, features %d x %d -> %d steps, %d parameters",
             len(train_set), len(dev_set), meta["n_bins"], meta["n_frames"], meta["ty"],
             sum(p.numel() for p in model.parameters()))
    remaining = params.epochs - len(history)
    with Progress(remaining * len(train_set), "train", unit="clip") as bar:
        for epoch in range(len(history) + 1, params.epochs + 1):
            train_loss = train_one_epoch(model, train_set, norm, optimizer, params.batch_size, rng, augment,
                                         params.pos_weight, on_batch=bar.update, scheduler=scheduler,
                                         step_weights=step_weights, average=average,
                                         smoothing=params.label_smoothing, focal_gamma=params.focal_gamma,
                                         mixup_alpha=params.mixup_alpha, pool_positives=params.pool_positives)
            probs, dev_loss = score_split(kept, dev_set, norm)
            row = {"epoch": epoch, "lr": float(f"{scheduler.get_last_lr()[0]:.3g}"),
                   "train_loss": round(train_loss, 5), "dev_loss": round(dev_loss, 5),
                   **{k: round(v, 5) for k, v in dev_quality(probs, dev_ends, clock, clip_s,
                                                              params.dev_target_fa_per_hour).items()}}
            history.append(row)
            key = (row["dev_frr"], row["dev_fa_per_hour"], row["dev_loss"])
            if best is None or key < tuple(best["key"]):
                best = {"key": list(key), "epoch": epoch,
                        "model": {k: v.clone() for k, v in kept.state_dict().items()}}
            log.info("epoch %d/%d: train loss %.3f, dev loss %.3f, dev FRR %.3f at %.2f FA/h (thr %.3f)%s",
                     epoch, params.epochs, train_loss, dev_loss, row["dev_frr"], row["dev_fa_per_hour"],
                     row["dev_threshold"], "  *best*" if best["epoch"] == epoch else "")
            save_state(state_path, {"fingerprint": fingerprint, "model": model.state_dict(),
                                     "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                                     "average": None if average is None else average.state_dict(),
                                     "rng": rng.bit_generator.state,
                                     "torch_rng": torch.get_rng_state(), "history": history, "best": best})
    kept.load_state_dict(best["model"])
    summary = {"best_epoch": best["epoch"], "epochs": params.epochs,
               **{k: v for k, v in history[best["epoch"] - 1].items() if k != "epoch"}}
    save_model(out / "checkpoint", kept, config, meta={
        "features": {k: meta.get(k) for k in ("kind", "sample_rate", "n_fft", "hop", "n_mels", "n_bins", "n_frames",
                                                "ty", "frontend")},
        "normaliser": {"mean": meta["mean"], "std": meta["std"], **stream},
        "clip_seconds": clip_s, "train_params": params.model_dump(), "seed": base.seed,
        "data_sha256": data_hash, "train_summary": summary})
    return {"summary": summary, "history": history}
