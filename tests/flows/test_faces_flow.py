"""End to end: the faces stages and commands on a shrunken copy of the real params."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from flows.faces.__main__ import main
from tasks.faces import db as D
from tests.conftest import ROOT, write_params

pytestmark = pytest.mark.usefixtures("prefect_harness")


def shrink(params: dict, data_dir: Path) -> dict:
    params["base"]["data_dir"] = str(data_dir)
    f = params["faces"]
    f["collect"]["demo"].update(people=36, photos_per_person=5, no_face_photos=2, group_photos=2, new_people=2,
                                new_photos_per_person=3, unlabelled_people=3, unlabelled_photos_per_person=4)
    f["train"].update(steps=120, people_per_batch=8, photos_per_person=3, log_every=60, warmup_steps=10)
    f["database"]["target_far"] = 0.05
    f["cluster"].update(k_max=6, n_init=2)
    return params


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("faces")
    params = shrink(yaml.safe_load((ROOT / "params.yaml").read_text()), tmp / "data")
    params_file = write_params(tmp / "params.yaml", params)
    for stage in ("collect", "detect", "split", "train", "database", "evaluate"):
        assert main([stage, "--params", str(params_file)]) == 0
    return tmp / "data" / "faces", params_file


def test_quarantine_holds_no_face_and_multi_face_photos(run):
    root, _ = run
    q = pd.read_parquet(root / "detect" / "quarantine.parquet")
    noface = q[q.photo_id.str.contains("noface")]
    assert len(noface) == 2 and set(noface.status) == {"quarantined"}
    group = q[q.photo_id.str.contains("group")]
    assert (group.status == "flagged").any()  # several faces: the largest kept, the row flagged
    faces = pd.read_parquet(root / "detect" / "faces.parquet")
    assert len(faces) == np.load(root / "detect" / "crops.npy").shape[0]


def test_split_is_identity_disjoint(run):
    root, _ = run
    people = pd.read_parquet(root / "split" / "people.parquet")
    assert people.person.is_unique and set(people.split) == {"train", "dev", "test"}


def test_verification_beats_pixel_distance_on_held_out_people(run):
    root, _ = run
    m = json.loads((root / "evaluate" / "metrics.json").read_text())
    assert m["encoder_verification"]["auc"] > m["pixels_verification"]["auc"]
    assert m["encoder_verification"]["auc"] > 0.8
    assert (root / "evaluate" / "embedding_map.png").stat().st_size > 1000


def test_enrol_then_identify_without_retraining(run, capsys):
    root, params_file = run
    before = (root / "train" / "encoder" / "model.safetensors").read_bytes()
    new = root / "collect" / "demo" / "new_people"
    old_people = set(D.load(root / "db").persons)
    assert main(["enrol", str(new), "--params", str(params_file)]) == 0
    summary = json.loads(capsys.readouterr().out)
    added = set(D.load(root / "db").persons) - old_people
    assert added == set(summary["people"]) and added <= {"person_0036", "person_0037"} and added
    person = sorted(added)[0]  # (a person whose photos all lack a detectable face is reported, not added)
    photo = next(p for p in sorted((new / person).glob("*.jpg")) if str(p) not in summary["errors"])
    other = sorted((root / "collect" / "photos" / "person_0003").glob("*.jpg"))[0]
    assert main(["identify", str(photo), str(other), str(params_file), "--params", str(params_file)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0]["person"] == person and lines[0]["matches"][0]["distance"] < 1e-3
    assert lines[1]["matches"][0]["person"] == "person_0003"
    assert "error" in lines[2]  # not an image: reported, the others still answered
    assert main(["verify", "--person", person, str(photo), "--params", str(params_file)]) == 0
    v = json.loads(capsys.readouterr().out)
    assert set(v) == {"file", "person", "match", "distance", "threshold"} and v["match"] is True
    assert (root / "train" / "encoder" / "model.safetensors").read_bytes() == before


def test_cluster_groups_an_unlabelled_folder(run, capsys):
    root, params_file = run
    folder = root / "collect" / "demo" / "unlabelled"
    out = root / "clusters" / "unlabelled"
    assert main(["cluster", str(folder), "--out", str(out), "--params", str(params_file)]) == 0
    summary = json.loads((out / "groups.json").read_text())
    assert summary["k"] >= 1 and sum(len(g["files"]) for g in summary["groups"]) >= 8
    assert all(Path(g["sheet"]).is_file() for g in summary["groups"])


def test_delete_command_removes_every_trace(run, capsys):
    root, params_file = run
    person = "person_0001"
    assert person in D.load(root / "db").persons
    assert main(["delete", "--person", person, "--params", str(params_file)]) == 0
    assert json.loads(capsys.readouterr().out)["removed_rows"] >= 1
    assert person not in D.load(root / "db").persons
    assert not [p for p in (root / "db").rglob("*") if person in p.as_posix()]
    assert person.encode() not in (root / "db" / D.TABLE).read_bytes()
