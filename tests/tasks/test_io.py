from __future__ import annotations

import pytest

from tasks.io import atomic_dir, hash_tree, stable_unit


def test_atomic_dir_replaces_whole(tmp_path):
    out = tmp_path / "out"
    with atomic_dir(out) as tmp:
        (tmp / "a.txt").write_text("1")
    with atomic_dir(out) as tmp:
        (tmp / "b.txt").write_text("2")
    assert sorted(p.name for p in out.iterdir()) == ["b.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporaries left


def test_atomic_dir_keeps_previous_output_on_failure(tmp_path):
    out = tmp_path / "out"
    with atomic_dir(out) as tmp:
        (tmp / "a.txt").write_text("old")
    with pytest.raises(RuntimeError), atomic_dir(out) as tmp:
        (tmp / "a.txt").write_text("half-written")
        raise RuntimeError("stage failed")
    assert (out / "a.txt").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_hash_tree_sees_content_and_names(tmp_path):
    (tmp_path / "x").write_text("1")
    h1 = hash_tree(tmp_path)
    (tmp_path / "x").write_text("2")
    assert hash_tree(tmp_path) != h1


def test_stable_unit_is_stable_and_uniformish():
    values = [stable_unit("g", i) for i in range(2000)]
    assert values == [stable_unit("g", i) for i in range(2000)]
    assert all(0 <= v < 1 for v in values)
    assert 0.45 < sum(values) / len(values) < 0.55
