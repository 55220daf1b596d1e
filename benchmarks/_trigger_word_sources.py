"""Source material for the trigger-word benchmarks: real TTS words and generated backgrounds."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tasks.trigger_word.clipset import pools_from_manifests
from tasks.trigger_word.collect import (
    generated_background_plan,
    render_generated_backgrounds,
    render_tts_shard,
    tts_plan,
)
from tasks.trigger_word.config import CollectParams, TTSParams
from tasks.trigger_word.synth import Pools

SAMPLE_RATE = 44100


def make_sources(root: Path, voices: int = 8, backgrounds: int = 6) -> Pools:
    """Words from ``voices`` TTS voices and ``backgrounds`` 30-s generated backgrounds under ``root``."""
    params = CollectParams(negative_words=("active", "motivate", "kitchen", "seven"),
                           tts=TTSParams(voices=voices, rates=(150, 200), pitches=(40, 60)))
    words = []
    for shard in tts_plan(params, seed=0):
        rows, _ = render_tts_shard(shard, root, SAMPLE_RATE, params.checks)
        words += rows
    plan = generated_background_plan(backgrounds, ("pink", "brown", "hum", "fan", "rain", "traffic"))
    bgs = render_generated_backgrounds(plan, 30.0, SAMPLE_RATE, 0, root, ())
    return pools_from_manifests(root, pd.DataFrame(words), pd.DataFrame(bgs))
