"""End to end: the trigger-word stages on a shrunken copy of the real params."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from flows.trigger_word.__main__ import main
from tasks.audio.shards import parse_ref
from tasks.io import hash_tree
from tasks.trigger_word.clipset import read_clip
from tasks.trigger_word.collect import read_word
from tests.conftest import ROOT, write_params

pytestmark = pytest.mark.usefixtures("prefect_harness")


def shrink(params: dict, data_dir: Path) -> dict:
    params["base"]["data_dir"] = str(data_dir)
    tw = params["trigger_word"]
    tts = tw["collect"]["tts"]
    tts.update(voices=6, rates=[175], pitches=[50], voices_per_shard=3)
    tw["collect"]["negative_words"] = ["active", "motivate", "kitchen"]
    tw["collect"]["generated_backgrounds"].update(count=6, seconds=11.0)
    tw["collect"]["min_positives"] = 3
    tw["synthesize"].update(clips={"train": 8, "dev": 4, "test": 4}, shard_size=3)
    tw["synthesize"]["augment"].update(speed=[0.9, 1.1], eq_db=6.0, reverb_prob=0.5)
    tw["features"].update(shard_size=5)  # the default speech_embedding: 96 x 125 frames, Ty 125
    tw["train"].update(epochs=2, batch_size=4, negative_weight=3.0)  # the confusable-weighted loss path
    tw["train"]["model"].update(conv_filters=16, gru_units=12)
    tw["evaluate"].update(negative_minutes=1.0, session_minutes=0.5, mine_minutes=0.5)
    # The cross-engine check on real Kokoro takes and real recorded speech, kept small.
    tw["collect"]["cross_engine"].update(dev_voices=["jf_alpha"], test_voices=["jm_kumo"], speeds=[1.0],
                                         negative_words=1, real_speech_files=3)
    tw["evaluate"]["cross_engine"].update(clips=3, negative_minutes=0.5)
    # Real speech (2 recordings per folder) and one real music background (fillets-ng's 25 s jingle).
    real = tw["collect"]["real_audio"]
    real.update(enabled=True, speech_files_per_dir=2, babble_share=0.0)
    real["backgrounds"] = [dict(real["backgrounds"][0], pattern="kufrik.ogg")]
    tw["synthesize"]["augment"]["rir"] = "both"
    return params


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory):

    from tests.conftest import ROOT

    tmp = tmp_path_factory.mktemp("tw")
    params_file = write_params(tmp / "params.yaml", shrink(yaml.safe_load((ROOT / "params.yaml").read_text()),
                                                           tmp / "data"))
    for stage in ("collect", "split", "synthesize", "features", "train", "evaluate"):
        assert main([stage, "--params", str(params_file)]) == 0
    return tmp / "data" / "trigger_word", params_file


def params_real_audio(params_file: Path) -> dict:
    return yaml.safe_load(Path(params_file).read_text())["trigger_word"]["collect"]["real_audio"]


def test_collect_manifests(pipeline_run):
    root, params_file = pipeline_run
    pos = pd.read_parquet(root / "collect" / "positives.parquet")
    neg = pd.read_parquet(root / "collect" / "negatives.parquet")
    bg = pd.read_parquet(root / "collect" / "backgrounds.parquet")
    tts, real = neg[neg.source == "tts"], neg[neg.source == "real-speech"]
    assert len(pos) == 6 and len(tts) == 18 and len(bg[bg.source == "generated"]) == 6
    folders = [f for f in params_real_audio(params_file)["speech"] if Path(f["dir"]).is_dir()]
    assert len(real) == 2 * len(folders) and real.group.nunique() == len(real)  # split by file
    assert set(real.licence) <= {"CC-BY-SA-3.0", "GPL-2"} and not real.text.notna().any()
    recorded = bg[bg.source == "recording"]
    if Path(params_real_audio(params_file)["backgrounds"][0]["dir"]).is_dir():
        assert len(recorded) == 1 and recorded.licence.iloc[0] == "GPL-2"
    assert set(pos.text) == {"activate"} and pos.group.nunique() == 6
    for frame in (pos, neg, bg):
        assert all(len(read_word(root / "collect", r)) == r.samples for r in frame.itertuples())
    # words in one shard per TTS task and kind (2 tasks of 3 voices), backgrounds one file each
    assert len(list((root / "collect").glob("positives/*.wav"))) == 2 and set(pos.path.str.count("#")) == {1}
    assert len(list((root / "collect").glob("backgrounds/*.wav"))) == len(bg)


def in_collect(root: Path, clips_dir: Path, source: str) -> str:
    """A clip event's source as the collect manifests name it (relative to the collect folder)."""
    file = parse_ref(source)[0]
    rel = (clips_dir / file).resolve().relative_to((root / "collect").resolve()).as_posix()
    return rel + source[len(file):]


def test_split_shares_no_voice_or_background(pipeline_run):
    root, _ = pipeline_run
    a = pd.read_parquet(root / "split" / "assignments.parquet")
    assert (a.groupby("group").split.nunique() == 1).all()
    assert set(a.split) == {"train", "dev", "test"}


def test_clip_contract(pipeline_run):
    root, params_file = pipeline_run
    out = root / "clips"
    clips = pd.read_parquet(out / "clips.parquet")
    assert clips.split.value_counts().to_dict() == {"train": 8, "dev": 4, "test": 4}
    split_of = pd.read_parquet(root / "split" / "assignments.parquet").set_index("path").split
    synth = yaml.safe_load(params_file.read_text())["trigger_word"]["synthesize"]
    ty, ones = synth["ty"], synth["label_ones"]
    assert len(list(out.rglob("*.wav"))) == 3 + 2 + 2  # one shard of 3 clips each (shard_size 3)
    for row in clips.itertuples():
        assert len(read_clip(out, row)) == row.samples and row.sample_rate == 16000
        assert len(row.labels) == ty and set(row.labels) <= {0, 1}
        expected = np.zeros(ty, np.int8)
        spans = []
        for ev in row.events:
            assert split_of[in_collect(root, out, ev["source"])] == row.split
            spans.append((ev["start"], ev["end"]))
            if ev["kind"] == "positive":
                e = ev["end"] * ty // row.samples
                expected[e + 1:e + 1 + ones] = 1
        spans.sort()
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))
        assert np.array_equal(np.asarray(row.labels), expected)


def test_features_shapes_and_labels(pipeline_run):
    root, _ = pipeline_run
    meta = json.loads((root / "features" / "meta.json").read_text())
    assert (meta["kind"], meta["n_bins"], meta["n_frames"]) == ("speech_embedding", 96, 125)
    assert meta["frontend"]["version"] == "0.1.1"
    x = np.load(root / "features" / "train" / "x-00000.npy")
    y = np.load(root / "features" / "train" / "y-00000.npy")
    assert x.shape == (5, 96, 125) and x.dtype == np.float16 and y.shape == (5, 125)
    assert np.isfinite(x).all() and x.astype(np.float32).std() > 0.1
    clips = pd.read_parquet(root / "clips" / "clips.parquet")
    assert np.array_equal(y[0], np.asarray(clips[clips.split == "train"].labels.iloc[0]))


def test_rerun_gives_identical_bytes(pipeline_run, tmp_path):
    root, params_file = pipeline_run
    before = {s: hash_tree(root / s) for s in ("collect", "split", "clips", "features")}
    for stage in ("collect", "synthesize", "features"):
        assert main([stage, "--params", str(params_file)]) == 0
    assert {s: hash_tree(root / s) for s in before} == before


def test_dataset_command_on_user_recordings(user_folders, tmp_path, real_params):
    import soundfile as sf

    params_file = write_params(tmp_path / "params.yaml", shrink(real_params, tmp_path / "data"))
    out = tmp_path / "set"
    argv = ["dataset", "--positives", str(user_folders["positives"]), "--negatives",
            str(user_folders["negatives"]), "--backgrounds", str(user_folders["backgrounds"]),
            "--out", str(out), "--clips", "10", "--seed", "5", "--params", str(params_file)]
    assert main(argv) == 0
    clips = pd.read_parquet(out / "clips.parquet")
    assert len(clips) == 10 and set(clips.split) <= {"train", "dev", "test"}
    # the user's clips are one WAV each, which any tool opens (the words behind them sit in shards)
    assert all(sf.info(str(out / p)).frames == n for p, n in zip(clips.path, clips.samples, strict=True))
    sources = {ev["source"] for evs in clips.events for ev in evs}
    assert sources and all((out / parse_ref(s)[0]).is_file() for s in sources)
    assert all(s.startswith("collect/") for s in sources)
    # export reads a dataset folder too: a word from its collect shards, a clip from its own WAV
    word = pd.read_parquet(out / "collect" / "positives.parquet").iloc[0]
    for flag, ident, n in (("--word", word.word_id, word.samples), ("--clip", clips.clip_id.iloc[0], clips.samples.iloc[0])):
        assert main(["export", "--params", str(params_file), "--from", str(out), flag, ident,
                     "--out", str(tmp_path / "x.wav")]) == 0
        assert sf.info(str(tmp_path / "x.wav")).frames == n
    first = hash_tree(out)
    assert main(argv) == 0
    assert hash_tree(out) == first


def test_train_writes_checkpoint_metrics_and_history(pipeline_run):
    from models.checkpoint import load_model
    from models.trigger_word import TriggerWordConfig, TriggerWordModel

    root, _ = pipeline_run
    model, doc = load_model(root / "train" / "checkpoint", TriggerWordModel, TriggerWordConfig)
    assert doc["features"]["ty"] == 125 and len(doc["data_sha256"]) == 64
    history = pd.read_csv(root / "reports" / "train_history.csv")
    assert list(history.epoch) == [1, 2] and np.isfinite(history.train_loss).all()
    metrics = json.loads((root / "reports" / "train_metrics.json").read_text())
    assert metrics["best_epoch"] in (1, 2)


def test_train_resumes_from_saved_state(pipeline_run, tmp_path):
    """A finished run's state says all epochs are done: a rerun trains nothing and writes the same model."""
    root, params_file = pipeline_run
    weights = (root / "train" / "checkpoint" / "model.safetensors").read_bytes()
    assert main(["train", "--params", str(params_file)]) == 0
    assert (root / "train" / "checkpoint" / "model.safetensors").read_bytes() == weights


def test_evaluate_ships_model_with_threshold_and_reports(pipeline_run):
    root, _ = pipeline_run
    shipped = json.loads((root / "model" / "config.json").read_text())
    metrics = json.loads((root / "reports" / "eval_metrics.json").read_text())
    assert shipped["threshold"] == metrics["threshold"] and 0 < metrics["threshold"] < 1
    assert metrics["test_negative_hours"] == pytest.approx(1 / 60, rel=0.01)
    assert (root / "model" / "model_card.md").read_text().startswith("# ")
    det = pd.read_csv(root / "reports" / "det_test.csv")
    assert det.threshold.is_monotonic_increasing
    assert det.false_reject_rate.between(0, 1).all() and (det.false_accepts_per_hour >= 0).all()
    at = det[det.threshold == metrics["threshold"]].iloc[0]
    assert at.false_reject_rate == pytest.approx(metrics["test_false_reject_rate"], abs=1e-6)
    assert at.false_accepts_per_hour == pytest.approx(metrics["test_false_accepts_per_hour"], rel=1e-5)
    # Misses by word level add up to the split's figures at the threshold (dev and test: 5-25 dB).
    for split in ("dev", "test"):
        bands = metrics[f"{split}_misses_by_level_db"]
        n, k = sum(b["positives"] for b in bands.values()), sum(b["misses"] for b in bands.values())
        assert set(bands) <= {"5-10", "10-15", "15-25"}
        assert k / max(n, 1) == pytest.approx(metrics[f"{split}_false_reject_rate"], abs=1e-9)
    assert n == metrics["test_positives"]
    assert "Misses by word level" in (root / "model" / "model_card.md").read_text()
    fa = pd.read_parquet(root / "eval" / "false_accepts.parquet")
    assert list(fa.columns) == ["split", "file", "time_s", "score"]
    assert all((root / "eval" / parse_ref(f)[0]).is_file() for f in fa.file)  # a session, or a clip in a shard


def retrained(pipeline_run, tmp_path: Path, model: dict, **train) -> tuple[Path, Path]:
    """The pipeline's collect, split, clips and features copied under ``tmp_path``, then train and
    evaluate run again with ``trigger_word.train.model`` and ``trigger_word.train`` changed;
    returns the new params file and the new ``trigger_word`` data folder."""
    import shutil

    root, params_file = pipeline_run
    params = yaml.safe_load(params_file.read_text())
    params["base"]["data_dir"] = str(tmp_path / "data")
    params["trigger_word"]["train"]["model"].update(model)
    params["trigger_word"]["train"].update(train)
    new_params = write_params(tmp_path / "params.yaml", params)
    data = tmp_path / "data" / "trigger_word"
    for stage in ("collect", "split", "clips", "features"):
        shutil.copytree(root / stage, data / stage)
    for stage in ("train", "evaluate"):
        assert main([stage, "--params", str(new_params)]) == 0
    return new_params, data


def streams_like_stored(clip: Path, scorer, model, doc: dict, params_file: Path, data: Path, capsys) -> None:
    """The first train clip, exported as ``clip`` and streamed through ``scorer``, scores as its
    stored features do; `detect` with the shipped model runs on it."""
    from tasks.trigger_word.features import FeatureShards
    from tasks.trigger_word.inference import score_file
    from tasks.trigger_word.train import score_split

    _, streamed = score_file(clip, scorer, doc["clip_seconds"])
    stored, _ = score_split(model, FeatureShards(data / "features", "train"), scorer.norm)
    assert streamed.shape == stored[0].shape == (125,)
    np.testing.assert_allclose(streamed, stored[0], atol=2e-2)  # features stored as float16
    capsys.readouterr()
    assert main(["detect", "--params", str(params_file), "--checkpoint", str(data / "model"), str(clip)]) == 0
    assert isinstance(json.loads(capsys.readouterr().out)["detections"], list)


def export_clip(params_file: Path, clips_dir: Path, out: Path, index: int = 0) -> Path:
    """Clip ``index`` of the manifest written out by the `export` command; checks it reads back equal."""
    import soundfile as sf

    row = pd.read_parquet(clips_dir / "clips.parquet").iloc[index]
    assert main(["export", "--params", str(params_file), "--clip", row.clip_id, "--out", str(out)]) == 0
    x, rate = sf.read(out, dtype="float32")
    assert rate == row.sample_rate and np.array_equal(x, read_clip(clips_dir, row))
    return out


def test_export_writes_clips_and_words_that_read_back_equal(pipeline_run, tmp_path, capsys):
    import soundfile as sf

    root, params_file = pipeline_run
    export_clip(params_file, root / "clips", tmp_path / "clip.wav", index=5)
    word = pd.read_parquet(root / "collect" / "negatives.parquet").iloc[4]
    assert main(["export", "--params", str(params_file), "--word", word.word_id, "--out",
                 str(tmp_path / "w" / "word.wav")]) == 0
    x, rate = sf.read(tmp_path / "w" / "word.wav", dtype="float32")
    assert rate == 16000 and np.array_equal(x, read_word(root / "collect", word)) and len(x) == word.samples
    assert capsys.readouterr().out.split() == [str(tmp_path / "clip.wav"), str(tmp_path / "w" / "word.wav")]
    with pytest.raises(FileNotFoundError, match="no clip 'train-9999999'"):
        main(["export", "--params", str(params_file), "--clip", "train-9999999", "--out", str(tmp_path / "x.wav")])


def test_detect_command_reports_bad_files_and_goes_on(pipeline_run, tmp_path, capsys):
    root, params_file = pipeline_run
    good = export_clip(params_file, root / "clips", tmp_path / "clip-0.wav")
    capsys.readouterr()  # export's own output
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF not really audio")
    missing = tmp_path / "missing.flac"
    assert main(["detect", "--params", str(params_file), "--threshold", "0.5", "--chime-dir",
                 str(tmp_path / "chimes"), str(bad), str(good), str(missing)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["file"] for line in lines] == [str(bad), str(good), str(missing)]
    assert "error" in lines[0] and "error" in lines[2]
    assert isinstance(lines[1]["detections"], list)
    assert (tmp_path / "chimes" / f"{good.stem}.chimed.wav").is_file()


def test_evaluate_mines_false_accepts_on_train_audio_only(pipeline_run):
    root, _ = pipeline_run
    mined = pd.read_parquet(root / "eval" / "hard_negatives" / "hard_negatives.parquet")
    assert set(mined.session.str.split("-").str[0]) <= {"train"}
    metrics = json.loads((root / "reports" / "eval_metrics.json").read_text())
    assert metrics["mined_false_accepts"] == len(mined)
    assert all((root / "eval" / "hard_negatives" / f).is_file() for f in mined.file)
    assert not (root / "eval" / "mining_audio").exists()


def synthesize_again(pipeline_run, tmp_path: Path, **synthesize) -> tuple[Path, dict]:
    """Synthesize the pipeline's collect and split outputs again, in ``tmp_path``, with some
    synthesize params changed; returns the new data folder and the params used."""
    import shutil

    root, params_file = pipeline_run
    data = tmp_path / "data" / "trigger_word"
    for stage in ("collect", "split"):
        shutil.copytree(root / stage, data / stage)
    params = yaml.safe_load(params_file.read_text())
    params["base"]["data_dir"] = str(tmp_path / "data")
    params["trigger_word"]["synthesize"].update(synthesize)
    assert main(["synthesize", "--params", str(write_params(tmp_path / "p.yaml", params))]) == 0
    return data, params


def test_hard_negatives_feed_the_train_split_only(pipeline_run, tmp_path):
    """A round of hard negatives (here cut from collected negatives) is drawn by train clips only."""
    import soundfile as sf

    root, _ = pipeline_run
    neg = pd.read_parquet(root / "collect" / "negatives.parquet")
    round_dir = tmp_path / "hard" / "round-001"
    round_dir.mkdir(parents=True)
    for i, row in enumerate(neg.iloc[:3].itertuples()):
        sf.write(round_dir / f"fa-{i}.wav", read_word(root / "collect", row), row.sample_rate)
    (round_dir / "broken.wav").write_bytes(b"not audio")  # set aside, not fatal
    data, _ = synthesize_again(pipeline_run, tmp_path, hard_negatives_dir=str(round_dir), negatives=[2, 2],
                               clips={"train": 6, "dev": 3, "test": 3})
    clips = pd.read_parquet(data / "clips" / "clips.parquet")
    hard = {s: sum("round-001" in ev["source"] for evs in part.events for ev in evs)
            for s, part in clips.groupby("split")}
    assert hard["train"] > 0 and hard["dev"] == 0 and hard["test"] == 0
    for evs in clips.events:
        for ev in evs:
            assert (data / "clips" / parse_ref(ev["source"])[0]).resolve().is_file()


def test_train_word_levels_apply_to_train_clips_only(pipeline_run, tmp_path):
    """``train_word_to_background_db`` sets the train words' SNR; dev and test clips stay as they were."""
    root, _ = pipeline_run
    data, params = synthesize_again(pipeline_run, tmp_path,
                                    train_word_to_background_db=[-12.0, -8.0])  # below the shared range
    clips = pd.read_parquet(data / "clips" / "clips.parquet")
    before = pd.read_parquet(root / "clips" / "clips.parquet")

    levels = {}
    for kind in ("positives", "negatives", "backgrounds"):
        m = pd.read_parquet(data / "collect" / f"{kind}.parquet")
        levels.update({f"../collect/{p}": db for p, db in zip(m.path, m.rms_db, strict=True)})
    lo, hi = params["trigger_word"]["synthesize"]["word_to_background_db"]
    for row in clips.itertuples():
        background_db = row.background_gain_db + levels[row.background]
        snrs = [ev["gain_db"] + levels[ev["source"]] - background_db for ev in row.events]
        assert snrs
        if row.split == "train":
            assert all(-12.0 - 1e-3 <= s <= -8.0 + 1e-3 for s in snrs), (row.clip_id, snrs)
        else:
            assert all(lo - 1e-3 <= s <= hi + 1e-3 for s in snrs), (row.clip_id, snrs)
    held_out = clips[clips.split != "train"].drop(columns="events").reset_index(drop=True)
    pd.testing.assert_frame_equal(held_out, before[before.split != "train"].drop(columns="events")
                                  .reset_index(drop=True))
    assert (clips[clips.split != "train"].events.map(list).tolist()
            == before[before.split != "train"].events.map(list).tolist())
    for split in ("dev", "test"):
        for row in clips[clips.split == split].itertuples():
            assert np.array_equal(read_clip(data / "clips", row), read_clip(root / "clips", row))
        for shard in (root / "clips" / split).glob("*.wav"):
            assert (data / "clips" / split / shard.name).read_bytes() == shard.read_bytes()


def test_feedback_copies_mined_windows_into_numbered_rounds(tmp_path):
    import soundfile as sf

    from tasks.trigger_word.hard_negatives import feedback

    mined = tmp_path / "mined"
    mined.mkdir()
    for i in range(2):
        sf.write(mined / f"train-session-000-{i:04d}.wav", np.full(8000, 0.1 * (i + 1), np.float32), 16000)
    first, n = feedback(mined, tmp_path / "rounds")
    second, _ = feedback(mined, tmp_path / "rounds")
    assert (first.name, second.name, n) == ("round-001", "round-002", 2)
    assert sorted(p.name for p in second.glob("*.wav")) == sorted(p.name for p in mined.glob("*.wav"))


def test_killed_training_resumes_and_ends_where_an_uninterrupted_run_does(pipeline_run, tmp_path):
    import os
    import shutil
    import signal
    import subprocess
    import sys
    import time

    root, params_file = pipeline_run
    params = yaml.safe_load(params_file.read_text())
    # the cosine schedule's position and the weights' moving average (what is kept) must be
    # restored too, or the resumed run's steps and checkpoint differ
    params["trigger_word"]["train"].update(epochs=8, lr_schedule="cosine", warmup_epochs=1.0, ema_epochs=1.0)
    runs = {}
    for name in ("killed", "straight"):
        data = tmp_path / name
        for stage in ("clips", "features"):
            shutil.copytree(root / stage, data / "trigger_word" / stage)
        params["base"]["data_dir"] = str(data)
        runs[name] = (data / "trigger_word", write_params(tmp_path / f"{name}.yaml", params))

    tw, file = runs["killed"]
    cmd = [sys.executable, "-m", "flows.trigger_word", "train", "--params", str(file)]
    from prefect.settings import get_current_settings

    env = {**os.environ, "PREFECT_API_URL": str(get_current_settings().api.url)}  # the harness's server
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    state = tw / "train_state" / "state.safetensors"
    deadline = time.monotonic() + 240
    while not state.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # mid-run: after the first saved epoch
    proc.wait()
    assert state.exists() and not (tw / "train" / "checkpoint").exists()
    from models.state import load_state

    done = len(load_state(state)["history"])
    assert 1 <= done < 8
    assert main(["train", "--params", str(file)]) == 0
    history = pd.read_csv(tw / "reports" / "train_history.csv")
    assert list(history.epoch) == list(range(1, 9))
    assert history.lr.is_monotonic_decreasing and history.lr.iloc[-1] < 1e-6  # cosine to 0, across the kill

    straight_tw, straight_file = runs["straight"]
    assert main(["train", "--params", str(straight_file)]) == 0
    resumed = (tw / "train" / "checkpoint" / "model.safetensors").read_bytes()
    assert resumed == (straight_tw / "train" / "checkpoint" / "model.safetensors").read_bytes()


def test_cross_engine_check_reports_intervals(pipeline_run):
    root, params_file = pipeline_run
    words = pd.read_parquet(root / "collect" / "cross_engine" / "words.parquet")
    kokoro = words[words.source == "kokoro"]
    assert set(kokoro[kokoro.check_split == "dev"].group) == {"kokoro:jf_alpha"}
    assert set(kokoro[kokoro.check_split == "test"].group) == {"kokoro:jm_kumo"}
    assert set(kokoro[kokoro.kind == "positive"].text) == {"activate"}
    assert all(len(read_word(root / "collect", r)) == r.samples for r in words.itertuples())
    # Never in training: no cross-engine word is in the split assignments or in any clip.
    assigned = set(pd.read_parquet(root / "split" / "assignments.parquet").path)
    assert not assigned & set(words.path)
    clips = pd.read_parquet(root / "clips" / "clips.parquet")
    used = {in_collect(root, root / "clips", ev["source"]) for evs in clips.events for ev in evs}
    assert used and not used & set(words.path)
    speech = words[words.source == "real-speech"]
    for split, folder in (("dev", "fr_CA_f_June"), ("test", "ru_RU_f_IvrvoiceRU")):
        if Path("/usr/share/asterisk/sounds", folder).is_dir():  # installed by scripts/setup.sh as root
            part = speech[speech.check_split == split]
            assert len(part) == 3 and part.origin.str.contains(folder).all()
    m = json.loads((root / "reports" / "eval_metrics.json").read_text())
    for split in ("dev", "test"):
        p = f"cross_engine_{split}"
        lo, hi = m[f"{p}_false_reject_rate_ci95"]
        assert lo <= m[f"{p}_false_reject_rate"] <= hi and hi > lo
        lo, hi = m[f"{p}_false_accepts_per_hour_ci95"]
        assert lo <= m[f"{p}_false_accepts_per_hour"] <= hi and hi > 0
        assert m[f"{p}_positives"] >= 3 and m[f"{p}_negative_hours"] == pytest.approx(0.5 / 60, rel=0.01)
        bands = m[f"{p}_misses_by_level_db"]  # the check's words are 0-15 dB over the background
        assert set(bands) <= {"0-5", "5-10", "10-15"}
        assert sum(b["positives"] for b in bands.values()) == m[f"{p}_positives"]
        assert sum(b["misses"] for b in bands.values()) == m[f"{p}_misses"]
        det = pd.read_csv(root / "reports" / f"det_cross_engine_{split}.csv")
        at = det[det.threshold == m["threshold"]].iloc[0]
        assert at.false_reject_rate == pytest.approx(m[f"{p}_false_reject_rate"], abs=1e-6)
    assert "Cross-engine check" in (root / "model" / "model_card.md").read_text()


def test_checkpoint_of_another_frontend_version_is_refused(pipeline_run, tmp_path):
    import shutil

    from tasks.audio.speech_embedding import FrontendError

    root, params_file = pipeline_run
    clip = export_clip(params_file, root / "clips", tmp_path / "clip-0.wav")
    other = tmp_path / "other-model"
    shutil.copytree(root / "model", other)
    config = json.loads((other / "config.json").read_text())
    config["features"]["frontend"]["version"] = "0.0.9"
    (other / "config.json").write_text(json.dumps(config))
    with pytest.raises(FrontendError, match=r"other-model: trained with speech frontend .*@0\.0\.9.*runs .*@0\.1\.1"):
        main(["detect", "--params", str(params_file), "--checkpoint", str(other), str(clip)])


@pytest.fixture(scope="module")
def logmel_run(pipeline_run, tmp_path_factory):
    """The data stages again with the from-scratch log-mel preset (params-logmel.yaml's overrides)."""
    import shutil

    from flows.presets import PRESETS, apply

    root, params_file = pipeline_run
    tmp = tmp_path_factory.mktemp("tw-logmel")
    params = apply(yaml.safe_load(params_file.read_text()), PRESETS["params-logmel.yaml"][1])
    params["base"]["data_dir"] = str(tmp / "data")
    params["trigger_word"]["evaluate"]["cross_engine"]["clips"] = 0
    new_params = write_params(tmp / "params.yaml", params)
    for stage in ("collect", "split"):
        shutil.copytree(root / stage, tmp / "data" / "trigger_word" / stage)
    for stage in ("synthesize", "features", "train", "evaluate"):
        assert main([stage, "--params", str(new_params)]) == 0
    return tmp / "data" / "trigger_word", new_params


def test_logmel_preset_features_train_and_detect(logmel_run, tmp_path, capsys):
    root, params_file = logmel_run
    meta = json.loads((root / "features" / "meta.json").read_text())
    assert (meta["kind"], meta["n_bins"], meta["n_frames"], meta["frontend"]) == ("logmel", 40, 499, None)
    y = np.load(root / "features" / "train" / "y-00000.npy")
    assert y.shape == (5, 122)
    m = json.loads((root / "reports" / "eval_metrics.json").read_text())
    assert 0 < m["threshold"] < 1 and "cross_engine_test_false_reject_rate" not in m
    clip = export_clip(params_file, root / "clips", tmp_path / "clip-0.wav")
    capsys.readouterr()  # export's own output
    assert main(["detect", "--params", str(params_file), str(clip)]) == 0
    assert isinstance(json.loads(capsys.readouterr().out)["detections"], list)


def test_word_encoder_stage_trains_an_encoder_enrol_word_can_use(pipeline_run, tmp_path):
    root, params_file = pipeline_run
    params = yaml.safe_load(params_file.read_text())
    params["trigger_word"]["word_encoder"].update(vocabulary=4, vocabulary_voices=2, lexicon_words=3,
                                                  lexicon_voices=2, epochs=2, eval_voices=2,
                                                  bank_windows=100, negative_minutes=0.5, dev_words=["lighthouse"],
                                                  test_words=["saxophone"], pico_lexicon_voices=2,
                                                  pico_vocabulary_voices=1, cut_fraction=0.2,
                                                  kokoro_speeds=[0.9, 1.0, 1.1, 1.2])
    small = write_params(tmp_path / "params.yaml", params)
    assert main(["word_encoder", "--params", str(small)]) == 0
    metrics = json.loads((root / "reports" / "word_encoder_metrics.json").read_text())
    assert {"lambda", "dev_missed_rate", "dev_false_accepts_per_hour_ci95", "test_missed_rate"} <= set(metrics)
    assert metrics["train_words"] == 3 + 4 + 3  # the collected negatives, the vocabulary, the lexicon words
    # SVOX Pico: 4 vocabulary words x 1 variant and 3 lexicon words x 2, beside the espeak-ng takes
    assert metrics["train_takes_pico"] == 4 * 1 + 3 * 2 < metrics["train_takes"]
    # each split's Kokoro voice (never trained on) says its word at 4 speeds: one detector, 3 takes
    # enrolled, the fourth to find (its collected "activate" is said once only: no detector)
    assert metrics["dev_kokoro_positives"] == 1 and metrics["test_kokoro_positives"] == 1
    doc = json.loads((root / "word_encoder" / "config.json").read_text())
    assert "activate" in doc["held_out_words"] and "activate" not in doc["train_words"]
    assert {"about", "people", "hundred"} <= set(doc["train_words"])  # the lexicon's most common words
    history = pd.read_csv(root / "reports" / "word_encoder_history.csv")
    assert list(history.epoch) == [1, 2] and history.dev_loss.notna().all()
    from tasks.trigger_word.word_encoder import load_encoder

    model, _, bank = load_encoder(root / "word_encoder")
    assert bank.shape == (100, model.config.dim)
    assert np.allclose(np.linalg.norm(bank, axis=1), 1.0, atol=1e-4)
    # the query-by-example scorers: a rule set on dev for each, the default one also seen on test
    from tasks.trigger_word.word_encoder import load_step_bank

    assert load_step_bank(root / "word_encoder").shape[1] == 96
    rule = doc["threshold_rule"]
    assert rule["scorer"] == metrics["scorer"] == "fused" and set(rule["scorers"]) == {"match", "fused"}
    # each take also 10% slower and faster and 10 dB deeper in noise, templates normalised over the bank
    assert rule["scorers"]["fused"] == {"lambda": metrics["fused_lambda"], "weight": 0.25, "extra": 4,
                                        "centred": True, "top": 1, "norm": True, "speeds": [0.9, 1.1],
                                        "noise_db": [10.0], "noise_alpha": 0.0}
    assert {"match_dev_missed_rate", "fused_dev_missed_rate", "fused_dev_false_accepts_per_hour_ci95",
            "fused_test_missed_rate"} <= set(metrics) and "match_test_missed_rate" not in metrics
    curves = pd.read_csv(root / "reports" / "word_encoder_dev_curve.csv")
    assert set(curves.scorer) == {"encoder", "match", "fused"}


def test_window_head_trains_evaluates_and_detects(pipeline_run, tmp_path, capsys):
    """`train.model.head: window` on the pipeline's own features: train and evaluate ship it, and
    `detect` streams a clip through it to the scores of the clip's stored features."""
    from models.trigger_word_heads import load_head
    from models.trigger_word_window import WindowHead
    from tasks.trigger_word.inference import Scorer
    from tasks.trigger_word.modeling import feature_spec, normaliser

    new_params, data = retrained(pipeline_run, tmp_path, dict(head="window", window=8, window_units=16),
                                 epochs=2, label_smoothing=0.05, mixup_alpha=0.2, focal_gamma=1.0)
    model, doc = load_head(data / "model")
    assert isinstance(model, WindowHead) and doc["architecture"] == "WindowHead"
    assert doc["model_config"]["window"] == 8 and doc["features"]["ty"] == 125
    m = json.loads((data / "reports" / "eval_metrics.json").read_text())
    assert 0 < m["threshold"] < 1 and "cross_engine_dev_false_reject_rate" in m
    assert "window head" in (data / "model" / "model_card.md").read_text()

    clip = export_clip(new_params, data / "clips", tmp_path / "clip-0.wav")
    meta = {**doc["features"], **doc["normaliser"]}
    scorer = Scorer(model, feature_spec(meta), normaliser(meta))
    streams_like_stored(clip, scorer, model, doc, new_params, data, capsys)


def test_stream_normalisation_trains_evaluates_and_detects_and_is_off_by_default(pipeline_run, tmp_path, capsys):
    """`train.model.stream_norm` on the pipeline's own features: the shipped model records it, its
    normaliser applies it, and `detect` streams a clip to the scores of the clip's stored features
    (one code path in train, evaluate and detect); the default run's checkpoint has no entry for
    it and loads as before."""
    from models.trigger_word_heads import load_head
    from tasks.trigger_word.inference import Scorer
    from tasks.trigger_word.modeling import feature_spec, normaliser
    from tasks.trigger_word.stream_norm import StreamNorm

    _, default_doc = load_head(pipeline_run[0] / "model")
    assert "stream" not in default_doc["normaliser"]
    assert normaliser({**default_doc["features"], **default_doc["normaliser"]}).stream is None

    new_params, data = retrained(pipeline_run, tmp_path, dict(stream_norm="mean_std", stream_norm_s=2.0))
    model, doc = load_head(data / "model")
    assert doc["normaliser"]["stream"] == {"kind": "mean_std", "decay": pytest.approx(np.exp(-0.08 / 2.0))}
    meta = {**doc["features"], **doc["normaliser"]}
    scorer = Scorer(model, feature_spec(meta), normaliser(meta))
    assert scorer.norm.stream == StreamNorm("mean_std", np.exp(-0.08 / 2.0))

    clip = export_clip(new_params, data / "clips", tmp_path / "clip-0.wav")
    streams_like_stored(clip, scorer, model, doc, new_params, data, capsys)
