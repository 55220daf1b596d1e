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


def test_pretrained_and_trained_beat_pixel_distance_on_held_out_people(run):
    root, _ = run
    m = json.loads((root / "evaluate" / "metrics.json").read_text())["models"]
    assert set(m) == {"pixels", "pretrained", "trained"}
    for name in ("pretrained", "trained"):
        assert m[name]["verification"]["auc"] > m["pixels"]["verification"]["auc"]
        assert m[name]["verification"]["auc"] > 0.9
        assert {"purity", "nmi", "merged_people"} <= set(m[name]["hdbscan"]) & set(m[name]["kmeans"])
    assert (root / "evaluate" / "embedding_map.png").stat().st_size > 1000


def test_the_encoder_chosen_on_dev_is_the_database_s(run):
    root, _ = run
    cands = json.loads((root / "train" / "candidates.json").read_text())
    dev = {n: c["dev_tar_at_far"] for n, c in cands["candidates"].items()}
    assert cands["chosen"] == max(dev, key=lambda n: (dev[n], cands["candidates"][n]["dev_auc"], n == "pretrained"))
    card = (root / "train" / "encoder" / "model_card.md").read_text()
    assert cands["encoder"] in card and "Chosen for the database" in card
    assert D.load(root / "gallery").calibration.encoder.startswith(cands["encoder"] + ":")


def test_enrol_then_identify_without_retraining(run, capsys):
    root, params_file = run
    before = (root / "train" / "trained" / "model.safetensors").read_bytes()
    new = root / "collect" / "demo" / "new_people"
    assert main(["enrol", str(new), "--params", str(params_file)]) == 0
    summary = json.loads(capsys.readouterr().out)
    added = set(D.load(root / "db").persons)
    assert added == set(summary["people"]) and added <= {"person_0036", "person_0037"} and added
    person = sorted(added)[0]  # (a person whose photos all lack a detectable face is reported, not added)
    photo = next(p for p in sorted((new / person).glob("*.jpg")) if str(p) not in summary["errors"])
    assert main(["identify", str(photo), str(params_file), "--params", str(params_file)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0]["person"] == person and lines[0]["matches"][0]["distance"] < 1e-3
    assert "error" in lines[1]  # not an image: reported, the others still answered
    other = sorted((root / "collect" / "photos" / "person_0003").glob("*.jpg"))[-1]
    assert main(["identify", str(other), "--db", str(root / "gallery"), "--params", str(params_file)]) == 0
    assert json.loads(capsys.readouterr().out)["matches"][0]["person"] == "person_0003"
    assert main(["verify", "--person", person, str(photo), "--params", str(params_file)]) == 0
    v = json.loads(capsys.readouterr().out)
    assert set(v) == {"file", "person", "match", "distance", "threshold"} and v["match"] is True
    assert (root / "train" / "trained" / "model.safetensors").read_bytes() == before


def test_your_database_defaults_to_the_pretrained_encoder_the_gallery_keeps_the_dev_choice(run, capsys, tmp_path):
    root, params_file = run
    new = root / "collect" / "demo" / "new_people"
    gallery_encoder = D.load(root / "gallery").calibration.encoder
    mine = tmp_path / "mine"
    assert main(["enrol", str(new), "--db", str(mine), "--params", str(params_file)]) == 0
    assert D.load(mine).calibration.encoder.startswith("dlib_resnet:")  # faces.encoder, not the dev choice
    assert D.load(mine).calibration.threshold == 0.6  # dlib's own (LFW) threshold, not one set on drawings
    chosen = tmp_path / "chosen"
    assert main(["enrol", str(new), "--db", str(chosen), "--encoder", "chosen", "--params", str(params_file)]) == 0
    assert D.load(chosen).calibration.encoder == gallery_encoder
    params = yaml.safe_load(params_file.read_text())
    params["faces"]["encoder"] = "chosen"
    as_chosen = write_params(tmp_path / "params.yaml", params)
    photo = str(sorted((root / "collect" / "photos" / "person_0003").glob("*.jpg"))[-1])
    for db in (mine, root / "gallery"):  # an existing database: the encoder that built it, whatever the default
        capsys.readouterr()
        assert main(["identify", photo, "--db", str(db), "--params", str(as_chosen)]) == 0
        assert "error" not in json.loads(capsys.readouterr().out)
    card = (root / "train" / "encoder" / "model_card.md").read_text()
    assert "Your own database" in card and "faces.encoder" in card


def test_enrolled_people_survive_a_pipeline_run(run, capsys):
    root, params_file = run
    enrolled = set(D.load(root / "db").persons)
    assert enrolled  # (the enrol test ran first)
    for stage in ("database", "evaluate"):
        assert main([stage, "--params", str(params_file)]) == 0
    assert set(D.load(root / "db").persons) == enrolled
    assert not enrolled & set(D.load(root / "gallery").persons)


@pytest.mark.parametrize("method", ["hdbscan", "kmeans"])
def test_cluster_groups_an_unlabelled_folder(run, capsys, method):
    root, params_file = run
    folder = root / "collect" / "demo" / "unlabelled"
    out = root / "clusters" / method
    assert main(["cluster", str(folder), "--out", str(out), "--method", method, "--params", str(params_file)]) == 0
    summary = json.loads((out / "groups.json").read_text())
    truth = dict(line.split(",") for line in (folder.parent / "unlabelled_truth.csv").read_text().splitlines()[1:])
    assert summary["k"] >= 2 and sum(len(g["files"]) for g in summary["groups"]) >= 8
    mixed = [g for g in summary["groups"] if len({truth[Path(f).name] for f in g["files"]}) > 1]
    if method == "hdbscan":  # unsure photos left out rather than two people merged
        assert mixed == []
    else:  # k-means places every photo
        assert summary["unassigned"] == [] and len(mixed) <= 1
    assert all(Path(g["sheet"]).is_file() for g in summary["groups"])


def test_delete_command_removes_every_trace(run, capsys):
    root, params_file = run
    person = sorted(D.load(root / "db").persons)[0]
    assert main(["delete", "--person", person, "--params", str(params_file)]) == 0
    assert json.loads(capsys.readouterr().out)["removed_rows"] >= 1
    assert person not in D.load(root / "db").persons
    assert not [p for p in (root / "db").rglob("*") if person in p.as_posix()]
    assert person.encode() not in (root / "db" / D.TABLE).read_bytes()


def test_hostile_command_lines_get_a_message_not_a_traceback(run, capsys, tmp_path):
    """Issue 15, faces: bad --k, missing or wrong --encoder, a corrupted database, a path as a name."""
    from flows.runtime import run_cli

    root, params_file = run
    photo = str(sorted((root / "collect" / "photos" / "person_0003").glob("*.jpg"))[0])
    gallery = str(root / "gallery")
    (tmp_path / "not_an_encoder").mkdir()
    broken = tmp_path / "broken_db"
    broken.mkdir()
    (broken / D.TABLE).write_bytes((root / "gallery" / D.TABLE).read_bytes()[:500])
    outside = tmp_path / "victim.txt"
    outside.write_text("keep")
    cases = [(["identify", photo, "--k", "-1"], "must be at least 1"),
             (["identify", photo, "--db", gallery, "--encoder", str(tmp_path / "nope")], "no encoder here"),
             (["identify", photo, "--db", gallery, "--encoder", str(tmp_path / "not_an_encoder")],
              "not a usable face encoder"),
             (["verify", "--person", "person_0003", photo, "--db", gallery, "--encoder", "dlib_resnet"],
              "not comparable") if D.load(gallery).identity["encoder"].startswith("dlib_resnet+") else
             (["verify", "--person", "..", photo, "--db", gallery], "person name"),
             (["identify", photo, "--db", str(broken)], "unreadable face database"),
             (["delete", "--person", "../../" + outside.stem, "--db", gallery], "no person")]
    for argv, message in cases:
        with pytest.raises(SystemExit) as exit_:
            run_cli(main, [*argv, "--params", str(params_file)])
        err = capsys.readouterr().err
        assert exit_.value.code == 2 and message in err and "Traceback" not in err, (argv, err)
    assert outside.read_text() == "keep"
