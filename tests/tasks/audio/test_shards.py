"""Audio shards: real speech in, the same samples out; same inputs, same bytes; damage named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tasks.audio.io import write_wav
from tasks.audio.shards import (
    ShardError,
    ShardSet,
    ShardWriter,
    parse_ref,
    read_ref,
    to_pcm16,
    write_ref_wav,
)
from tasks.audio.tts import Utterance, Voice
from tasks.trigger_word.clipset import pools_from_manifests, read_clip, synthesize_shard
from tasks.trigger_word.collect import TTSItem, read_word, render_tts_shard
from tasks.trigger_word.config import AudioChecks, SynthesizeParams

RATE = 16000


@pytest.fixture(scope="module")
def tts_items() -> list[TTSItem]:
    voices = [Voice("en-us", "m3"), Voice("en-gb", "f2")]
    return [TTSItem(kind, Utterance(text, v)) for v in voices
            for kind, text in (("positive", "activate"), ("negative", "kitchen"), ("negative", "motivate"))]


@pytest.fixture(scope="module")
def collected(tts_items, tmp_path_factory) -> tuple[Path, list[dict]]:
    """Real espeak-ng words written by the collect task into shards."""
    out = tmp_path_factory.mktemp("collect")
    rows, bad = render_tts_shard(tts_items, out, RATE, AudioChecks())
    assert not bad and len(rows) == 6
    return out, rows


def test_real_words_read_back_as_their_own_wav_would(collected, tmp_path):
    out, rows = collected
    # one shard per kind for the task, each a valid WAV holding its words back to back
    shards = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.wav"))
    assert [s.split("/")[0] for s in shards] == ["negatives", "positives"]
    for row in rows:
        x = read_word(out, row)
        assert x.dtype == np.float32 and len(x) == row["samples"] > 0.2 * RATE
        # bit for bit what write_wav + soundfile gave when each word was its own file
        write_wav(tmp_path / "alone.wav", x, RATE)
        alone, rate = sf.read(tmp_path / "alone.wav", dtype="float32")
        assert rate == RATE and np.array_equal(alone, x)
    neg = sorted((r for r in rows if r["kind"] == "negative"), key=lambda r: parse_ref(r["path"])[1])
    whole, rate = sf.read(out / parse_ref(neg[0]["path"])[0], dtype="float32")
    assert rate == RATE and len(whole) == sum(r["samples"] for r in neg)
    assert np.array_equal(whole, np.concatenate([read_word(out, r) for r in neg]))


def test_same_words_same_bytes(tts_items, collected, tmp_path):
    out, rows = collected
    again, _ = render_tts_shard(tts_items, tmp_path, RATE, AudioChecks())
    assert again == rows
    for shard in out.rglob("*.wav"):
        assert (tmp_path / shard.relative_to(out)).read_bytes() == shard.read_bytes()
    assert not list(tmp_path.rglob(".*.tmp-*"))


@pytest.fixture(scope="module")
def clip_pools(collected):
    """The shards' words over one real-valued background WAV, as synthesis sees them."""
    import pandas as pd

    from tasks.audio.checks import dbfs, rms

    out, rows = collected
    rng = np.random.default_rng(1)
    bg = (0.05 * rng.standard_normal(RATE * 12)).astype(np.float32)
    (out / "backgrounds").mkdir(exist_ok=True)
    write_wav(out / "backgrounds" / "bg.wav", bg, RATE)
    backgrounds = pd.DataFrame([{"path": "backgrounds/bg.wav", "samples": len(bg), "rms_db": dbfs(rms(bg))}])
    return pools_from_manifests(out, pd.DataFrame(rows), backgrounds)


def test_clips_sharded_or_one_file_each_hold_the_same_samples_and_repeat_bytewise(clip_pools, tmp_path):
    p = SynthesizeParams(clip_seconds=3.0, positives=(1, 1), negatives=(1, 2))
    tables = {}
    for name, one_each in (("a", False), ("b", False), ("files", True)):
        (tmp_path / name).mkdir()
        tables[name] = synthesize_shard("train", [0, 1, 2], clip_pools, p, RATE, 7, tmp_path / name, one_each)
    a, b, files = (tables[k].to_pandas() for k in ("a", "b", "files"))
    assert a.path.tolist() == [f"train/train-0000000.wav#{i * 3 * RATE}:{(i + 1) * 3 * RATE}" for i in range(3)]
    assert files.path.tolist() == [f"train/train-000000{i}.wav" for i in range(3)]
    assert (tmp_path / "a/train/train-0000000.wav").read_bytes() == (tmp_path / "b/train/train-0000000.wav").read_bytes()
    for ra, rf in zip(a.itertuples(), files.itertuples(), strict=True):
        x = read_clip(tmp_path / "a", ra)
        assert len(x) == 3 * RATE and np.abs(x).max() > 0.01
        assert np.array_equal(x, read_clip(tmp_path / "files", rf))
    # the events name words inside the collect shards, and those read back
    for evs in a.events:
        for ev in evs:
            assert "#" in ev["source"] and len(read_ref(tmp_path / "a", ev["source"])) > 0


def test_truncated_or_corrupt_shard_is_named(collected, tmp_path):
    out, rows = collected
    row = max(rows, key=lambda r: parse_ref(r["path"])[2])  # the last word of its shard
    file = parse_ref(row["path"])[0]
    damaged = tmp_path / file
    damaged.parent.mkdir(parents=True)
    data = (out / file).read_bytes()
    damaged.write_bytes(data[:-1000])
    with pytest.raises(ShardError, match=f"{damaged}: audio shard truncated"):
        read_ref(tmp_path, row["path"])
    damaged.write_bytes(b"RIFX" + data[4:])  # a damaged header
    with pytest.raises(ShardError, match=f"{damaged}: not a mono 16-bit PCM WAV shard"):
        read_ref(tmp_path, row["path"])
    # a header that was rewritten to match the shorter data: the reference no longer fits
    short = tmp_path / "short.wav"
    with ShardWriter(tmp_path, "short.wav", RATE) as w:
        w.add(np.zeros(10, np.int16))
    with pytest.raises(ShardError, match=f"{short}: audio shard holds 10 samples; 'short.wav#5:20'"):
        read_ref(tmp_path, "short.wav#5:20")
    with pytest.raises(ShardError, match="gone.wav: audio shard not found"):
        read_ref(tmp_path, "gone.wav#0:1")


def test_failed_task_leaves_no_shard(tmp_path):
    with pytest.raises(RuntimeError), ShardSet(tmp_path, "s.wav", RATE) as shards:
        shards.add("words", np.zeros(100, np.float32))
        raise RuntimeError("task failed")
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]  # neither the shard nor its temporary


def test_export_writes_a_wav_that_reads_back_equal(collected, tmp_path):
    out, rows = collected
    for i, row in enumerate(rows[:2]):
        path = write_ref_wav(out, row["path"], tmp_path / f"w{i}.wav")
        x, rate = sf.read(path, dtype="int16")
        assert rate == RATE and np.array_equal(x, to_pcm16(read_word(out, row)))
        assert sf.info(str(path)).frames == row["samples"]
