"""Benchmark: ``classify`` throughput on 1,000 photos of 1-2 MP, for both day/night models.

Writes 1,000 JPEGs (40 rendered scenes of 1.2-1.9 MP, each saved under 25 names at
quality 85-95), trains each model quickly on the split stage's outputs (run ``collect``,
``validate``, ``split`` first) at ``--resolution``, then times ``Classifier.classify`` over
all files (decoding on ``--workers`` threads, torch on ``--threads``). In the same run, a
baseline: decoding every file at full size (what a naive loader does before resizing).
Usage: ``python -m benchmarks.day_night_classify [--files 1000] [--resolution 64]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from tasks.config import load_params  # noqa: E402
from tasks.day_night.classify import Classifier  # noqa: E402
from tasks.day_night.config import DayNightParams, Layout  # noqa: E402
from tasks.day_night.render import render  # noqa: E402
from tasks.day_night.scenes import sample_scene  # noqa: E402
from tasks.day_night.sweep import load_train_dev, make_learner  # noqa: E402

SIZES = [(1280, 960), (1600, 1200), (1440, 1080), (1280, 1024)]  # 1.2-1.9 MP


def write_photos(folder: Path, n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    scenes = [render(sample_scene(rng, "night" if i % 2 else "day", SIZES, 0.0)) for i in range(40)]
    files = []
    for i in range(n):
        path = folder / f"photo-{i:05d}.jpg"
        scenes[i % len(scenes)].save(path, "JPEG", quality=int(rng.integers(85, 96)))
        files.append(str(path))
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    base, p = load_params(args.params, "day_night", DayNightParams)
    layout = Layout(base.data_dir)
    data = load_train_dev(str(layout.assignments), str(layout.thumbs), p.positive)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "photos").mkdir()
        files = write_photos(root / "photos", args.files)
        mp = np.mean([Image.open(f).size[0] * Image.open(f).size[1] for f in files[:40]]) / 1e6
        print(f"{len(files)} JPEGs, mean {mp:.2f} MP")  # noqa: T201
        start = time.perf_counter()
        for f in files:
            with Image.open(f) as im:
                im.convert("RGB").load()
        full = time.perf_counter() - start
        print(f"baseline full-size decode only: {len(files) / full:.1f} photos/s")  # noqa: T201
        for kind in ("cnn", "backbone"):
            learner = make_learner(p.model, p.train.model_copy(update={"model": kind}), base.seed, root / "cache", 4)
            model, _ = learner.fit(args.resolution, data)
            meta = {"labels": list(p.labels), "resolution": args.resolution, "thumb_size": p.collect.thumb_size,
                    "threshold": p.train.threshold, "normalise": {"mean": 127.5, "std": 64.0}}
            learner.save(root / kind, model, meta, "benchmark")
            clf = Classifier(root / kind)
            start = time.perf_counter()
            rows = list(clf.classify(files, workers=args.workers))
            took = time.perf_counter() - start
            assert len(rows) == len(files) and not any("error" in r for r in rows)
            print(f"{kind} at {args.resolution} px: {len(files) / took:.1f} photos/s "  # noqa: T201
                  f"({took / full:.2f} x the baseline's time)")


if __name__ == "__main__":
    main()
