"""End to end: the trigger-word stages on a shrunken copy of the real params."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flows.trigger_word.__main__ import main
from tasks.io import hash_tree
from tests.conftest import write_params

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
    tw["features"].update(kind="logmel", sample_rate=16000, n_fft=400, hop=160, shard_size=5)
    return params


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory):
    import yaml

    from tests.conftest import ROOT

    tmp = tmp_path_factory.mktemp("tw")
    params_file = write_params(tmp / "params.yaml", shrink(yaml.safe_load((ROOT / "params.yaml").read_text()),
                                                           tmp / "data"))
    for stage in ("collect", "split", "synthesize", "features"):
        assert main([stage, "--params", str(params_file)]) == 0
    return tmp / "data" / "trigger_word", params_file


def test_collect_manifests(pipeline_run):
    root, _ = pipeline_run
    pos = pd.read_parquet(root / "collect" / "positives.parquet")
    neg = pd.read_parquet(root / "collect" / "negatives.parquet")
    bg = pd.read_parquet(root / "collect" / "backgrounds.parquet")
    assert len(pos) == 6 and len(neg) == 18 and len(bg) == 6
    assert set(pos.text) == {"activate"} and pos.group.nunique() == 6
    for frame in (pos, neg, bg):
        assert all((root / "collect" / p).is_file() for p in frame.path)


def test_split_shares_no_voice_or_background(pipeline_run):
    root, _ = pipeline_run
    a = pd.read_parquet(root / "split" / "assignments.parquet")
    assert (a.groupby("group").split.nunique() == 1).all()
    assert set(a.split) == {"train", "dev", "test"}


def test_clip_contract(pipeline_run):
    root, _ = pipeline_run
    out = root / "clips"
    clips = pd.read_parquet(out / "clips.parquet")
    assert clips.split.value_counts().to_dict() == {"train": 8, "dev": 4, "test": 4}
    split_of = pd.read_parquet(root / "split" / "assignments.parquet").set_index("path").split
    for row in clips.itertuples():
        assert (out / row.path).is_file() and row.sample_rate == 44100
        assert len(row.labels) == 1375 and set(row.labels) <= {0, 1}
        expected = np.zeros(1375, np.int8)
        spans = []
        for ev in row.events:
            src = (out / ev["source"]).resolve()
            assert src.is_file()
            assert split_of[str(src.relative_to((root / "collect").resolve()))] == row.split
            spans.append((ev["start"], ev["end"]))
            if ev["kind"] == "positive":
                e = ev["end"] * 1375 // row.samples
                expected[e + 1:e + 51] = 1
        spans.sort()
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))
        assert np.array_equal(np.asarray(row.labels), expected)


def test_features_shapes_and_labels(pipeline_run):
    root, _ = pipeline_run
    meta = json.loads((root / "features" / "meta.json").read_text())
    assert (meta["n_bins"], meta["n_frames"]) == (40, 998)
    x = np.load(root / "features" / "train" / "x-00000.npy")
    y = np.load(root / "features" / "train" / "y-00000.npy")
    assert x.shape == (5, 40, 998) and x.dtype == np.float16 and y.shape == (5, 1375)
    clips = pd.read_parquet(root / "clips" / "clips.parquet")
    assert np.array_equal(y[0], np.asarray(clips[clips.split == "train"].labels.iloc[0]))


def test_rerun_gives_identical_bytes(pipeline_run, tmp_path):
    root, params_file = pipeline_run
    before = {s: hash_tree(root / s) for s in ("collect", "split", "clips", "features")}
    for stage in ("collect", "synthesize", "features"):
        assert main([stage, "--params", str(params_file)]) == 0
    assert {s: hash_tree(root / s) for s in before} == before


def test_dataset_command_on_user_recordings(user_folders, tmp_path, real_params):
    params_file = write_params(tmp_path / "params.yaml", shrink(real_params, tmp_path / "data"))
    out = tmp_path / "set"
    argv = ["dataset", "--positives", str(user_folders["positives"]), "--negatives",
            str(user_folders["negatives"]), "--backgrounds", str(user_folders["backgrounds"]),
            "--out", str(out), "--clips", "10", "--seed", "5", "--params", str(params_file)]
    assert main(argv) == 0
    clips = pd.read_parquet(out / "clips.parquet")
    assert len(clips) == 10 and set(clips.split) <= {"train", "dev", "test"}
    sources = {ev["source"] for evs in clips.events for ev in evs}
    assert sources and all((out / s).is_file() for s in sources)
    assert all(s.startswith("collect/") for s in sources)
    first = hash_tree(out)
    assert main(argv) == 0
    assert hash_tree(out) == first
