"""enrol-word and detect with an enrolled word, on a small word encoder trained here on real
espeak-ng takes over the real frozen frontend; and the refusals of bad enrolment input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from flows.trigger_word.__main__ import main
from models.checkpoint import CheckpointError
from tasks.audio import speech_embedding as se
from tasks.audio.io import resample
from tasks.errors import DataError
from tasks.trigger_word.word_data import RATE, espeak_takes, mix_word, strip_steps, windows
from tasks.trigger_word.word_encoder import (
    WindowSet,
    embed_windows,
    load_encoder,
    save_encoder,
    train_encoder,
)
from tasks.trigger_word.word_encoder_config import WordEncoderParams

WORDS = ("window", "yesterday", "kitchen", "computer", "music", "tomorrow", "hello", "seven")
TRAIN_VOICES = [f"tts:{a}+{v}" for a in ("en-us", "en-gb", "en-029") for v in ("m1", "m3", "f2", "f4")]
USER = "tts:en-gb-scotland+m5"  # never in the encoder's training
GRID = [(r, p) for r in (130, 160, 190, 220) for p in (40, 60)]


def noise(seconds: float, seed: int, level: float = 0.01) -> np.ndarray:
    return (level * np.random.default_rng(seed).standard_normal(int(seconds * RATE))).astype(np.float32)


@pytest.fixture(scope="module")
def encoder(tmp_path_factory) -> Path:
    """A small encoder trained on 8 words x 12 voices (the user's voice is not among them)."""
    params = WordEncoderParams(epochs=16, batch_words=8, batch_takes=6, hidden=48, dim=32, bank_windows=400,
                               held_out_words=(), dev_words=(), test_words=(), vocabulary=0)
    rng = np.random.default_rng(0)
    plan = [(w, g, *GRID[int(rng.integers(len(GRID)))]) for w in WORDS for g in TRAIN_VOICES for _ in range(3)]
    takes = espeak_takes(plan)
    frontend = se.SpeechEmbedding()
    labels = {w: i for i, w in enumerate(WORDS)}
    bgs = [noise(20, s) for s in range(3)]
    steps, ends = strip_steps(frontend, takes, bgs, rng, (5.0, 25.0), (-40.0, -30.0))
    train = WindowSet(steps, ends, np.asarray([labels[t.text] for t in takes]))
    model, history = train_encoder(train, train, params, 0)
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    # The bank holds other words than the ones enrolled below, as the shipped bank never holds
    # the held-out words the stage measures on.
    others, _ = strip_steps(frontend, [t for t in takes if t.text not in ("kitchen", "computer")], bgs, rng,
                            (5.0, 25.0), (-40.0, -30.0))
    idx = rng.integers(params.window_steps - 1, len(others), size=400)
    bank = embed_windows(model, windows(others, idx, params.window_steps, np.zeros(400, np.int64)))
    out = tmp_path_factory.mktemp("encoder") / "encoder"
    # The match scorers' rules and step bank ride along; the default scorer stays the encoder (an
    # encoder folder that names none, as before the match scorers).
    scorers = {k: {"lambda": 0.3, "weight": w, "extra": 4, "centred": True} for k, w in (("match", 0.0),
                                                                                       ("fused", 0.25))}
    save_encoder(out, model, bank, {"lambda": 0.3, "bank_quantile": 0.999, "agree_quantile": 0.99,
                                    "scorers": scorers}, {"jitter_steps": params.jitter_steps}, step_bank=others)
    return out


@pytest.fixture(scope="module")
def user_takes(tmp_path_factory) -> dict[str, list[Path]]:
    """A new voice's takes of three words, as a user's files: 44.1 kHz stereo WAV and 22.05 kHz mono FLAC."""
    root = tmp_path_factory.mktemp("recordings")
    out: dict[str, list[Path]] = {}
    for word in ("kitchen", "computer", "yesterday"):
        takes = espeak_takes([(word, USER, r, p) for r, p in GRID[:5]])
        for i, t in enumerate(takes):
            padded = np.concatenate([noise(0.3, i), t.wave + noise(len(t.wave) / RATE, 10 + i), noise(0.3, 20 + i)])
            if i % 2:
                path = root / f"{word}-{i}.flac"
                sf.write(path, resample(padded, RATE, 22050), 22050)
            else:
                path = root / f"{word}-{i}.wav"
                sf.write(path, np.repeat(resample(padded, RATE, 44100)[:, None], 2, axis=1), 44100)
            out.setdefault(word, []).append(path)
        out[f"{word}-wave"] = takes  # type: ignore[assignment]
    return out


def pasted(path: Path, word: np.ndarray, end_s: float, seed: int) -> Path:
    x = noise(6.0, seed, 0.005)
    mix_word(x, word, int(end_s * RATE) - len(word), 15.0, 20 * np.log10(0.005))
    sf.write(path, x, RATE)
    return path


def test_enrol_word_builds_a_detector_that_finds_the_word_and_not_another(encoder, user_takes, tmp_path, capsys):
    out = tmp_path / "kitchen-detector"
    assert main(["enrol-word", "--encoder", str(encoder), "--out", str(out), *map(str, user_takes["kitchen"][:3])]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["takes"] == 3 and 0 < summary["threshold"] < 1
    doc = json.loads((out / "detector.json").read_text())
    assert [t["file"] for t in doc["takes"]] == [str(p) for p in user_takes["kitchen"][:3]]
    assert (out / "enrolled.npy").is_file() and (out / ".dlpipes-output").is_file()
    load_encoder(out / "encoder")  # a complete copy of the encoder travels with the detector

    found = pasted(tmp_path / "kitchen.wav", user_takes["kitchen-wave"][4].wave, 3.0, 1)  # a take not enrolled
    other = pasted(tmp_path / "computer.wav", user_takes["computer-wave"][4].wave, 3.0, 2)
    assert main(["detect", "--checkpoint", str(out), str(found), str(other)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["file"] for line in lines] == [str(found), str(other)]
    assert [d["time_s"] for d in lines[0]["detections"]] and all(
        2.6 <= d["time_s"] <= 4.0 for d in lines[0]["detections"]), lines[0]
    assert lines[1]["detections"] == [], lines[1]

    # The same recordings again: the folder is ours, so it is replaced; same bytes.
    before = (out / "detector.json").read_bytes()
    assert main(["enrol-word", "--encoder", str(encoder), "--out", str(out), *map(str, user_takes["kitchen"][:3])]) == 0
    assert (out / "detector.json").read_bytes() == before


def test_bad_enrolment_input_is_refused_naming_the_files(encoder, user_takes, tmp_path):
    kitchen = user_takes["kitchen"]
    with pytest.raises(DataError, match="3-10 recordings"):
        main(["enrol-word", "--encoder", str(encoder), "--out", str(tmp_path / "a"), *map(str, kitchen[:2])])
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(RATE, np.float32), RATE)
    with pytest.raises(DataError, match=r"only 2 usable take.*silent\.wav: silent"):
        main(["enrol-word", "--encoder", str(encoder), "--out", str(tmp_path / "b"), str(silent), *map(str, kitchen[:2])])
    with pytest.raises(DataError, match=r"only 2 usable take.*the same audio as"):
        main(["enrol-word", "--encoder", str(encoder), "--out", str(tmp_path / "c"), *map(str, kitchen[:2]),
              str(kitchen[0])])
    wrong = user_takes["yesterday"][0]
    with pytest.raises(DataError, match=rf"do not sound like the same word.*{wrong.name}"):
        main(["enrol-word", "--encoder", str(encoder), "--out", str(tmp_path / "d"), *map(str, kitchen[:3]), str(wrong)])
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(DataError, match="not written by dlpipes"):
        main(["enrol-word", "--encoder", str(encoder), "--out", str(mine), *map(str, kitchen[:3])])
    assert (mine / "notes.txt").read_text() == "keep me"
    assert not any((tmp_path / n).exists() for n in "abcd")


def test_missing_or_damaged_encoder_files_are_named(encoder, user_takes, tmp_path):
    import shutil

    broken = tmp_path / "encoder"
    shutil.copytree(encoder, broken)
    (broken / "bank.npy").unlink()
    with pytest.raises(CheckpointError, match=r"bank\.npy"):
        main(["enrol-word", "--encoder", str(broken), "--out", str(tmp_path / "x"), *map(str, user_takes["kitchen"][:3])])
    shutil.copy(encoder / "bank.npy", broken / "bank.npy")
    (broken / "model.safetensors").write_bytes(b"not weights")
    with pytest.raises(CheckpointError, match=r"model\.safetensors"):
        main(["enrol-word", "--encoder", str(broken), "--out", str(tmp_path / "x"), *map(str, user_takes["kitchen"][:3])])
    with pytest.raises(CheckpointError, match="word encoder folder not found"):
        main(["enrol-word", "--encoder", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x"),
              *map(str, user_takes["kitchen"][:3])])


@pytest.mark.parametrize("scorer", ["fused", "match"])
def test_a_match_scorer_detector_finds_the_word_and_keeps_detects_output(encoder, user_takes, tmp_path, capsys,
                                                                         scorer):
    out = tmp_path / "kitchen-detector"
    assert main(["enrol-word", "--encoder", str(encoder), "--out", str(out), "--scorer", scorer,
                 *map(str, user_takes["kitchen"][:3])]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert set(summary) == {"out", "threshold", "takes", "skipped"} and 0 < summary["threshold"] < 1
    doc = json.loads((out / "detector.json").read_text())
    assert doc["scorer"]["kind"] == scorer and doc["threshold_parts"]["lambda"] == 0.3
    parts = doc["threshold_parts"]
    assert parts["impostor_score"] < doc["threshold"] < parts["self_score"]  # lambda 0.3: between the two
    templates = np.load(out / "templates.npy")
    assert templates.shape == (sum(doc["scorer"]["template_steps"]), 96) and len(doc["scorer"]["template_steps"]) == 3

    found = pasted(tmp_path / "kitchen.wav", user_takes["kitchen-wave"][4].wave, 3.0, 1)  # a take not enrolled
    other = pasted(tmp_path / "computer.wav", user_takes["computer-wave"][4].wave, 3.0, 2)
    assert main(["detect", "--checkpoint", str(out), str(found), str(other)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["file"] for line in lines] == [str(found), str(other)]
    assert lines[0]["detections"] and all(2.6 <= d["time_s"] <= 4.0 for d in lines[0]["detections"]), lines[0]
    assert lines[1]["detections"] == [], lines[1]
    assert set(lines[0]["detections"][0]) == {"time_s", "score"}

    # a damaged templates file is named when the detector loads
    np.save(out / "templates.npy", templates[:-1])
    with pytest.raises(DataError, match=r"templates\.npy.*does not fit"):
        main(["detect", "--checkpoint", str(out), str(found)])


def test_a_match_scorer_needs_its_rule_and_step_bank(encoder, user_takes, tmp_path):
    import shutil

    takes = [*map(str, user_takes["kitchen"][:3])]
    old = tmp_path / "old-encoder"
    shutil.copytree(encoder, old)
    (old / "bank_steps.npy").unlink()
    with pytest.raises(CheckpointError, match=r"bank_steps\.npy.*--scorer encoder"):
        main(["enrol-word", "--encoder", str(old), "--out", str(tmp_path / "x"), "--scorer", "fused", *takes])
    doc = json.loads((old / "config.json").read_text())
    del doc["threshold_rule"]["scorers"]
    (old / "config.json").write_text(json.dumps(doc))
    with pytest.raises(DataError, match=r"config\.json: this word encoder has no rule for the 'match' scorer"):
        main(["enrol-word", "--encoder", str(old), "--out", str(tmp_path / "x"), "--scorer", "match", *takes])
    # without --scorer, an encoder folder that names no scorer enrols with the encoder, as before
    assert main(["enrol-word", "--encoder", str(old), "--out", str(tmp_path / "y"), *takes]) == 0
    assert json.loads((tmp_path / "y" / "detector.json").read_text())["scorer"] == {"kind": "encoder"}
    assert not (tmp_path / "y" / "templates.npy").exists() and not (tmp_path / "x").exists()


def enrolled_with(encoder: Path, takes: list[str], tmp_path: Path, name: str, **fused) -> tuple[Path, dict]:
    """``takes`` enrolled with a copy of ``encoder`` whose fused scorer's rule has ``fused`` set;
    returns the detector folder and its ``detector.json`` scorer."""
    import shutil

    changed = tmp_path / f"{name}-encoder"
    shutil.copytree(encoder, changed)
    doc = json.loads((changed / "config.json").read_text())
    doc["threshold_rule"]["scorers"]["fused"] |= fused
    (changed / "config.json").write_text(json.dumps(doc))
    out = tmp_path / name
    assert main(["enrol-word", "--encoder", str(changed), "--out", str(out), "--scorer", "fused", *takes]) == 0
    return out, json.loads((out / "detector.json").read_text())["scorer"]


def finds_the_word_only(out: Path, user_takes, tmp_path: Path, capsys) -> Path:
    """``detect`` with detector ``out`` finds the kitchen word pasted at 3 s and nothing in the
    computer word's file; returns the kitchen file."""
    found = pasted(tmp_path / "kitchen.wav", user_takes["kitchen-wave"][4].wave, 3.0, 1)
    other = pasted(tmp_path / "computer.wav", user_takes["computer-wave"][4].wave, 3.0, 2)
    capsys.readouterr()
    assert main(["detect", "--checkpoint", str(out), str(found), str(other)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0]["detections"] and all(2.6 <= d["time_s"] <= 4.0 for d in lines[0]["detections"]), lines[0]
    assert lines[1]["detections"] == [], lines[1]
    return found


def test_augmented_normalised_templates_find_the_word_and_older_folders_score_as_before(encoder, user_takes,
                                                                                        tmp_path, capsys):
    takes = [*map(str, user_takes["kitchen"][:3])]
    out, about = enrolled_with(encoder, takes, tmp_path, "kitchen-aug", norm=True, speeds=[0.9, 1.1],
                               noise_db=[10.0], noise_alpha=1.0)
    # each take, a copy 10% slower, one 10% faster (the first take's: templates 3 and 4) and one in pink
    # noise 10 dB below it (templates 9-11): 12 templates
    steps = about["template_steps"]
    assert len(steps) == 12 and steps[3] >= steps[0] >= steps[4] and steps[3] > steps[4] and steps[9:] == steps[:3]
    norms = np.asarray(about["template_norms"])
    assert norms.shape == (12, 2) and np.all(norms[:, 1] > 0) and np.all((norms[:, 0] > 0) & (norms[:, 0] < 1))
    assert np.load(out / "templates.npy").shape == (sum(steps), 96)

    found = finds_the_word_only(out, user_takes, tmp_path, capsys)

    # a folder enrolled before these options (no top, norm or copies in detector.json) loads and scores as before
    plain = tmp_path / "kitchen-plain"
    assert main(["enrol-word", "--encoder", str(encoder), "--out", str(plain), "--scorer", "fused", *takes]) == 0
    capsys.readouterr()
    d = json.loads((plain / "detector.json").read_text())
    assert len(d["scorer"]["template_steps"]) == 3 and "template_norms" not in d["scorer"]
    assert main(["detect", "--checkpoint", str(plain), str(found)]) == 0
    fresh = json.loads(capsys.readouterr().out)["detections"]
    for k in ("top", "norm", "speeds", "noise_db", "noise_alpha"):
        del d["scorer"][k]
    (plain / "detector.json").write_text(json.dumps(d))
    assert main(["detect", "--checkpoint", str(plain), str(found)]) == 0
    assert json.loads(capsys.readouterr().out)["detections"] == fresh
    # damaged normalisation is named
    about["template_norms"] = about["template_norms"][:-1]
    doc = json.loads((out / "detector.json").read_text())
    doc["scorer"] = about
    (out / "detector.json").write_text(json.dumps(doc))
    with pytest.raises(DataError, match=r"template_norms .* does not fit its 12 templates"):
        main(["detect", "--checkpoint", str(out), str(found)])


def test_a_log_cost_detector_finds_the_word_and_running_centring_is_refused_by_detect(encoder, user_takes,
                                                                                       tmp_path, capsys):
    takes = [*map(str, user_takes["kitchen"][:3])]
    out, about = enrolled_with(encoder, takes, tmp_path, "kitchen-log", norm=True, cost="log")
    assert about["cost"] == "log" and "running" not in about
    found = finds_the_word_only(out, user_takes, tmp_path, capsys)
    # running-mean centring is a dev experiment: a folder that asks for it is refused, not mis-scored
    d = json.loads((out / "detector.json").read_text())
    d["scorer"]["running"] = 25.0
    (out / "detector.json").write_text(json.dumps(d))
    with pytest.raises(DataError, match="running-mean centring"):
        main(["detect", "--checkpoint", str(out), str(found)])


def test_pitch_and_formant_copies_keep_each_take_s_length_and_move_its_pitch():
    from tasks.trigger_word.enrol import augmented
    from tasks.trigger_word.word_match import Scoring
    from tests.tasks.audio.test_pitch import f0, semitones

    # a voice whose pitch the autocorrelation estimate follows well (the user's voice above is creaky)
    waves = [t.wave for t in espeak_takes([("kitchen", "tts:en-gb+f2", r, 50) for r in (150, 175, 200)])]
    copies = augmented(waves, Scoring("fused", pitch=(-3.0, 3.0), warps=(0.9,)))
    assert [k for k, *_ in copies] == [0, 0, 1, 1, 2, 2, 0, 1, 2]  # each take's pitch copies, then its warp
    for (k, wave, snr, alpha), shift in zip(copies, (-3.0, 3.0) * 3 + (0.0,) * 3, strict=True):
        assert len(wave) == len(waves[k]) and snr == 25.0 and alpha == 0.0  # tempo kept, the usual context
        assert abs(semitones(f0(waves[k]), f0(wave)) - shift) < 0.6
        assert not np.array_equal(wave, waves[k])
    # the speed and noise copies come first, as before, so their templates (and seeds) are unchanged
    both = augmented(waves, Scoring("fused", speeds=(0.9,), noise_db=(10.0,), pitch=(2.0,)))
    old = augmented(waves, Scoring("fused", speeds=(0.9,), noise_db=(10.0,)))
    assert len(both) == 9 and len(old) == 6
    assert all(np.array_equal(a[1], b[1]) and a[2:] == b[2:] for a, b in zip(both[:6], old, strict=True))


def test_pitch_and_formant_templates_find_the_word_and_round_trip_through_the_folder(encoder, user_takes,
                                                                                    tmp_path, capsys):
    from tasks.trigger_word.word_match import Scoring, scoring_of

    takes = [*map(str, user_takes["kitchen"][:3])]
    out, about = enrolled_with(encoder, takes, tmp_path, "kitchen-pitch", norm=True, noise_db=[10.0],
                               pitch=[-3.0, 3.0], warps=[0.9])
    # 3 takes, 3 noise copies, 6 pitch copies and 3 formant copies: a copy keeps its take's length,
    # so its template its number of steps
    steps = about["template_steps"]
    assert len(steps) == 15 and steps[3:6] == steps[:3]
    assert steps[6:12] == [n for n in steps[:3] for _ in range(2)] and steps[12:] == steps[:3]
    assert np.load(out / "templates.npy").shape == (sum(steps), 96)
    assert np.asarray(about["template_norms"]).shape == (15, 2)
    assert scoring_of(about) == Scoring("fused", 0.25, 4, True, 1, True, (), (10.0,), pitch=(-3.0, 3.0),
                                        warps=(0.9,))
    finds_the_word_only(out, user_takes, tmp_path, capsys)
    # off (the default): neither key is written, and a folder without them loads as no copies
    _, plain = enrolled_with(encoder, takes, tmp_path, "kitchen-nopitch", norm=True, noise_db=[10.0])
    assert not {"pitch", "warps", "stretches", "pitch_formants"} & set(plain)
    assert len(plain["template_steps"]) == 6 and scoring_of(plain).pitch == scoring_of(plain).warps == ()
