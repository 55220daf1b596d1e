"""Real recordings in collect: speech negatives (split by file, never the trigger word) and backgrounds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tasks.audio.io import read_audio
from tasks.trigger_word.collect import read_word
from tasks.trigger_word.config import AudioChecks, CollectParams
from tasks.trigger_word.real_audio import (
    babble_speech,
    excluded_ids,
    folder_files,
    ingest_backgrounds,
    ingest_speech,
    speech_plan,
)
from tasks.trigger_word.real_audio_config import RealAudioParams, RealFolder
from tests.conftest import tone, write_audio

SR = 16000


def speechlike(seconds: float, sr: int, seed: int) -> np.ndarray:
    """Syllable-rate amplitude-modulated harmonics: not silent, not clipped, with pauses to trim."""
    t = np.arange(int(seconds * sr)) / sr
    rng = np.random.default_rng(seed)
    f0 = 110 + 40 * rng.random()
    x = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6)) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t))
    x = 0.2 * x / np.abs(x).max()
    pad = np.zeros(int(0.2 * sr))
    return np.concatenate([pad, x, pad]).astype(np.float32)


@pytest.fixture()
def dialogue(tmp_path: Path) -> RealFolder:
    """A fillets-ng-like tree: sound/<level>/nl/<id>.ogg and script/<level>/dialogs_*.lua."""
    root = tmp_path / "game"
    for i, name in enumerate(["lvl-m-hello", "lvl-v-pokud", "lvl-m-bye", "lvl-v-activated"]):
        write_audio(root / "sound" / "lvl" / "nl" / f"{name}.ogg", speechlike(1.0 + i * 0.5, 22050, i), 22050)
    (root / "script" / "lvl").mkdir(parents=True)
    (root / "script" / "lvl" / "dialogs_en.lua").write_text(
        'dialogId("lvl-m-hello", "font_small", "Hello there.")\n'
        'dialogId("lvl-v-pokud", "font_big", "Unless we ACTIVATE that octopus.")\n')
    (root / "script" / "lvl" / "dialogs_nl.lua").write_text(
        'dialogId("lvl-m-bye", "font_small", "Goodbye.")\ndialogStr("Tot ziens, we aktiveren niets.")\n')
    return RealFolder(dir=str(root), pattern="sound/*/nl/*.ogg", source="debian:test-nl", licence="GPL-2",
                      texts="script/*/dialogs*.lua")


def test_transcripts_and_names_with_the_word_are_left_out(dialogue):
    root = Path(dialogue.dir)
    assert excluded_ids(sorted(root.glob("script/*/*.lua")), ["activ", "aktiv"]) == {"lvl-v-pokud", "lvl-m-bye"}
    kept, bad = folder_files(dialogue, ("activ", "aktiv"))
    assert [p.stem for p in kept] == ["lvl-m-hello"]
    reasons = {Path(b["file"]).stem: b["reason"] for b in bad}
    assert set(reasons) == {"lvl-v-pokud", "lvl-m-bye", "lvl-v-activated"}
    assert "name holds 'activ'" in reasons["lvl-v-activated"] and "transcript" in reasons["lvl-v-pokud"]


def test_a_missing_folder_is_skipped(tmp_path):
    assert folder_files(RealFolder(dir=str(tmp_path / "nope"), source="x", licence="y"), ()) == ([], [])


def test_speech_plan_draws_per_folder_and_never_puts_a_file_in_both(tmp_path):
    folders = []
    for lang in ("es", "it"):
        for i in range(30):
            write_audio(tmp_path / lang / f"p{i}.wav", speechlike(0.5, 8000, i), 8000)
        folders.append(RealFolder(dir=str(tmp_path / lang), source=f"debian:{lang}", licence="CC-BY-SA-3.0"))
    params = RealAudioParams(enabled=True, speech=folders, speech_files_per_dir=20, babble_share=0.3, exclude=())
    neg, babble, bad = speech_plan(params, seed=0)
    assert not bad and len(neg) + len(babble) == 40 and 0 < len(babble) < 25
    assert not {p for p, _ in neg} & {p for p, _ in babble}
    assert speech_plan(params, seed=0)[0] == neg  # the same seed draws the same files
    assert speech_plan(params, seed=1)[0] != neg


def test_speech_becomes_negatives_grouped_by_file_with_licence(tmp_path, dialogue):
    items = [(p, dialogue) for p in folder_files(dialogue, ())[0]]
    rows, bad = ingest_speech(items, tmp_path / "out", SR, AudioChecks(), max_s=1.2)
    assert not bad and len(rows) == 4
    assert len({r["group"] for r in rows}) == 4  # one group per file: the split stage splits by file
    for r in rows:
        assert r["kind"] == "negative" and r["source"] == "real-speech" and r["licence"] == "GPL-2"
        assert r["package"] == "debian:test-nl" and r["sample_rate"] == SR
        x = read_word(tmp_path / "out", r)
        assert len(x) == r["samples"] and r["duration_s"] <= 1.2 + 1e-9
    assert max(r["duration_s"] for r in rows) == pytest.approx(1.2)  # a long line keeps its first 1.2 s


def test_babble_speech_is_levelled(dialogue):
    items = [(p, dialogue) for p in folder_files(dialogue, ())[0]]
    segs = babble_speech(items, SR, 4.0, -40.0, level_db=-30.0)
    assert len(segs) == 4
    assert all(abs(20 * np.log10(np.sqrt(np.mean(s ** 2))) + 30.0) < 0.1 for s in segs)


def test_recorded_backgrounds_are_rows_with_their_source(tmp_path):
    write_audio(tmp_path / "music" / "song.ogg", tone(12.0, 22050, channels=2), 22050)
    write_audio(tmp_path / "music" / "jingle.ogg", tone(2.0, 22050), 22050)
    folder = RealFolder(dir=str(tmp_path / "music"), pattern="*.ogg", source="debian:game-data", licence="GPL-2")
    rows, bad = ingest_backgrounds([(p, folder) for p in folder_files(folder, ())[0]], tmp_path / "out", SR,
                                   AudioChecks())
    assert [Path(b["file"]).name for b in bad] == ["jingle.ogg"] and "short" in bad[0]["reason"]
    (row,) = rows
    assert row["source"] == "recording" and row["licence"] == "GPL-2" and row["package"] == "debian:game-data"
    x, sr = read_audio(tmp_path / "out" / row["path"])
    assert sr == SR and x.shape == (row["samples"], 1) and row["duration_s"] == pytest.approx(12.0, abs=0.01)


def test_defaults_never_use_the_check_languages():
    params = CollectParams()
    check = set(params.cross_engine.real_speech_dev) | set(params.cross_engine.real_speech_test)
    for folder in params.real_audio.speech:
        assert not any(folder.dir.startswith(c) or c.startswith(folder.dir) for c in check)
        assert "/fr" not in folder.dir and "/ru" not in folder.dir and "/en" not in folder.dir


def test_disabled_uses_no_folder(tmp_path):
    write_audio(tmp_path / "es" / "p.wav", speechlike(0.5, 8000, 0), 8000)
    write_audio(tmp_path / "music" / "song.ogg", tone(12.0, 22050), 22050)
    params = RealAudioParams(enabled=False,
                             speech=[RealFolder(dir=str(tmp_path / "es"), source="s", licence="l")],
                             backgrounds=[RealFolder(dir=str(tmp_path / "music"), pattern="*.ogg", source="b",
                                                     licence="l")])
    assert speech_plan(params, 0) == ([], [], [])
    from tasks.trigger_word.real_audio import background_files
    assert background_files(params) == []
    assert len(background_files(params.model_copy(update={"enabled": True}))) == 1
