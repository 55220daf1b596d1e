"""Benchmark: both day/night models across the resolutions, on dev and on the real-photo check.

Reads the split stage's outputs (run ``collect``, ``validate``, ``split`` first) and the
params file, then for each model (``cnn``, ``backbone``) trains at every candidate resolution
exactly as the sweep does and prints dev accuracy and the real-photo check's accuracy, day
and night recall (per source too). Also times the backbone's training cold (an empty feature
cache) and warm (a second sweep), in the same run. Usage:
``python -m benchmarks.day_night_models [--params params.yaml] [--models cnn backbone] [--out FILE.json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from tasks.config import load_params  # noqa: E402
from tasks.day_night.check import check_scores  # noqa: E402
from tasks.day_night.config import DayNightParams, Layout  # noqa: E402
from tasks.day_night.sweep import load_check, load_train_dev, make_learner  # noqa: E402


def run(params_file: str, models: list[str], epochs: int | None) -> dict:
    base, p = load_params(params_file, "day_night", DayNightParams)
    torch.set_num_threads(p.train.threads)
    layout = Layout(base.data_dir)
    data = load_train_dev(str(layout.assignments), str(layout.thumbs), p.positive)
    check = load_check(p.check, p.labels, p.collect.thumb_size)
    out: dict = {"train_images": len(data["y_train"]), "dev_images": len(data["y_dev"]), "models": {}}
    for kind in models:
        train = p.train.model_copy(update={"model": kind})
        rows, times = [], {}
        with tempfile.TemporaryDirectory() as cache:
            for sweep_round in ("cold", "warm"):
                learner = make_learner(p.model, train, base.seed, cache, epochs or p.sweep.epochs)
                start = time.perf_counter()
                curve = []
                for r in p.resolutions:
                    t0 = time.perf_counter()
                    model, history = learner.fit(r, data)
                    point = {"resolution": r, "dev_accuracy": max(h["dev_accuracy"] for h in history),
                             "train_seconds": round(time.perf_counter() - t0, 1)}
                    if check is not None:
                        scores = check_scores(check["frame"], learner.predict(model, check["thumbs"], r), p.labels,
                                              p.train.threshold)
                        point |= {f"check_{k}": v for k, v in scores["all"].items()}
                        point["check_per_source"] = scores["per_source"]
                    curve.append(point)
                times[sweep_round] = round(time.perf_counter() - start, 1)
                rows = curve
                if kind == "cnn":
                    break  # nothing cached: a second sweep costs the same
        out["models"][kind] = {"curve": rows, "sweep_seconds": times}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--models", nargs="+", default=["cnn", "backbone"])
    parser.add_argument("--epochs", type=int, default=None, help="default: sweep.epochs")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    result = run(args.params, args.models, args.epochs)
    for kind, res in result["models"].items():
        print(f"{kind}: sweep {res['sweep_seconds']} s")  # noqa: T201
        for r in res["curve"]:
            print(f"  {r['resolution']:4d} px  dev {r['dev_accuracy']:.3f}  check acc {r.get('check_accuracy')}"  # noqa: T201
                  f"  day {r.get('check_recall_day')}  night {r.get('check_recall_night')}"
                  f"  balanced {r.get('check_balanced_accuracy')}  ({r['train_seconds']} s)")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
