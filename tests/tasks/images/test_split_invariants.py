"""Split invariants: near-duplicate groups whole, stratified, stable when images are added."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from PIL import Image

from tasks.images.hashing import hamming, near_duplicate_groups, phash
from tasks.images.split import balance_report, stratified_split
from tasks.io import sha256_bytes

FRACTIONS = {"train": 0.6, "dev": 0.2, "test": 0.2}


def images(n: int, night_share: float = 0.3, start: int = 0) -> pd.DataFrame:
    """Synthetic catalogue rows: groups of 1-3 near duplicates, unbalanced labels."""
    rows = []
    rng = np.random.default_rng(start)
    for g in range(start, start + n):
        label = "night" if rng.random() < night_share else "day"
        key = sha256_bytes(f"group{g}".encode())[:16]
        for k in range(int(rng.integers(1, 4))):
            rows.append({"path": f"{label}/{g}-{k}.jpg", "label": label, "group": key})
    return pd.DataFrame(rows)


def test_groups_never_straddle_splits():
    df = images(600)
    df["split"] = stratified_split(df, FRACTIONS, seed=3)
    assert (df.groupby("group").split.nunique() == 1).all()


def test_stratified_within_tolerance():
    df = images(1500)
    df["split"] = stratified_split(df, FRACTIONS, seed=3)
    overall = (df.label == "night").mean()
    for split, part in df.groupby("split"):
        assert abs((part.label == "night").mean() - overall) < 0.05, split
        assert abs(len(part) / len(df) - FRACTIONS[split]) < 0.05, split
    report = {r["split"]: r for r in balance_report(df, ("day", "night"))}
    assert report["all"]["n_night"] == int((df.label == "night").sum())
    assert 1.5 < report["all"]["ratio"] < 3.5


def test_adding_images_moves_none():
    before = images(400)
    before["split"] = stratified_split(before, FRACTIONS, seed=7)
    grown = pd.concat([before.drop(columns="split"), images(200, start=10_000)], ignore_index=True)
    grown["split"] = stratified_split(grown, FRACTIONS, seed=7)
    merged = before.merge(grown, on="path", suffixes=("_before", "_after"))
    assert len(merged) == len(before)
    assert (merged.split_before == merged.split_after).all()


def _jpeg_round_trip(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def test_near_duplicates_found_by_perceptual_hash():
    rng = np.random.default_rng(0)
    scenes = [Image.fromarray(rng.integers(0, 255, (12, 16, 3), dtype=np.uint8)).resize((320, 240),
                                                                                          Image.Resampling.BICUBIC)
              for _ in range(6)]
    variants = []
    for i, s in enumerate(scenes):
        variants += [(i, s), (i, _jpeg_round_trip(s.resize((200, 150)), 60)),
                     (i, s.crop((6, 5, 314, 235)).point(lambda v: min(255, int(v * 1.08))))]
    hashes = [phash(img) for _, img in variants]
    groups = near_duplicate_groups(hashes, max_distance=10)
    scene_of = [i for i, _ in variants]
    for a in range(len(variants)):
        for b in range(len(variants)):
            assert (groups[a] == groups[b]) == (scene_of[a] == scene_of[b]), (a, b, hamming(hashes[a], hashes[b]))
