"""Glue between the data pipeline and the model: configs, clips' positive times, fingerprints."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from models.trigger_word import TriggerWordConfig
from models.trigger_word_window import WindowHeadConfig
from tasks.audio.features import FeatureSpec
from tasks.audio.speech_embedding import SpeechEmbedding, check_identity
from tasks.errors import ParamsError
from tasks.io import sha256_file
from tasks.trigger_word.config import ModelParams
from tasks.trigger_word.detection import StepClock
from tasks.trigger_word.inference import Normaliser
from tasks.trigger_word.stream_norm import StreamNorm, stream_norm_from_params
from tasks.trigger_word.synth import labels_for


def read_meta(features_dir: Path) -> dict:
    path = Path(features_dir) / "meta.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: feature metadata not found; run the features stage first")
    return json.loads(path.read_text())


def feature_spec(meta: dict, where: str = "checkpoint") -> FeatureSpec:
    """The features a model was trained on; for the pretrained frontend, refuses a checkpoint
    made with another version of it than the one installed (naming both)."""
    if meta["kind"] == "speech_embedding":
        check_identity(meta.get("frontend"), where)
        SpeechEmbedding()  # fails now, naming the file and the setup command, if one is missing
    return FeatureSpec(meta["kind"], meta["sample_rate"], meta["n_fft"], meta["hop"], meta["n_mels"])


def normaliser(meta: dict) -> Normaliser:
    """The normaliser of a checkpoint's ``{**features, **normaliser}`` (or of the features' meta
    plus :func:`stream_meta`); no ``stream`` entry (checkpoints made before it existed, or with it
    off) standardises per bin only, as before."""
    stream = meta.get("stream")
    return Normaliser(np.asarray(meta["mean"], np.float32), np.asarray(meta["std"], np.float32),
                      None if stream is None else StreamNorm.from_meta(stream))


def stream_meta(params: ModelParams, meta: dict) -> dict:
    """``{"stream": ...}`` for a checkpoint's normaliser when ``params.stream_norm`` is on, else ``{}``
    (so a checkpoint trained with it off is what it was before the option existed)."""
    norm = stream_norm_from_params(params.stream_norm, params.stream_norm_s, meta["hop"] / meta["sample_rate"])
    return {} if norm is None else {"stream": norm.to_meta()}


def model_config(params: ModelParams, meta: dict) -> TriggerWordConfig | WindowHeadConfig:
    """The config of the head ``params.head`` names for these features, checking that its output
    length is the labels' Ty."""
    if params.head == "window":
        config: TriggerWordConfig | WindowHeadConfig = WindowHeadConfig(
            n_freq=meta["n_bins"], window=params.window, units=params.window_units, layers=params.window_layers,
            dropout=params.dropout)
        change = "trigger_word.features (the window head makes one step per frame)"
    else:
        config = TriggerWordConfig(n_freq=meta["n_bins"], conv_filters=params.conv_filters,
                                   conv_kernel=params.conv_kernel, conv_stride=params.conv_stride,
                                   gru_units=params.gru_units, gru_layers=params.gru_layers, dropout=params.dropout)
        change = "trigger_word.train.model.conv_kernel / conv_stride or the feature hop"
    ty = config.output_steps(meta["n_frames"])
    if ty != meta["ty"]:
        raise ParamsError(
            f"the model turns {meta['n_frames']} feature frames into {ty} steps, but the clips have "
            f"Ty = {meta['ty']} labels: set trigger_word.synthesize.ty to {ty}, or change {change}")
    return config


def clock_for(meta: dict, config: TriggerWordConfig | WindowHeadConfig) -> StepClock:
    return StepClock(meta["sample_rate"], meta["n_fft"], meta["hop"], config.conv_kernel, config.conv_stride)


def positive_ends(clips: pd.DataFrame, split: str) -> list[list[float]]:
    """End times (s) of the positive words of each clip of ``split``, in manifest order."""
    part = clips[clips.split == split]
    return [[ev["end"] / row.sample_rate for ev in row.events if ev["kind"] == "positive"]
            for row in part.itertuples()]


def relabel(clips: pd.DataFrame, split: str, ty: int, start: int, ones: int) -> np.ndarray:
    """``(N, Ty)`` uint8 labels of each clip of ``split`` (manifest order): ``ones`` steps set to 1
    from ``start`` steps after the step each positive word ends in (negative: before it).
    ``start = 1, ones = synthesize.label_ones`` gives the clips' own labels (``labels_for``)."""
    part = clips[clips.split == split]
    out = np.zeros((len(part), ty), np.uint8)
    for k, row in enumerate(part.itertuples()):
        for ev in row.events:
            if ev["kind"] == "positive":
                e = (int(ev["end"]) * ty) // row.samples
                out[k, max(0, e + start):max(0, min(e + start + ones, ty))] = 1
    return out


def after_negatives(clips: pd.DataFrame, split: str, ty: int, window_s: float) -> np.ndarray:
    """``(N, Ty)`` bool: for each clip of ``split`` (manifest order), the steps in the ``window_s``
    seconds right after each *negative* word ends, placed by the positives' label rule.

    These are the steps where a confusable word ("activist", "captivate") would make the
    detector fire, so the loss can weigh their zero labels up.
    """
    part = clips[clips.split == split]
    rows = [labels_for([ev["end"] for ev in row.events if ev["kind"] == "negative"], row.samples, ty,
                       max(1, math.ceil(window_s * ty * row.sample_rate / row.samples)))
            for row in part.itertuples()]
    return np.stack(rows).astype(bool) if rows else np.zeros((0, ty), bool)


def data_fingerprint(features_dir: Path) -> str:
    """SHA-256 over the feature shards and metadata: which data a model was trained on."""
    h = hashlib.sha256()
    for p in sorted(Path(features_dir).rglob("*")):
        if p.is_file():
            h.update(p.relative_to(features_dir).as_posix().encode())
            h.update(sha256_file(p).encode())
    return h.hexdigest()
