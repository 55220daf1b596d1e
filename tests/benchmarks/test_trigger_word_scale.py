"""Scaling points: more train voices and takes, while every demo voice keeps its split."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import yaml

from benchmarks import trigger_word_scale as S
from tasks.io import read_parquet, write_json, write_parquet
from tasks.trigger_word import collect as C
from tasks.trigger_word.config import Layout, SplitParams, TriggerWordParams
from tasks.trigger_word.split import split_assignments
from tests.conftest import write_params

SPLIT = SplitParams(dev_fraction=0.34, test_fraction=0.33)


def shrunk(real_params: dict, tmp_path: Path) -> Path:
    tts = real_params["trigger_word"]["collect"]["tts"]
    tts.update(accents=["en-us", "en-gb"], variants=["m1", "f1", "m2", "f2"], voices=4, rates=[175],
               pitches=[50], negatives_per_voice=1, negative_takes=1)
    return write_params(tmp_path / "params.yaml", real_params)


def backgrounds(n: int = 6) -> pd.DataFrame:
    return pd.DataFrame({"background_id": [f"bg-{i}" for i in range(n)], "path": [f"bg/{i}.wav" for i in range(n)],
                         "group": [f"bg-{i}" for i in range(n)]})


def demo_collect(params_file: Path, data: Path) -> TriggerWordParams:
    """A demo's collect and split, rendered for real (espeak-ng), into ``data``."""
    tw = TriggerWordParams(**yaml.safe_load(params_file.read_text())["trigger_word"])
    layout = Layout(data)
    items = [it for shard in C.tts_plan(tw.collect, 0) for it in shard]
    rows, bad = C.render_tts_shard(items, layout.collect, tw.collect.sample_rate, tw.collect.checks)
    assert not bad
    words = pd.DataFrame(rows)
    for name, kind in (("positives", "positive"), ("negatives", "negative")):
        write_parquet(layout.collect / f"{name}.parquet", words[words.kind == kind].reset_index(drop=True))
    write_parquet(layout.collect / "backgrounds.parquet", backgrounds())
    write_json(layout.collect / "summary.json", {"positives": 4, "negatives": 4, "backgrounds": 6})
    split, _ = split_assignments(words[words.kind == "positive"], words[words.kind == "negative"], backgrounds(),
                                 SPLIT, 0)
    write_parquet(layout.split / "assignments.parquet", split)
    return tw


def test_new_voices_are_not_the_demos_and_are_said_like_every_voice(real_params, tmp_path):
    tw = TriggerWordParams(**yaml.safe_load(shrunk(real_params, tmp_path).read_text())["trigger_word"])
    t = tw.collect.tts
    demo = {v.group for v in C.choose_voices(t.accents, t.variants, 3, 0)}
    items = S.new_voice_items(tw.collect, 0, demo, 3)
    voices = {it.utterance.voice.group for it in items}
    assert len(voices) == 3 and not voices & demo
    assert items == S.new_voice_items(tw.collect, 0, demo, 3)  # seeded
    per_voice = [it for it in items if it.utterance.voice.group == sorted(voices)[0]]
    assert [it.kind for it in per_voice] == ["positive", "negative"]
    more = S.more_take_items("activate", [C.Voice("en-us", "m1")], [150, 175], [50, 60], {(175, 50)})
    assert {(it.utterance.rate, it.utterance.pitch) for it in more} == {(150, 50), (150, 60), (175, 60)}


def test_prepare_adds_train_material_and_keeps_every_demo_split(real_params, tmp_path):
    params_file = shrunk(real_params, tmp_path)
    tw = demo_collect(params_file, tmp_path / "demo")
    src = Layout(tmp_path / "demo")
    before = read_parquet(src.collect / "positives.parquet", "positives")
    out = S.prepare("p", tmp_path / "demo", params_file, extra_voices=2, rates=[150], pitches=[], root=tmp_path / "runs",
                    sets=["trigger_word.synthesize.clips={train: 50, dev: 10, test: 0}"])
    params = yaml.safe_load((out / "params.yaml").read_text())
    assert params["base"]["workers"] == 1 and params["trigger_word"]["train"]["threads"] == 1
    assert params["trigger_word"]["synthesize"]["clips"] == {"train": 50, "dev": 10, "test": 0}
    mine = Layout(params["base"]["data_dir"])
    pos = read_parquet(mine.collect / "positives.parquet", "positives")
    neg = read_parquet(mine.collect / "negatives.parquet", "negatives")
    old = pos.word_id.isin(before.word_id)
    assert old.sum() == len(before) and not pos[old].train_only.eq(True).any()
    new_voice = ~pos.group.isin(before.group)
    assert pos[new_voice].group.nunique() == 2 and pos[new_voice].train_only.all()
    assert neg[~neg.group.isin(before.group)].train_only.all()
    src_split = read_parquet(src.split / "assignments.parquet", "split")
    train_voices = set(src_split[(src_split.split == "train") & (src_split.kind == "positive")].group)
    takes = pos[~old & ~new_voice]
    assert set(takes.group) == train_voices and set(takes.rate) == {150} and not takes.train_only.any()
    # the demo's files are linked, not copied or rewritten, and its manifests are unchanged
    shard = next((src.collect / "positives").iterdir())
    assert (mine.collect / "positives" / shard.name).stat().st_ino == shard.stat().st_ino
    assert read_parquet(src.collect / "positives.parquet", "positives").equals(before)
    assert json.loads((mine.collect / "summary.json").read_text())["positives"] == len(pos)
    # every demo voice and background lands where the demo's split put it; new voices in train
    split, _ = split_assignments(pos, neg, read_parquet(mine.collect / "backgrounds.parquet", "bg"), SPLIT, 0)
    merged = split.merge(src_split, on=["kind", "id"], how="left", suffixes=("", "_demo"))
    kept = merged.split_demo.notna()
    assert (merged.split[kept] == merged.split_demo[kept]).all()
    assert set(merged.split[~kept]) == {"train"} and (~kept).sum() == len(pos) + len(neg) - len(src_split) + 6
    assert tw.collect.tts.voices == 4
