"""The human check: each picture shown once, the key kept out of the page, answers scored per resolution."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tasks.day_night.human import plan, score_answers, sheet_html
from tasks.errors import DataError


def test_plan_shows_each_picture_once_per_sheet():
    keys = [f"k{i}" for i in range(40)]
    labels = ["day" if i % 2 else "night" for i in range(40)]
    items = plan(keys, labels, [32, 16, 64], per_resolution=5, seed=1)
    assert len(items) == 15 and len({it["index"] for it in items}) == 15
    assert {r: sum(it["resolution"] == r for it in items) for r in (16, 32, 64)} == {16: 5, 32: 5, 64: 5}
    assert items == plan(keys, labels, [16, 32, 64], per_resolution=5, seed=1)


def test_sheet_and_score(tmp_path):
    thumbs = np.random.default_rng(0).integers(0, 255, (6, 32, 32, 3), dtype=np.uint8)
    items = plan([f"k{i}" for i in range(6)], ["day", "night"] * 3, [8, 16], 3, seed=0)
    page = sheet_html(items, thumbs, ["day", "night"], 128, "abc")
    assert page.count("data:image/png;base64,") == 6 and '"abc"' in page
    key = {"sheet": "abc", "items": items}
    answers = {it["id"]: it["label"] for it in items if it["resolution"] == 16}
    answers |= {it["id"]: "night" for it in items if it["resolution"] == 8}
    (tmp_path / "a.json").write_text(json.dumps({"sheet": "abc", "answers": answers}))
    rows = {r["resolution"]: r for r in score_answers(tmp_path / "a.json", key)}
    assert rows[16]["accuracy"] == 1.0
    n_night_8 = sum(it["label"] == "night" for it in items if it["resolution"] == 8)
    assert rows[8]["correct"] == n_night_8
    (tmp_path / "b.json").write_text(json.dumps({"sheet": "other", "answers": {}}))
    with pytest.raises(DataError, match="sheet 'other'"):
        score_answers(tmp_path / "b.json", key)
