"""Hostile inputs to the face database: names are data, never paths; corrupt files get clear errors.

(Issue 15, cases 2 and 3, faces part.) Every test writes a real database in ``tmp_path`` and
checks that nothing appears or disappears outside it, whatever the person's name.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tasks.errors import DataError
from tasks.faces import db as D
from tasks.faces.collect import from_csv

T0 = pd.Timestamp(0, unit="s", tz="UTC")
A = {"encoder": "dlib_resnet:x", "detector": "dlib_hog(upsample=1)", "alignment": "five_point_chip(150px)"}
HOSTILE = ["../../victim", "../victim", "/tmp/abs-victim", "a/../../b", "..\\\\..\\\\victim", "~/x", "x" * 200]
REFUSED = ["..", ".", "", "a\x00b", "line\nbreak", " padded ", "y" * 201]


def files_outside(root, inside) -> set:
    return {p for p in root.rglob("*") if inside not in p.parents and p != inside}


def db_with(folder, persons: list[str]) -> D.FaceDB:
    db = D.FaceDB(D.Calibration(dim=4, threshold=0.5, **A))
    ids = [f"{p}/1" for p in persons]
    emb = np.eye(4, dtype=np.float32)[np.arange(len(persons)) % 4]
    db.add(persons, ids, ["h"] * len(persons), emb, A, T0)
    D.save(db, folder)
    D.save_crops(folder, persons, ids, [np.zeros((4, 4, 3), np.uint8)] * len(persons))
    return db


@pytest.mark.parametrize("name", HOSTILE)
def test_path_like_names_stay_inside_the_database(tmp_path, name):
    folder = tmp_path / "deep" / "er" / "db"
    victim = tmp_path / "deep" / "victim"
    victim.mkdir(parents=True)
    folder.parent.mkdir(parents=True)
    (victim / "keep.txt").write_text("mine")
    before = files_outside(tmp_path, folder)
    db_with(folder, [name, "ann"])
    assert files_outside(tmp_path, folder) == before  # nothing written outside
    crops = [p for p in (folder / D.CROPS).rglob("*.png")]
    assert len(crops) == 2 and all(folder / D.CROPS in p.parents for p in crops)
    assert D.load(folder).persons == sorted([name, "ann"])  # the name itself is kept, as data
    assert D.delete_person(folder, name) == 1
    assert files_outside(tmp_path, folder) == before and (victim / "keep.txt").read_text() == "mine"
    assert D.load(folder).persons == ["ann"] and len(list((folder / D.CROPS).rglob("*.png"))) == 1


@pytest.mark.parametrize("name", REFUSED)
def test_unusable_names_are_refused_with_a_clear_error(tmp_path, name):
    with pytest.raises(DataError, match="person"):
        db_with(tmp_path / "db", [name])
    db_with(tmp_path / "db2", ["ann"])
    with pytest.raises(DataError, match="person"):
        D.delete_person(tmp_path / "db2", name)
    assert D.load(tmp_path / "db2").persons == ["ann"]


def test_two_names_never_share_a_crop_folder():
    keys = {D.person_key(n) for n in ["a/b", "a_b", "a b", "a?b", "ab"]}
    assert len(keys) == 5


def test_a_manifest_row_with_a_hostile_person_is_a_problem_not_a_row(tmp_path):
    (tmp_path / "p.jpg").write_bytes(b"x")
    (tmp_path / "m.csv").write_text("person,path\nann,p.jpg\n..,p.jpg\n\"a\x00b\",p.jpg\n")
    frame, problems = from_csv(tmp_path / "m.csv")
    assert frame["person"].tolist() == ["ann"]
    assert len(problems) == 2 and all("person name" in p["reason"] for p in problems)


@pytest.mark.parametrize("damage", [b"", b"PAR1 not really parquet", None])
def test_a_corrupted_database_file_is_a_clear_error(tmp_path, damage):
    db_with(tmp_path, ["ann", "ben"])
    path = tmp_path / D.TABLE
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage is None else damage)
    with pytest.raises(DataError, match="embeddings.parquet"):
        D.load(tmp_path)
