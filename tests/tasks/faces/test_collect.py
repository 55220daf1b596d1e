"""Collecting from a folder per person and from a CSV manifest."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tasks.errors import DataError
from tasks.faces.collect import from_csv, from_folders


def _img(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((40, 40, 3), 120, np.uint8)).save(path)


def test_folder_per_person(tmp_path):
    for p in ("alice/1.jpg", "alice/2.png", "bob/x/3.jpg", "loose.jpg"):
        _img(tmp_path / p)
    frame, problems = from_folders(tmp_path)
    assert frame.photo_id.tolist() == ["alice/1", "alice/2", "bob/x/3"]
    assert frame.person.tolist() == ["alice", "alice", "bob"]
    assert frame.sha256.str.len().eq(64).all()
    assert [p["path"].endswith("loose.jpg") for p in problems] == [True]


def test_csv_manifest(tmp_path):
    _img(tmp_path / "imgs" / "a.jpg")
    _img(tmp_path / "imgs" / "b.jpg")
    (tmp_path / "m.csv").write_text("person,path,id\nann,imgs/a.jpg,\nben,imgs/b.jpg,b1\nann,imgs/gone.jpg,\n")
    frame, problems = from_csv(tmp_path / "m.csv")
    assert frame.photo_id.tolist() == ["ann/a", "b1"]
    assert len(problems) == 1 and "line 4" in problems[0]["reason"]
    (tmp_path / "bad.csv").write_text("who,file\n")
    with pytest.raises(DataError, match="missing column"):
        from_csv(tmp_path / "bad.csv")
