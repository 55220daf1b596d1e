"""Misses by word-to-background level: where along the SNR range a detector loses its words.

A positive's level is the one its clip was planned at: the word's RMS (the collected take's
``rms_db`` plus the event's ``gain_db``) over the background's (the recording's ``rms_db``
plus the clip's ``background_gain_db``), in dB. Speed, EQ and reverb move a word's RMS a
little after that; the planned level is the one ``word_to_background_db`` draws, so the bands
read against the params.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from tasks.trigger_word.detection import wilson_interval
from tasks.trigger_word.synth import ClipPlan, Pools

# Band edges in dB: 0-5, 5-10, 10-15, 15-25. A level under the first edge counts in the first
# band and one at or over the last in the last (the params' ranges are 0-25 dB).
LEVEL_EDGES_DB = (0.0, 5.0, 10.0, 15.0, 25.0)


def word_level_db(gain_db: float, word_rms_db: float, background_gain_db: float,
                  background_rms_db: float) -> float:
    """A word's planned level over its background, in dB."""
    return (gain_db + word_rms_db) - (background_gain_db + background_rms_db)


def source_rms(collect_dir: Path) -> dict[str, float]:
    """RMS (dBFS) of every collected word and background, keyed by its real path (synthesis
    writes the clip manifest's sources relative to the resolved clips folder)."""
    frame = pd.concat([pd.read_parquet(Path(collect_dir) / f"{k}.parquet", columns=["path", "rms_db"])
                       for k in ("positives", "negatives", "backgrounds")], ignore_index=True)
    root = os.path.realpath(collect_dir)
    return {os.path.normpath(os.path.join(root, p)): float(r) for p, r in zip(frame.path, frame.rms_db, strict=True)}


def manifest_levels(clips: pd.DataFrame, split: str, clips_dir: Path, rms: Mapping[str, float]
                    ) -> list[list[float]]:
    """Level (dB) of each positive of each clip of ``split``, in manifest order (as
    :func:`tasks.trigger_word.modeling.positive_ends`); ``rms`` from :func:`source_rms`."""
    root = os.path.realpath(clips_dir)

    def rms_of(source: str) -> float:
        key = os.path.normpath(os.path.join(root, source))
        if key not in rms:
            raise ValueError(f"{source}: not in the collect manifests, so its level is unknown")
        return rms[key]

    return [[word_level_db(ev["gain_db"], rms_of(ev["source"]), row.background_gain_db, rms_of(row.background))
             for ev in row.events if ev["kind"] == "positive"]
            for row in clips[clips.split == split].itertuples()]


def plan_levels(plan: ClipPlan, pools: Pools) -> list[float]:
    """Level (dB) of each positive of a planned clip, in event order."""
    rms = {s.path: s.rms_db for s in (*pools.positives, *pools.negatives, *pools.backgrounds)}
    return [word_level_db(ev.gain_db, rms[ev.source], plan.background_gain_db, rms[plan.background])
            for ev in plan.events if ev.kind == "positive"]


def band_names(edges: Sequence[float] = LEVEL_EDGES_DB) -> list[str]:
    return [f"{lo:g}-{hi:g}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]


def misses_by_level(found: Sequence[Sequence[bool]], levels: Sequence[Sequence[float]],
                    edges: Sequence[float] = LEVEL_EDGES_DB) -> dict[str, dict]:
    """Positives, misses and false-reject rate (95% Wilson interval) per level band, from each
    clip's found flags and levels (the same order). Bands without positives are left out."""
    hit = np.concatenate([np.asarray(f, bool) for f in found]) if found else np.zeros(0, bool)
    db = np.concatenate([np.asarray(v, float) for v in levels]) if levels else np.zeros(0)
    if hit.shape != db.shape:
        raise ValueError(f"{len(hit)} found flags against {len(db)} levels")
    band = np.digitize(np.round(db, 3), np.asarray(edges[1:-1], float))  # float32 gains: 4.99999 is 5
    out = {}
    for i, name in enumerate(band_names(edges)):
        n = int((band == i).sum())
        if n:
            k = int((~hit[band == i]).sum())
            lo, hi = wilson_interval(k, n)
            out[name] = {"positives": n, "misses": k, "false_reject_rate": round(k / n, 6),
                         "false_reject_rate_ci95": [round(lo, 6), round(hi, 6)]}
    return out
