"""Negative-only audio for measuring false accepts: long sessions of backgrounds and other words.

Built from one split's backgrounds and negative words with the clip synthesiser (positives
set to zero), so the detector meets the same kinds of sound as in training but never the
trigger word. Each session is a WAV file; sessions are longer than training clips so that
streaming over long audio is what gets measured.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from tasks.io import stable_unit
from tasks.trigger_word.config import EvaluateParams, SynthesizeParams
from tasks.trigger_word.synth import Pools, plan_clip, render_clip, write_pcm16_wav


def session_plan(params: EvaluateParams, clip_s: float) -> list[int]:
    """Number of clips in each session so that the sessions total ``negative_minutes``."""
    total = math.ceil(params.negative_minutes * 60 / clip_s)
    per = max(1, int(params.session_minutes * 60 // clip_s))
    return [min(per, total - i) for i in range(0, total, per)]


def write_sessions(out: Path, pools: Pools, synth: SynthesizeParams, params: EvaluateParams, sample_rate: int,
                   seed: int, split: str) -> list[dict]:
    """Write the negative-only sessions of ``split`` into ``out``; returns one row per session."""
    neg = synth.model_copy(update={"positives": (0, 0), "negatives": params.negative_words})
    out.mkdir(parents=True, exist_ok=True)
    rows, cache = [], {}
    for s, n_clips in enumerate(session_plan(params, synth.clip_seconds)):
        parts = []
        for i in range(n_clips):
            plan = plan_clip(int(stable_unit("negatives", seed, split, s, i) * 2**63), pools, neg, sample_rate)
            parts.append(render_clip(plan, pools.root, neg, sample_rate, cache)[0])
        audio = np.concatenate(parts)
        name = f"{split}-session-{s:03d}.wav"
        write_pcm16_wav(out / name, audio, sample_rate)
        rows.append({"file": name, "split": split, "seconds": len(audio) / sample_rate, "clips": n_clips})
    return rows
