"""Benchmark: collect + validate throughput on typical 0.5-2 MP JPEGs, vs a naive full decode.

Generates the JPEGs first (rendered scenes at 0.5-2 MP, quality 85-95), then times, in the
same run and on the same files:

- pipeline: ``catalogue_shard`` (SHA-256, one JPEG draft-mode decode to a square thumbnail
  and perceptual hash) then ``review`` (quarantine, duplicate groups);
- baseline: the naive way, full-size decode of every file, EXIF transpose, RGB, resize to
  the thumbnail and hash from the full image.

Both run on ``--workers`` processes (default 2) in shards. Usage:
``python -m benchmarks.day_night_collect [--images 300] [--workers 2] [--dir DIR]``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageOps

from tasks.day_night.demo import encode
from tasks.day_night.render import render
from tasks.day_night.scenes import sample_scene
from tasks.images.catalogue import Item, catalogue_shard
from tasks.images.hashing import phash
from tasks.images.io import ImageLimits
from tasks.images.review import review

SIZES = [(800, 600), (1024, 768), (1280, 960), (1600, 1200)]  # 0.48, 0.79, 1.23, 1.92 MP
THUMB = 128


def make_jpegs(folder: Path, n: int, unique: int = 40) -> list[Item]:
    """``n`` JPEGs in ``folder/<label>/``: ``unique`` rendered scenes, re-encoded at varied quality."""
    rng = np.random.default_rng(0)
    scenes = []
    for k in range(unique):
        label = "night" if k % 2 else "day"
        scenes.append((label, render(sample_scene(rng, label, [SIZES[k % len(SIZES)]], 0.0))))
    items = []
    for i in range(n):
        label, img = scenes[i % unique]
        path = folder / label / f"{i:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(encode(img, "JPEG", 85 + i % 11))
        items.append(Item(str(path), f"{label}/{path.name}", label))
    return items


def naive_shard(items: list[Item]) -> list[dict]:
    """The baseline: full decode of every file, then the same outputs."""
    rows = []
    for item in items:
        data = Path(item.path).read_bytes()
        with Image.open(item.path) as img:
            img = ImageOps.exif_transpose(img).convert("RGB")
        thumb = np.asarray(img.resize((THUMB, THUMB), Image.Resampling.BOX))
        rows.append({"sha256": hashlib.sha256(data).hexdigest(), "phash": phash(img), "w": img.width,
                     "thumb": thumb.shape})
    return rows


def pipeline_shard(items: list[Item]) -> list[dict]:
    rows, _ = catalogue_shard(items, THUMB)
    return rows


def _child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(fn, items: list[Item], workers: int, shard: int = 32) -> tuple[float, float, list[dict]]:
    """Wall seconds, worker CPU seconds (robust to other load on the machine) and the rows."""
    shards = [items[i:i + shard] for i in range(0, len(items), shard)]
    cpu, start = _child_cpu(), time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        rows = [r for part in pool.map(fn, shards) for r in part]
    return time.perf_counter() - start, _child_cpu() - cpu, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dir", type=Path, help="where to write the JPEGs (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.dir or Path(tmp)
        t0 = time.perf_counter()
        items = make_jpegs(folder, args.images)
        mp = np.mean([Image.open(i.path).size[0] * Image.open(i.path).size[1] / 1e6 for i in items])
        mb = np.mean([Path(i.path).stat().st_size / 1e6 for i in items])
        print(f"generated {len(items)} JPEGs (mean {mp:.2f} MP, {mb:.2f} MB) in {time.perf_counter() - t0:.1f} s")
        timed(pipeline_shard, items[:8], args.workers)  # warm the workers' imports and page cache
        t_base, c_base, _ = timed(naive_shard, items, args.workers)
        t_pipe, c_pipe, rows = timed(pipeline_shard, items, args.workers)
        t1 = time.perf_counter()
        cat = pd.DataFrame(rows)
        cat["thumb"] = range(len(cat))
        usable, quarantine = review(cat, ImageLimits(64, 3.0), 8, ("day", "night"))
        t_review = time.perf_counter() - t1
    n, w = len(items), args.workers
    total = t_pipe + t_review
    print(f"workers: {w} processes; load average at the end: {os.getloadavg()[0]:.1f}")
    print(f"{'':28s} {'wall images/s':>14s} {'CPU ms/image':>13s} {'on {w} idle cores':>18s}".format(w=w))
    for name, wall, cpu in (("baseline (full decode)", t_base, c_base), ("collect (draft decode)", t_pipe, c_pipe),
                            ("collect + validate", total, c_pipe + t_review)):
        print(f"{name:28s} {n / wall:14.1f} {1000 * cpu / n:13.2f} {w * n / cpu:18.1f}")
    print(f"usable {len(usable)}, quarantined {len(quarantine)}")
    print(f"speed-up vs baseline: {t_base / total:.2f} x wall, {c_base / (c_pipe + t_review):.2f} x CPU")


if __name__ == "__main__":
    main()
