"""SVOX Pico as a training engine: made speakers, honest rows, the same bytes twice, train split only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from tasks.audio import pico
from tasks.trigger_word import collect as C
from tasks.trigger_word import pico_engine as P
from tasks.trigger_word.config import AudioChecks, CollectParams, SplitParams
from tasks.trigger_word.engines_config import PICO_PITCH_RANGE, PICO_VOICES
from tasks.trigger_word.split import split_assignments

WITH_PICO = {"tts": {"engines": ["espeak", "pico"]}}


def tiny(variants: int = 2, **pico_keys) -> CollectParams:
    return CollectParams(negative_words=["active", "kitchen", "motivate"],
                         tts={"engines": ["espeak", "pico"],
                              "pico": {"variants": variants, "rates": [100], "pitch_steps": [1.0],
                                       "negatives_per_variant": 1, **pico_keys}})


def test_variants_are_drawn_by_seed_within_their_ranges():
    p = CollectParams(**WITH_PICO).tts.pico
    variants = P.pico_variants(p, 0)
    assert variants == P.pico_variants(p, 0) and variants != P.pico_variants(p, 1)
    assert len({v["variant"] for v in variants}) == p.variants
    assert [v["voice"] for v in variants[:4]] == ["en-US", "en-GB", "en-US", "en-GB"]
    assert all(p.pitch[0] <= v["pitch"] <= p.pitch[1] and p.warp[0] <= v["warp"] <= p.warp[1] for v in variants)
    assert len({(v["pitch"], v["warp"]) for v in variants}) == p.variants
    # a variant does not depend on how many there are
    fewer = P.pico_variants(p.model_copy(update={"variants": 5}), 0)
    assert fewer == variants[:5]
    assert {v["warp"] for v in P.pico_variants(p.model_copy(update={"warp": (1.0, 1.0)}), 0)} == {1.0}


def test_plan_says_the_positive_at_every_rate_and_pitch_step():
    params = CollectParams(**WITH_PICO)
    p = params.tts.pico
    items = [it for shard in P.pico_train_plan(params, 0) for it in shard]
    per_variant = len(p.rates) * len(p.pitch_steps)
    assert sum(it["kind"] == "positive" for it in items) == p.variants * per_variant
    assert sum(it["kind"] == "negative" for it in items) == p.variants * p.negatives_per_variant
    v0 = P.pico_variants(p, 0)[0]
    first = [it for it in items if it["variant"] == v0["variant"] and it["kind"] == "positive"]
    assert {(it["rate"], it["pitch"]) for it in first} == {(r, round(v0["pitch"] * s))
                                                           for r in p.rates for s in p.pitch_steps}
    assert all(50 <= it["pitch"] <= 200 and it["rate"] in p.rates for it in items)
    assert len({(it["variant"], it["text"], it["rate"], it["pitch"]) for it in items}) == len(items)


def test_params_refuse_what_pico_cannot_say():
    assert (PICO_VOICES, PICO_PITCH_RANGE) == (pico.VOICES, pico.PITCH_RANGE)  # the params' copy of the engine's
    with pytest.raises(ValidationError, match="unknown SVOX Pico voices"):
        CollectParams(tts={"engines": ["espeak", "pico"], "pico": {"voices": ["de-DE"]}})
    with pytest.raises(ValidationError, match="pitch x pitch_steps"):
        CollectParams(tts={"engines": ["espeak", "pico"], "pico": {"pitch": [50, 190], "pitch_steps": [0.9, 1.1]}})
    with pytest.raises(ValidationError, match="warp"):
        CollectParams(tts={"engines": ["espeak", "pico"], "pico": {"warp": [1.2, 1.0]}})
    # Kokoro is the default check's engine: training on it with Pico is still refused
    with pytest.raises(ValidationError, match="also in tts.engines"):
        CollectParams(tts={"engines": ["espeak", "pico", "kokoro"]})


def test_rendered_takes_are_honest_rows_and_the_same_bytes_twice(tmp_path):
    params = tiny()
    items = [it for shard in P.pico_train_plan(params, 0) for it in shard]
    assert len(items) == 4  # 2 variants x (1 positive + 1 negative)
    rows, bad = P.render_pico_train(items, tmp_path / "a", 16000, AudioChecks())
    assert not bad and [r["kind"] for r in rows] == ["positive", "negative"] * 2
    frame = pd.DataFrame(rows)
    assert set(frame.source) == {"pico"} and set(frame.licence) == {"Apache-2.0"}
    assert set(frame.package) == {"ttspico 0.3.2"} and frame.train_only.all()
    assert list(frame.group) == ["pico:pico000"] * 2 + ["pico:pico001"] * 2
    assert list(frame.voice) == ["en-US", "en-US", "en-GB", "en-GB"]
    assert frame.path.iloc[0].startswith("positives/pico-") and frame.path.iloc[1].startswith("negatives/pico-")
    for r in rows:
        take = C.read_word(tmp_path / "a", r)
        assert len(take) == r["samples"] and 0.2 < len(take) / 16000 < 1.5 and np.abs(take).max() > 0.05
    # same params -> same bytes, in another folder
    again, _ = P.render_pico_train(items, tmp_path / "b", 16000, AudioChecks())
    assert again == rows
    shards = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.wav"))
    assert shards and all((tmp_path / "a" / s).read_bytes() == (tmp_path / "b" / s).read_bytes() for s in shards)


def test_the_warp_makes_another_speaker_of_the_same_take(tmp_path):
    plain, _ = P.pico_word("activate", "en-US", 100, 100, 1.0, 16000, AudioChecks())
    warped, _ = P.pico_word("activate", "en-US", 100, 100, 0.88, 16000, AudioChecks())
    raw = pico.say("activate", "en-US")
    assert plain is not None and warped is not None
    assert abs(len(warped) - len(plain)) < 0.05 * len(plain)  # duration kept
    # lower formants: the spectrum's centroid moves down by about the factor
    def centroid(x):
        s = np.abs(np.fft.rfft(x)) ** 2
        f = np.fft.rfftfreq(len(x), 1 / 16000)
        return float((s * f).sum() / s.sum())
    assert centroid(warped) < 0.97 * centroid(plain)
    assert len(raw) > len(plain)  # Pico's silence around the word is trimmed


def test_split_puts_pico_in_train_and_moves_no_other_voice(tmp_path):
    params = tiny(variants=3)
    pico_rows, _ = P.render_pico_train([it for s in P.pico_train_plan(params, 0) for it in s], tmp_path, 16000,
                                       AudioChecks())
    espeak = CollectParams(negative_words=["active"], tts={"voices": 12, "rates": [175], "pitches": [50],
                                                           "negative_takes": 1})
    espeak_rows = []
    for shard in C.tts_plan(espeak, 0):
        espeak_rows += C.render_tts_shard(shard, tmp_path, 16000, AudioChecks())[0]
    backgrounds = pd.DataFrame({"background_id": ["b0", "b1", "b2"], "path": ["x0", "x1", "x2"],
                                "group": ["g0", "g1", "g2"]})

    def split(rows: list[dict]) -> pd.DataFrame:
        frame = pd.DataFrame(rows)
        a, _ = split_assignments(frame[frame.kind == "positive"], frame[frame.kind == "negative"], backgrounds,
                                 SplitParams(), 0)
        return a[a.kind != "background"]

    without, with_pico = split(espeak_rows), split(espeak_rows + pico_rows)
    pico_part = with_pico[with_pico.group.str.startswith("pico:")]
    assert len(pico_part) == len(pico_rows) and set(pico_part.split) == {"train"}
    others = with_pico[~with_pico.group.str.startswith("pico:")].reset_index(drop=True)
    assert others.equals(without.reset_index(drop=True))
    assert {"train", "dev", "test"} == set(without.split)


def test_pico_held_out_makes_the_check_and_is_refused_in_training(tmp_path):
    held_out = {"cross_engine": {"engine": "pico", "negative_words": 1,
                                 "pico": {"pitches": [100], "rates": [90, 110]}}}
    with pytest.raises(ValidationError, match="also in tts.engines"):
        CollectParams(tts={"engines": ["espeak", "pico"]}, **held_out)
    with pytest.raises(ValidationError, match="two different SVOX Pico voices"):
        CollectParams(cross_engine={"engine": "pico", "pico": {"dev_voice": "en-GB"}})
    params = CollectParams(tts={"engines": ["espeak", "kokoro"]}, **held_out)  # training on two engines
    shards = P.pico_check_plan(params)
    assert [len(s) for s in shards] == [3, 3] and [s[0]["voice"] for s in shards] == ["en-US", "en-GB"]
    rows = []
    for shard in shards:
        rows += P.render_pico_check(shard, tmp_path, 16000, AudioChecks())[0]
    frame = pd.DataFrame(rows)
    assert len(frame) == 6 and set(frame.source) == {"pico"} and (frame.warp == 1.0).all()
    assert list(frame.check_split) == ["dev"] * 3 + ["test"] * 3 and frame.path.str.startswith("cross_engine/pico-").all()
    assert (frame.kind == "positive").sum() == 4 and "train_only" not in frame
    assert all(len(C.read_word(tmp_path, r)) == r.samples for r in frame.itertuples())
