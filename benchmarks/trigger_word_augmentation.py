"""Ablation: the effect of data augmentation on held-out voices (test split).

Run: ``python -m benchmarks.trigger_word_augmentation --params params.yaml [--from DATA_DIR]``

Trains the same model twice on the same words and split, once with the params' augmentation
(speed/pitch perturbation, equalisation, reverberation, SpecAugment) and once with all of it
off, and prints the test metrics of both side by side. ``--from`` reuses the collect and
split outputs of an earlier run (TTS is the slow part); each variant gets its own data folder
under a temporary directory, so the project's ``data/`` is never touched.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import yaml

from flows.presets import apply
from flows.trigger_word.__main__ import main as stage

OFF = {"trigger_word.synthesize.augment.speed": [1.0, 1.0], "trigger_word.synthesize.augment.eq_db": 0.0,
       "trigger_word.synthesize.augment.reverb_prob": 0.0, "trigger_word.train.spec_augment.freq_masks": 0,
       "trigger_word.train.spec_augment.time_masks": 0}


def run(variant: str, params: dict, root: Path, source: Path | None) -> dict:
    data = root / variant
    p = apply(params, {"base.data_dir": str(data), **(OFF if variant == "off" else {})})
    file = root / f"{variant}.yaml"
    file.write_text(yaml.safe_dump(p, sort_keys=False))
    stages = ["synthesize", "features", "train", "evaluate"]
    if source is not None:
        for s in ("collect", "split"):
            shutil.copytree(source / "trigger_word" / s, data / "trigger_word" / s)
    else:
        stages = ["collect", "split", *stages]
    t = time.perf_counter()
    for s in stages:
        stage([s, "--params", str(file)])
    m = json.loads((data / "trigger_word" / "reports" / "eval_metrics.json").read_text())
    train = json.loads((data / "trigger_word" / "reports" / "train_metrics.json").read_text())
    return {"variant": variant, "minutes": round((time.perf_counter() - t) / 60, 1),
            "dev_loss": train["dev_loss"], **{k: m[k] for k in m if k.startswith("test_")}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--from", dest="source", type=Path, help="data_dir of a run whose collect/split to reuse")
    args = parser.parse_args()
    params = yaml.safe_load(args.params.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        rows = [run(v, params, Path(tmp), args.source) for v in ("on", "off")]
    keys = list(rows[0])
    print(" | ".join(keys))
    for r in rows:
        print(" | ".join(f"{r[k]:.4g}" if isinstance(r[k], float) else str(r[k]) for k in keys))


if __name__ == "__main__":
    main()
