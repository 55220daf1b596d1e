"""Odd and hostile recordings: each gets a per-file reason, or the same correct reading everywhere."""

from __future__ import annotations

import json
import os
import time
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from tasks.audio.io import AUDIO_EXTENSIONS, AudioReadError, list_audio, read_audio
from tasks.config import load_params
from tasks.trigger_word.collect import ingest_user_files
from tasks.trigger_word.config import TriggerWordParams
from tests.conftest import tone, write_audio
from tests.hostile.helpers import PARAMS, detector_folder


@pytest.fixture(scope="module")
def checks():
    return load_params(PARAMS, "trigger_word", TriggerWordParams)[1].collect.checks


def ingest(kind, root, checks, out):
    """What the collect stage and `dataset` do with a user's folder: (rows, quarantine reasons by file name)."""
    rows, bad = ingest_user_files(kind, root, list_audio(root), out, 16000, checks)
    return rows, {os.path.basename(b["file"]): b["reason"] for b in bad}


def detect(files, tmp_path, capsys):
    from flows.trigger_word.__main__ import main

    model = detector_folder(tmp_path / "model")
    code = main(["detect", *map(str, files), "--checkpoint", str(model), "--params", PARAMS])
    return code, {os.path.basename(r["file"]): r for r in map(json.loads, capsys.readouterr().out.splitlines())}


def test_stereo_whose_channels_cancel_is_silent_not_a_word(tmp_path, checks):
    x = tone(0.8, 16000, 440, amp=0.5)
    write_audio(tmp_path / "in" / "inverted.wav", np.stack([x, -x], axis=1), 16000)
    write_audio(tmp_path / "in" / "fine.wav", np.stack([x, 0.8 * x], axis=1), 16000)
    rows, bad = ingest("positive", tmp_path / "in", checks, tmp_path / "out")
    assert [r["origin"] for r in rows] == [str(tmp_path / "in" / "fine.wav")]
    assert bad["inverted.wav"].startswith("silent after mixing to mono: the channels cancel")


def test_a_wav_cut_short_is_refused_by_collection_and_by_detect(tmp_path, checks, capsys):
    full = write_audio(tmp_path / "in" / "word.wav", tone(1.0, 16000), 16000, subtype="PCM_16")
    data = full.read_bytes()
    cut = tmp_path / "in" / "cut.wav"
    cut.write_bytes(data[: len(data) // 3])  # a copy interrupted a third of the way
    with pytest.raises(AudioReadError, match="truncated: the WAV header says 32000 bytes"):
        read_audio(cut)
    rows, bad = ingest("positive", tmp_path / "in", checks, tmp_path / "out")
    assert len(rows) == 1 and bad["cut.wav"].startswith("truncated")
    code, out = detect([cut, full], tmp_path, capsys)
    assert out["cut.wav"]["error"].startswith("truncated") and "detections" in out["word.wav"]


def test_mp3_is_read_by_dataset_and_by_detect_alike(tmp_path, checks, capsys):
    mp3 = tmp_path / "in" / "take.mp3"
    mp3.parent.mkdir()
    sf.write(str(mp3), tone(1.0, 16000, 500), 16000, format="MP3")
    assert ".mp3" in AUDIO_EXTENSIONS and list_audio(tmp_path / "in") == [mp3]
    rows, bad = ingest("positive", tmp_path / "in", checks, tmp_path / "out")
    assert len(rows) == 1 and not bad
    code, out = detect([mp3], tmp_path, capsys)
    assert code == 0 and "detections" in out["take.mp3"]


def test_a_symlink_loop_is_reported_as_one_not_as_missing(tmp_path, checks, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    os.symlink(folder / "b.wav", folder / "a.wav")
    os.symlink(folder / "a.wav", folder / "b.wav")
    os.symlink(folder / "gone.wav", folder / "broken.wav")
    write_audio(folder / "real.wav", tone(0.6, 16000), 16000)
    rows, bad = ingest("positive", folder, checks, tmp_path / "out")
    assert len(rows) == 1 and bad["a.wav"].startswith("symlink loop") and bad["b.wav"].startswith("symlink loop")
    assert bad["broken.wav"].startswith("broken link")
    code, out = detect([folder / "a.wav", tmp_path / "nowhere.wav", folder / "real.wav"], tmp_path, capsys)
    assert out["a.wav"]["error"].startswith("symlink loop") and out["nowhere.wav"]["error"] == "not found"
    assert "detections" in out["real.wav"]


def test_a_two_hour_file_is_refused_from_its_header_before_it_is_read(tmp_path, checks):
    long = tmp_path / "in" / "meeting.wav"
    long.parent.mkdir()
    with sf.SoundFile(str(long), "w", samplerate=1000, channels=1, subtype="PCM_U8", format="WAV") as f:
        f.write(np.zeros(7200 * 1000, np.int16))  # two hours (at a low rate, to keep the test small)
    tracemalloc.start()
    start = time.perf_counter()
    rows, bad = ingest("background", tmp_path / "in", checks, tmp_path / "out")
    seconds, (_, peak) = time.perf_counter() - start, tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert not rows and bad["meeting.wav"] == "too long: 7200.0 s (from its header) > 3600 s; not read"
    assert peak < 2_000_000 and seconds < 1.0  # decoding it would take 28.8 MB of float32
    # a word file is read at most WORD_READ_S, whatever its header says
    with pytest.raises(AudioReadError, match="too long"):
        read_audio(long, max_seconds=60.0)
