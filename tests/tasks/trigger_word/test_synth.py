from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tasks.audio.augment import augment_word
from tasks.trigger_word.config import AugmentParams, SynthesizeParams
from tasks.trigger_word.synth import (
    Pools,
    Source,
    labels_for,
    place_segments,
    plan_clip,
    render_clip,
)


@pytest.mark.parametrize("seed", range(200))
def test_placement_never_overlaps(seed):
    rng = np.random.default_rng(seed)
    n = 10_000
    lengths = rng.integers(1, 2500, size=rng.integers(0, 7)).tolist()
    while sum(lengths) > n:
        lengths.pop()
    starts = place_segments(lengths, n, rng)
    spans = sorted(zip(starts, [s + ln for s, ln in zip(starts, lengths, strict=True)], strict=True))
    assert all(s >= 0 and e <= n for s, e in spans)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:], strict=False))


def test_placement_fills_exactly():
    rng = np.random.default_rng(0)
    starts = place_segments([300, 700], 1000, rng)
    assert sorted(starts) in ([0, 300], [0, 700])


def test_placement_rejects_too_much():
    with pytest.raises(ValueError):
        place_segments([600, 600], 1000, np.random.default_rng(0))


def test_label_rule_in_the_middle():
    n, ty = 441_000, 1375
    end = 220_500  # e = floor(220500 * 1375 / 441000) = 687
    y = labels_for([end], n, ty, 50)
    assert np.flatnonzero(y).tolist() == list(range(688, 738))


def test_label_at_first_sample():
    y = labels_for([1], 441_000, 1375, 50)  # e = 0 -> ones at 1..50
    assert np.flatnonzero(y).tolist() == list(range(1, 51))


def test_label_at_last_sample_is_clipped():
    n, ty = 441_000, 1375
    y = labels_for([n - 1], n, ty, 50)  # e = 1374 -> 1375.. is past the end: nothing
    assert y.sum() == 0
    y = labels_for([n - 20_000], n, ty, 50)  # e = 1312 -> 1313..1362
    assert np.flatnonzero(y).tolist() == list(range(1313, 1363))
    y = labels_for([n - 5000], n, ty, 50)  # e = 1359 -> 1360..1374, clipped at Ty-1
    assert np.flatnonzero(y).tolist() == list(range(1360, 1375))


def test_no_positive_no_ones():
    assert labels_for([], 1000, 100, 50).sum() == 0


@pytest.fixture
def pools(tmp_path: Path) -> Pools:
    sr = 8000
    rng = np.random.default_rng(0)
    sf.write(tmp_path / "bg.wav", (0.1 * rng.standard_normal(sr * 12)).astype(np.float32), sr)
    for name, f in (("pos.wav", 500), ("neg.wav", 900)):
        t = np.arange(int(0.6 * sr)) / sr
        sf.write(tmp_path / name, (0.3 * np.sin(2 * np.pi * f * t)).astype(np.float32), sr)
    src = lambda p, n, db: Source(p, n, db)  # noqa: E731
    return Pools(tmp_path, (src("pos.wav", int(0.6 * sr), -13.5),), (src("neg.wav", int(0.6 * sr), -13.5),),
                 (src("bg.wav", sr * 12, -20.0),))


def test_plan_is_a_function_of_the_seed(pools):
    p = SynthesizeParams(augment=AugmentParams(speed=(0.9, 1.1), eq_db=6, reverb_prob=0.5))
    a, b = plan_clip(123, pools, p, 8000), plan_clip(123, pools, p, 8000)
    assert a == b
    assert plan_clip(124, pools, p, 8000) != a


def test_rendered_clip_contains_the_words_where_planned(pools):
    p = SynthesizeParams(positives=(2, 2), negatives=(1, 1), background_db=(-60, -60),
                         word_to_background_db=(40, 40))
    plan = plan_clip(5, pools, p, 8000)
    pcm, _ = render_clip(plan, pools.root, p, 8000, {})
    x = pcm.astype(np.float32) / 32767
    assert len(x) == 80_000 and len(plan.events) == 3
    inside = np.zeros(len(x), bool)
    for ev in plan.events:
        inside[ev.start:ev.end] = True
        assert np.sqrt(np.mean(x[ev.start:ev.end] ** 2)) > 0.05
    assert np.sqrt(np.mean(x[~inside] ** 2)) < 0.01


def whole_clip_mix(plan, root: Path, p: SynthesizeParams, sr: int) -> np.ndarray:
    """The plainest float32 rendering of a plan: the whole clip as one array, then int16."""
    info = sf.info(str(root / plan.background))
    gain = 10 ** (plan.background_gain_db / 20)
    if info.subtype == "PCM_16" and info.channels == 1:
        pcm, _ = sf.read(str(root / plan.background), dtype="int16")
        x = np.multiply(pcm[plan.background_offset:plan.background_offset + plan.samples],
                        np.float32(gain / 32768.0), dtype=np.float32)
    else:
        x, _ = sf.read(str(root / plan.background), dtype="float32")
        x = x[plan.background_offset:plan.background_offset + plan.samples] * np.float32(gain)
    x = np.resize(x, plan.samples)
    for ev in plan.events:
        word, _ = sf.read(str(root / ev.source), dtype="float32")
        w = augment_word(word, sr, ev.end - ev.start, ev.speed, p.augment.eq_db, ev.eq_seed, ev.reverb_rt60_s)
        x[ev.start:ev.end] += w * np.float32(10 ** (ev.gain_db / 20))
    peak = float(np.abs(x).max())
    if peak > 0.99:
        x *= np.float32(0.99 / peak)
    return np.rint(x * np.float32(32767.0)).astype(np.int16)


@pytest.mark.parametrize("background", ["pcm16", "float", "short"])
def test_render_equals_the_whole_clip_float_mix_bit_for_bit(pools, background):
    """render_clip mixes only the words' spans in float and converts the rest block by block;
    the samples must still be exactly those of mixing the whole clip in float32, limiter included."""
    sr, root = 8000, pools.root
    rng = np.random.default_rng(1)
    noise = 0.2 * rng.standard_normal(sr * 12).astype(np.float32)
    noise[::sr // 4] = rng.choice([-1, 1], 48) * rng.uniform(0.5, 0.99, 48)  # clicks: the loudest is
    # sometimes under a word, so the peak of the background alone is not the clip's
    if background == "short":  # 3 s of background for 10-s clips: repeated
        noise = noise[:3 * sr]
    sf.write(root / "bg-mix.wav", noise, sr, subtype="FLOAT" if background == "float" else "PCM_16")
    pools = Pools(root, pools.positives, pools.negatives, (Source("bg-mix.wav", len(noise), -14.0),))
    p = SynthesizeParams(positives=(0, 4), negatives=(0, 2), background_db=(-30, 6),
                         word_to_background_db=(-30, -10),  # quiet words: clicks set the peak
                         augment=AugmentParams(speed=(0.9, 1.1), eq_db=6, reverb_prob=0.5))
    limited = 0
    cache: dict = {}
    for seed in range(40):
        plan = plan_clip(seed, pools, p, sr)
        pcm, limit_db = render_clip(plan, root, p, sr, cache)
        np.testing.assert_array_equal(pcm, whole_clip_mix(plan, root, p, sr))
        limited += limit_db < 0
    assert 0 < limited < 40  # both sides of the limiter were exercised


def test_warp_applies_to_train_clips_only(pools, tmp_path):
    from tasks.trigger_word.clipset import synthesize_shard
    from tasks.trigger_word.synth import with_warp

    quiet = {"positives": (2, 2), "negatives": (1, 1), "background_db": (-40, -40), "word_to_background_db": (10, 10)}
    on = SynthesizeParams(**quiet, augment=AugmentParams(warp=(0.85, 1.15)))
    off = SynthesizeParams(**quiet)  # quiet enough that the limiter never scales the whole clip
    plan = with_warp(plan_clip(5, pools, on, 8000), on.augment.warp)
    assert all(0.85 <= ev.warp <= 1.15 for ev in plan.events) and len({ev.warp for ev in plan.events}) > 1
    assert all(ev.warp == 1.0 for ev in with_warp(plan_clip(5, pools, off, 8000), off.augment.warp).events)
    # Same plan otherwise (no draw from the clip's generator), so [1, 1] keeps every byte.
    assert [(e.start, e.end, e.eq_seed) for e in plan.events] == \
        [(e.start, e.end, e.eq_seed) for e in plan_clip(5, pools, off, 8000).events]
    warped_pcm, _ = render_clip(plan, pools.root, on, 8000, {})
    plain_pcm, _ = render_clip(plan_clip(5, pools, off, 8000), pools.root, off, 8000, {})
    inside = np.zeros(len(plain_pcm), bool)
    for ev in plan.events:
        inside[ev.start:ev.end] = True
    assert np.array_equal(warped_pcm[~inside], plain_pcm[~inside]) and not np.array_equal(warped_pcm, plain_pcm)

    def shard(split: str, p: SynthesizeParams, name: str) -> bytes:
        out = tmp_path / name
        out.mkdir()
        synthesize_shard(split, [0, 1], pools, p, 8000, 0, out)
        return (out / split / f"{split}-0000000.wav").read_bytes()

    assert shard("dev", on, "dev-on") == shard("dev", off, "dev-off")
    assert shard("train", on, "train-on") != shard("train", off, "train-off")
