"""The embedding database: Parquet schema, exact search, delete, the encoder-mismatch guard."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tasks.faces import db as D

T0 = pd.Timestamp(0, unit="s", tz="UTC")
A = {"encoder": "dlib_resnet:enc-a", "detector": "dlib_hog(upsample=1)", "alignment": "five_point_chip(150px)"}


def unit(n: int, dim: int = 128, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def small_db(tmp_path) -> D.FaceDB:
    db = D.FaceDB(D.Calibration(dim=128, threshold=0.8, target_far=0.01, k=2, **A))
    persons = ["ann"] * 3 + ["ben"] * 3
    ids = [f"{p}/{i}" for p, i in zip(persons, [1, 2, 3] * 2, strict=True)]
    db.add(persons, ids, [f"h{i}" for i in range(6)], unit(6), A, T0)
    D.save(db, tmp_path)
    D.save_crops(tmp_path, persons, ids, [np.zeros((8, 8, 3), np.uint8)] * 6)
    return db


def test_parquet_schema_and_round_trip(tmp_path):
    db = small_db(tmp_path)
    table = pq.read_table(tmp_path / D.TABLE)
    assert table.schema.field("embedding").type == pa.list_(pa.float32(), 128)
    assert table.column_names == ["person", "photo_id", "sha256", "embedding", "encoder", "detector", "alignment",
                                  "time"]
    back = D.load(tmp_path)
    np.testing.assert_array_equal(back.embeddings, db.embeddings)
    assert back.calibration == db.calibration
    first = (tmp_path / D.TABLE).read_bytes()
    D.save(back, tmp_path)
    assert (tmp_path / D.TABLE).read_bytes() == first  # same content, same bytes


def test_delete_removes_every_trace(tmp_path):
    small_db(tmp_path)
    assert D.delete_person(tmp_path, "ann") == 3
    back = D.load(tmp_path)
    assert back.persons == ["ben"] and len(back) == 3
    assert not (tmp_path / D.CROPS / D.person_key("ann")).exists()
    leftovers = [p for p in tmp_path.rglob("*") if "ann" in p.as_posix()[len(str(tmp_path)):]]
    assert leftovers == []
    assert b"ann" not in pq.read_table(tmp_path / D.TABLE).to_pandas().to_csv().encode()


@pytest.mark.parametrize("key, other", [("encoder", "dlib_resnet+adapter:enc-b"),
                                        ("detector", "haar(scale_factor=1.05)"), ("alignment", "box_crop(40px)")])
def test_a_different_encoder_detector_or_alignment_is_refused_naming_it(tmp_path, key, other):
    db = small_db(tmp_path)
    with pytest.raises(D.EncoderMismatch, match=re.escape(f"{key} '{A[key]}' (the encoder loaded uses '{other}')")):
        D.load(tmp_path).check_encoder(A | {key: other})
    with pytest.raises(D.EncoderMismatch, match=key):
        db.add(["cy"], ["cy/1"], ["h"], unit(1), A | {key: other}, T0)


@pytest.mark.parametrize("block_floats", [D.ExactIndex.BUFFER_FLOATS, 5000 * 3])  # one block; blocks of 3
def test_exact_search_equals_brute_force_including_ties(monkeypatch, block_floats):
    monkeypatch.setattr(D.ExactIndex, "BUFFER_FLOATS", block_floats)
    emb = unit(5000, seed=1)
    emb[100] = emb[7]  # exact duplicates: ties must go to the lower row
    emb[4000] = emb[7]
    queries = np.concatenate([unit(20, seed=2), emb[[7, 42]]])
    dist, idx = D.nearest(emb, queries, 10)
    for m, q in enumerate(queries):
        ref_d, ref_i = D.brute_force(emb, q, 10)
        np.testing.assert_array_equal(idx[m], ref_i)
        np.testing.assert_array_equal(dist[m], ref_d)
    assert idx[-2][:3].tolist() == [7, 100, 4000]


def test_replacing_a_photo_keeps_one_row(tmp_path):
    db = small_db(tmp_path)
    db.add(["ann"], ["ann/1"], ["new"], unit(1, seed=9), A, T0)
    assert len(db) == 6 and db.rows.set_index("photo_id").loc["ann/1", "sha256"] == "new"


def test_an_emptied_database_still_saves_and_loads(tmp_path):
    small_db(tmp_path)
    D.delete_person(tmp_path, "ann")
    D.delete_person(tmp_path, "ben")
    back = D.load(tmp_path)
    assert len(back) == 0 and back.embeddings.shape == (0, 128)
    dist, idx = D.nearest(back.embeddings, unit(1), 2)
    assert dist.shape == (1, 0)
