from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tasks.audio.io import list_audio, read_audio
from tasks.audio.shards import parse_ref
from tasks.trigger_word.collect import (
    drop_duplicate_files,
    ingest_user_files,
    read_word,
    tts_plan,
    user_group,
)
from tasks.trigger_word.config import AudioChecks, CollectParams, TTSParams
from tests.conftest import tone, write_audio


def test_user_group_conventions():
    assert user_group(Path("alice/take1.wav")) == "user:alice"
    assert user_group(Path("bob_03.wav")) == "user:bob"
    assert user_group(Path("carol-2.flac")) == "user:carol"
    assert user_group(Path("single.wav")) == "user:single"


def test_good_recordings_are_normalised(user_folders, tmp_path):
    root = user_folders["positives"]
    rows, bad = ingest_user_files("positive", root, list_audio(root), tmp_path, 16000, AudioChecks())
    assert not bad and len(rows) == 4
    assert len(list(tmp_path.rglob("*.wav"))) == 1  # one shard for the task, not a file per word
    for row in rows:
        file = tmp_path / parse_ref(row["path"])[0]
        x, sr = read_audio(file)
        assert sr == 16000 and x.shape[1] == 1  # mono, resampled
        assert len(read_word(tmp_path, row)) == row["samples"]
        assert 0.3 < row["duration_s"] < 1.2  # trimmed: the 0.1 s pads are gone
        assert row["group"].startswith("user:speaker")


def test_each_bad_file_gets_its_reason(tmp_path):
    src = tmp_path / "in"
    sr = 16000
    src.mkdir()
    (src / "notes.wav").write_text("this is not audio")
    write_audio(src / "empty.wav", np.zeros((0, 1), np.float32), sr)
    nan = tone(0.5, sr)
    nan[100] = np.nan
    write_audio(src / "nan.wav", nan, sr, subtype="FLOAT")
    write_audio(src / "silent.wav", np.zeros(sr, np.float32), sr)
    write_audio(src / "clipped.wav", np.clip(tone(0.5, sr, amp=5.0), -1, 1), sr)
    write_audio(src / "short.wav", tone(0.05, sr), sr)
    write_audio(src / "long.wav", tone(5.0, sr), sr)
    write_audio(src / "good.wav", tone(0.5, sr), sr)
    shutil.copy(src / "good.wav", src / "good_copy.wav")
    files, dupes = drop_duplicate_files("positive", list_audio(src))
    rows, bad = ingest_user_files("positive", src, files, tmp_path / "out", sr, AudioChecks())
    reasons = {Path(b["file"]).name: b["reason"].split(":")[0] for b in bad + dupes}
    assert reasons == {"notes.wav": "undecodable", "empty.wav": "empty", "nan.wav": "non-finite",
                       "silent.wav": "silent", "clipped.wav": "clipped", "short.wav": "too short",
                       "long.wav": "too long", "good_copy.wav": "duplicate"}
    assert [r["origin"] for r in rows] == [str(src / "good.wav")]
    assert (src / "notes.wav").read_text() == "this is not audio"  # raw inputs untouched


def test_tts_plan_keeps_voices_whole_and_covers_the_grid():
    p = CollectParams(negative_words=("active", "motivate", "hello"),
                      tts=TTSParams(accents=("en-us", "en-gb"), variants=("m1", "f1", "m3"), voices=4,
                                    rates=(150, 200), pitches=(40, 60), voices_per_shard=3, negative_takes=1))
    shards = tts_plan(p, seed=0)
    items = [it for s in shards for it in s]
    voices = {it.utterance.voice for it in items}
    assert len(voices) == 4
    assert sum(it.kind == "positive" for it in items) == 4 * 2 * 2
    assert sum(it.kind == "negative" for it in items) == 4 * 3
    for shard in shards:  # a voice never spans two shards
        others = {it.utterance.voice for s in shards if s is not shard for it in s}
        assert not ({it.utterance.voice for it in shard} & others)
    assert tts_plan(p, seed=0) == shards


def test_negative_takes_say_each_word_at_distinct_rates_and_pitches():
    tts = dict(accents=("en-us", "en-gb"), variants=("m1", "f1"), rates=(150, 200), pitches=(40, 60), voices=0)
    words = ("active", "captivate", "hello")
    one = [it for s in tts_plan(CollectParams(negative_words=words, tts=TTSParams(**tts, negative_takes=1)), seed=0)
           for it in s]
    three = [it for s in tts_plan(CollectParams(negative_words=words, tts=TTSParams(**tts, negative_takes=3)),
                                  seed=0) for it in s]
    assert [it for it in three if it.kind == "positive"] == [it for it in one if it.kind == "positive"]
    negatives = [it.utterance for it in three if it.kind == "negative"]
    assert len(negatives) == 4 * 3 * 3
    takes = {}
    for u in negatives:
        takes.setdefault((u.voice, u.text), set()).add((u.rate, u.pitch))
    assert len(takes) == 4 * 3 and all(len(t) == 3 for t in takes.values())  # distinct ids, no repeats
    assert len({(t.voice, t.text, t.rate, t.pitch) for t in negatives}) == len(negatives)
    capped = [it for s in tts_plan(CollectParams(negative_words=words, tts=TTSParams(**tts, negative_takes=9)),
                                   seed=0) for it in s if it.kind == "negative"]
    assert len(capped) == 4 * 3 * 4  # at most every rate x pitch combination once


def test_babble_is_never_made_of_the_trigger_word_or_its_confusables(real_params):
    with pytest.raises(ValueError, match="babble_words holds the positive word 'activate'"):
        CollectParams(positive_word="activate", generated_backgrounds={"babble_words": ("hello", "ACTIVATE")})
    babble = CollectParams(**real_params["trigger_word"]["collect"]).generated_backgrounds.babble_words
    assert len(babble) >= 8
    assert not [w for w in babble if "act" in w or "tiv" in w]  # no "activation", "captivate", "actor"...


@pytest.mark.parametrize("kind", ["negative", "background"])
def test_kinds_have_their_own_limits(tmp_path, kind):
    sr = 16000
    write_audio(tmp_path / "in" / "x.wav", tone(12.0, sr), sr)
    rows, bad = ingest_user_files(kind, tmp_path / "in", [tmp_path / "in" / "x.wav"], tmp_path / "o", sr,
                                  AudioChecks())
    if kind == "background":
        assert len(rows) == 1 and not bad
    else:
        assert not rows and bad[0]["reason"].startswith("too long")
