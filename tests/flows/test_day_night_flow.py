"""End to end: every day/night stage and command on a shrunken copy of the real params."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from flows.day_night.__main__ import main
from models.checkpoint import load_model
from models.day_night import DayNightCNN, DayNightConfig
from models.day_night_backbone import HeadConfig, LogisticHead
from tasks.io import hash_tree
from tests.conftest import ROOT, write_params

pytestmark = pytest.mark.usefixtures("prefect_harness")

STAGES = ("collect", "validate", "split", "sweep", "train", "evaluate", "human")


def shrink(params: dict, data_dir: Path) -> dict:
    params["base"]["data_dir"] = str(data_dir)
    dn = params["day_night"]
    dn["resolutions"] = [16, 32]
    dn["generate"].update(images=60, sizes=[[320, 240], [400, 300]], shard_size=20)
    dn["collect"].update(thumb_size=32, shard_size=16)
    dn["split"]["montage"] = 8
    dn["model"]["channels"] = [4, 8]
    dn["sweep"]["epochs"] = 1
    dn["train"].update(epochs=2, batch_size=16)
    dn["human"]["per_resolution"] = 3
    return params


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dn")
    params = shrink(yaml.safe_load((ROOT / "params.yaml").read_text()), tmp / "data")
    params_file = write_params(tmp / "params.yaml", params)
    for stage in STAGES:
        assert main([stage, "--params", str(params_file)]) == 0
    return tmp / "data" / "day_night", params_file


def test_collect_and_quarantine(pipeline_run):
    root, _ = pipeline_run
    cat = pd.read_parquet(root / "collect" / "catalogue.parquet")
    assert len(cat) == 60 + 11 and cat.sha256.notna().all()
    assert sorted(cat[cat.error.notna()].rel_path) == ["day/odd-empty.jpg", "day/odd-notes.jpg",
                                                      "night/odd-truncated.jpg"]
    thumbs = np.load(root / "collect" / "thumbs.npy")
    assert thumbs.shape == (71, 32, 32, 3)
    quarantine = pd.read_csv(root / "validate" / "quarantine.csv")
    reasons = set(quarantine.reason.str.split(":").str[0])
    assert reasons == {"zero-size", "truncated", "undecodable", "tiny", "extreme aspect", "duplicate",
                       "label conflict"}
    table = pd.read_csv(root / "reports" / "resolution.csv")
    assert table.resolution.tolist() == [16, 32]
    assert (root / "reports" / "resolution.png").read_bytes()[:4] == b"\x89PNG"


def test_split_keeps_groups_and_reports_balance(pipeline_run):
    root, _ = pipeline_run
    a = pd.read_parquet(root / "split" / "assignments.parquet")
    assert (a.groupby("group").split.nunique() == 1).all()
    assert set(a.split) == {"train", "dev", "test"}
    demo = pd.read_parquet(root / "demo" / "scenes.parquet").set_index("path")
    a = a[~a.rel_path.str.contains("odd-")]
    scene = a.rel_path.map(demo.group)
    assert (a.groupby(scene).split.nunique() == 1).all()  # burst shots never straddle splits
    balance = json.loads((root / "reports" / "balance.json").read_text())
    assert balance["balance"]["choice"] == "sampler"
    assert {r["split"] for r in balance["splits"]} == {"train", "dev", "test", "all"}
    assert (root / "split" / "montage-train.png").is_file()


def check_sweep_train_evaluate(root: Path, kind: str) -> None:
    choice = json.loads((root / "reports" / "sweep.json").read_text())
    assert choice["resolution"] in (16, 32) and choice["model"] == kind
    assert choice["chosen_on"] == "check_balanced_accuracy"
    curve = pd.read_csv(root / "reports" / "sweep.csv")
    assert curve.resolution.tolist() == [16, 32] and curve.check_balanced_accuracy.between(0, 1).all()
    metrics = json.loads((root / "reports" / "metrics.json").read_text())
    assert metrics["resolution"] == choice["resolution"] and metrics["model"] == kind
    assert {"accuracy", "precision", "recall", "tp", "fp", "fn", "tn"} <= set(metrics["test"])
    confusion = pd.read_csv(root / "reports" / "confusion.csv")
    assert len(confusion) == metrics["test"]["n"] and set(confusion.predicted) <= {"day", "night"}
    arch = (LogisticHead, HeadConfig) if kind == "backbone" else (DayNightCNN, DayNightConfig)
    model, doc = load_model(root / "model", *arch)
    assert doc["labels"] == ["day", "night"] and doc["thumb_size"] == 32 and doc["model"] == kind
    assert (root / "model" / "model_card.md").is_file()
    check = json.loads((root / "reports" / "check.json").read_text())
    labels = pd.read_csv(ROOT / "assets" / "day_night" / "real-photos" / "labels.csv")
    assert check["model"] == kind and check["all"]["n"] == len(labels)
    assert check["all"]["n_night"] == (labels.label == "night").sum()
    assert set(check["per_source"]) == set(labels.source_package)
    assert sum(v["n"] for v in check["per_source"].values()) == len(labels)
    predictions = pd.read_csv(root / "reports" / "check.csv")
    right = (predictions.label == predictions.predicted).mean()
    assert abs(right - check["all"]["accuracy"]) < 1e-4


def test_sweep_train_evaluate_backbone(pipeline_run):
    root, _ = pipeline_run
    check_sweep_train_evaluate(root, "backbone")
    assert len(list((root / "features").glob("*.npz"))) == 2  # one feature cache per resolution


def test_sweep_train_evaluate_cnn(pipeline_run, tmp_path):
    root, params_file = pipeline_run
    params = yaml.safe_load(params_file.read_text())
    params["base"]["data_dir"] = str(tmp_path / "data")
    params["day_night"]["train"]["model"] = "cnn"
    cnn_params = write_params(tmp_path / "params.yaml", params)
    for part in ("collect", "validate", "split"):
        shutil.copytree(root / part, tmp_path / "data" / "day_night" / part)
    for stage in ("sweep", "train", "evaluate"):
        assert main([stage, "--params", str(cnn_params)]) == 0
    check_sweep_train_evaluate(tmp_path / "data" / "day_night", "cnn")


def test_classify_command(pipeline_run, tmp_path, capsys):
    root, params_file = pipeline_run
    bad = tmp_path / "bad.jpg"
    bad.write_text("not a picture")
    files = [str(root / "demo" / "night" / "night-000000.jpg"), str(bad),
             *sorted(str(p) for p in (root / "demo" / "day").glob("day-*.jpg"))[:2]]
    files = [f for f in files if Path(f).exists()]
    code = main(["classify", "--params", str(params_file), *files])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert code == 1 and [x["file"] for x in lines] == files
    assert lines[files.index(str(bad))]["error"].startswith("undecodable")
    good = [x for x in lines if "error" not in x]
    assert good and all(x["label"] in ("day", "night") and 0 <= x["p_night"] <= 1 for x in good)


def test_human_sheet_and_score(pipeline_run, tmp_path, capsys):
    root, params_file = pipeline_run
    page = (root / "human" / "sheet.html").read_text()
    key = json.loads((root / "human" / "key.json").read_text())
    assert len(key["items"]) == 6 and page.count('type="radio"') == 12
    assert "night/" not in page and "day/" not in page  # the page does not give the answers away
    answers = {it["id"]: (it["label"] if it["resolution"] == 32 else "day") for it in key["items"]}
    (tmp_path / "answers.json").write_text(json.dumps({"sheet": key["sheet"], "answers": answers}))
    assert main(["human-score", "--params", str(params_file), "--answers", str(tmp_path / "answers.json")]) == 0
    rows = {r["resolution"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert rows[32]["accuracy"] == 1.0 and rows[32]["answered"] == 3


def test_rerun_gives_identical_bytes(pipeline_run):
    root, params_file = pipeline_run
    before = {s: hash_tree(root / s) for s in ("demo", "collect", "validate", "split", "model", "reports")}
    for stage in ("collect", "validate", "split", "sweep", "train", "evaluate"):
        assert main([stage, "--params", str(params_file)]) == 0
    assert {s: hash_tree(root / s) for s in before} == before
