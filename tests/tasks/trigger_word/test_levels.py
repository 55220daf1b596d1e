from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from tasks.audio.checks import dbfs, rms
from tasks.trigger_word.clipset import pools_from_manifests, read_clip, synthesize_shard
from tasks.trigger_word.config import AugmentParams, CrossEngineCheck, SynthesizeParams
from tasks.trigger_word.cross_engine import check_levels, check_plans
from tasks.trigger_word.detection import OPERATING_THRESHOLDS, StepClock, det_curve, found_at
from tasks.trigger_word.levels import manifest_levels, misses_by_level, source_rms

SR = 8000
PLAIN = AugmentParams(speed=(1.0, 1.0), eq_db=0.0, reverb_prob=0.0)  # a word keeps its RMS


def collect_folder(root: Path) -> Path:
    """A tiny collect output: 3 positive and 2 negative takes (tones and chirps at different
    levels), 2 white-noise backgrounds, and their manifests with each file's RMS."""
    rng = np.random.default_rng(0)
    (root / "words").mkdir(parents=True)
    rows = {"positives": [], "negatives": [], "backgrounds": []}
    t = np.arange(int(0.7 * SR)) / SR
    for i, (kind, amp, f) in enumerate([("positives", 0.3, 440), ("positives", 0.05, 700), ("positives", 0.6, 300),
                                        ("negatives", 0.2, 900), ("negatives", 0.1, 1200)]):
        x = (amp * np.sin(2 * np.pi * f * t * (1 + 0.3 * t)) * np.hanning(len(t)) ** 0.3).astype(np.float32)
        rows[kind].append((f"words/{kind}-{i}.wav", x))
    for i, level in enumerate((0.05, 0.2)):
        rows["backgrounds"].append((f"bg-{i}.wav", (level * rng.standard_normal(SR * 30)).astype(np.float32)))
    for kind, items in rows.items():
        for path, x in items:
            sf.write(root / path, x, SR, subtype="PCM_16")
        frame = pd.DataFrame({"path": [p for p, _ in items], "samples": [len(x) for _, x in items],
                              "rms_db": [dbfs(rms(sf.read(root / p, dtype="float32")[0])) for p, _ in items],
                              "kind": kind[:-1] if kind != "backgrounds" else "background"})
        frame.to_parquet(root / f"{kind}.parquet")
    return root


def pools_of(collect: Path):
    words = pd.concat([pd.read_parquet(collect / f"{k}.parquet") for k in ("positives", "negatives")])
    words["kind"] = words.kind.map({"positive": "positive", "negative": "negative"})
    return pools_from_manifests(collect, words, pd.read_parquet(collect / "backgrounds.parquet"))


@pytest.mark.parametrize("linked", [False, True])
def test_manifest_levels_are_the_words_rms_over_the_backgrounds_in_the_audio(tmp_path, linked):
    """The level derived from a clip manifest is what the rendered audio measures: the word's
    samples (the clip minus its background) over the background's, in dB; also when the collect
    folder is reached through a link, as a copy of the data folder does."""
    collect = collect_folder(tmp_path / "real" / "collect")
    data = tmp_path / ("linked" if linked else "real")
    if linked:
        data.mkdir()
        os.symlink(collect, data / "collect")
    out = data / "clips"
    p = SynthesizeParams(positives=(1, 3), negatives=(0, 1), background_db=(-45, -30),
                         word_to_background_db=(-5.0, 25.0), augment=PLAIN)
    clips = synthesize_shard("dev", list(range(12)), pools_of(data / "collect"), p, SR, 3, out).to_pandas()
    levels = manifest_levels(clips, "dev", out, source_rms(data / "collect"))
    assert [len(v) for v in levels] == clips.n_positives.tolist() and sum(map(len, levels)) >= 12
    measured = []
    for row in clips.itertuples():
        clip = read_clip(out, row)
        bg_file = os.path.normpath(os.path.join(os.path.realpath(out), row.background))
        bg = sf.read(bg_file, dtype="float32", start=row.background_offset, frames=row.samples)[0]
        bg = bg * np.float32(10 ** (row.background_gain_db / 20))
        measured.append([dbfs(rms(clip[ev["start"]:ev["end"]] - bg[ev["start"]:ev["end"]])) - dbfs(rms(bg))
                         for ev in row.events if ev["kind"] == "positive"])
    got, want = np.concatenate(levels), np.concatenate(measured)
    np.testing.assert_allclose(got, want, atol=0.3)
    assert got.min() >= -5.0 - 1e-3 and got.max() <= 25.0 + 1e-3 and got.max() - got.min() > 10


def test_misses_by_level_counts_each_band_with_an_interval():
    found = [[True, False], [False], [], [True, True, False]]
    levels = [[-2.0, 3.0], [7.5], [], [12.0, 15.0, 31.0]]
    bands = misses_by_level(found, levels)
    assert list(bands) == ["0-5", "5-10", "10-15", "15-25"]  # under 0 counts in 0-5, over 25 in 15-25
    assert {b: (v["misses"], v["positives"]) for b, v in bands.items()} == \
        {"0-5": (1, 2), "5-10": (1, 1), "10-15": (0, 1), "15-25": (1, 2)}
    lo, hi = bands["0-5"]["false_reject_rate_ci95"]
    assert lo < bands["0-5"]["false_reject_rate"] == 0.5 < hi
    assert list(misses_by_level([[True]], [[20.0]])) == ["15-25"]  # empty bands left out
    with pytest.raises(ValueError, match="levels"):
        misses_by_level([[True, False]], [[1.0]])


def test_found_at_agrees_with_the_curve_at_every_threshold():
    clock = StepClock(16000, 400, 1280, 1, 1)
    rng = np.random.default_rng(4)
    runs = [(rng.uniform(0, 1, 125) ** 0.2, sorted(rng.uniform(0.5, 9.5, rng.integers(0, 4)).tolist()))
            for _ in range(30)]
    curve = det_curve(runs, [], 1.0, clock, OPERATING_THRESHOLDS[::7], 0.5, 1.0, early_s=0.2)
    for point in curve:
        found = found_at(runs, clock, point.threshold, 0.5, 1.0, 0.2)
        assert sum(int((~f).sum()) for f in found) == point.misses


def test_check_levels_follow_the_checks_own_plans_and_range(tmp_path):
    pools = pools_of(collect_folder(tmp_path / "collect"))
    check = CrossEngineCheck(clips=20, positives=(1, 3), negatives=(0, 2), word_to_background_db=(0.0, 15.0))
    synth = SynthesizeParams(augment=PLAIN)
    levels = check_levels(pools, synth, check, SR, 0, "dev")
    plans = check_plans(pools, synth, check, SR, 0, "dev")[1]
    assert [len(v) for v in levels] == [sum(e.kind == "positive" for e in pl.events) for pl in plans]
    flat = np.concatenate(levels)
    assert len(flat) >= 20 and flat.min() >= -1e-3 and flat.max() <= 15.0 + 1e-3
    assert check_levels(pools, synth, check, SR, 1, "dev") != levels  # drawn from the seed
