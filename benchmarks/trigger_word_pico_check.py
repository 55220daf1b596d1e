"""A trained detector on SVOX Pico's voices (leave Pico out), without collecting everything again.

Run: ``python -m benchmarks.trigger_word_pico_check [--data data] [--params params.yaml]``

What ``collect.cross_engine.engine: pico`` makes the evaluate stage measure, for a model already
trained (on engines without Pico): the check's Pico takes (``collect.cross_engine.pico``) are
rendered into a scratch collect folder beside links to the run's own backgrounds and real-speech
negatives; then the evaluate stage's own check (:func:`tasks.trigger_word.cross_engine.run_check`)
scores them at the model's dev-chosen threshold. Prints the **dev** part only (en-US); the test
part is computed by the same call and not printed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
from pathlib import Path

import pandas as pd

from models.checkpoint import load_model
from models.trigger_word import TriggerWordConfig, TriggerWordModel
from tasks.config import load_params
from tasks.trigger_word import pico_engine as P
from tasks.trigger_word.clipset import read_clips, split_pools
from tasks.trigger_word.config import Layout, TriggerWordParams
from tasks.trigger_word.cross_engine import FOLDER, MANIFEST, run_check
from tasks.trigger_word.inference import Scorer
from tasks.trigger_word.modeling import feature_spec, normaliser


def scratch_collect(tmp: Path, collect: Path, params: TriggerWordParams) -> int:
    """``tmp`` as a collect folder: links to ``collect``'s contents, its check = Pico takes + its real speech."""
    for entry in collect.iterdir():
        if entry.name != FOLDER:
            os.symlink(entry.resolve(), tmp / entry.name)
    (tmp / FOLDER).mkdir()
    old = pd.read_parquet(collect / FOLDER / MANIFEST)
    speech = old[old.source == "real-speech"]
    for shard in {p.split("#")[0] for p in speech.path}:
        os.symlink((collect / shard).resolve(), tmp / shard)
    c = params.collect.model_copy(update={"cross_engine": params.collect.cross_engine.model_copy(
        update={"engine": "pico"})})
    rows = []
    for shard in P.pico_check_plan(c):
        rows += P.render_pico_check(shard, tmp, c.sample_rate, c.checks)[0]
    pd.concat([speech, pd.DataFrame(rows)], ignore_index=True).to_parquet(tmp / FOLDER / MANIFEST)
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="data folder of the run (default: base.data_dir)")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args()
    base, tw = load_params(args.params, "trigger_word", TriggerWordParams)
    layout = Layout(args.data or Path(base.data_dir))
    logging.basicConfig(level=logging.WARNING)  # run_check logs both parts; only dev is printed below
    metrics = json.loads((layout.reports / "eval_metrics.json").read_text())
    model, doc = load_model(layout.train / "checkpoint", TriggerWordModel, TriggerWordConfig)
    meta = {**doc["features"], **doc["normaliser"]}
    scorer = Scorer(model, feature_spec(meta, str(layout.train / "checkpoint")), normaliser(meta))
    rate = int(read_clips(layout.clips).sample_rate.iloc[0])
    pools = split_pools(layout.collect, layout.split)
    with tempfile.TemporaryDirectory() as tmp:
        collect = Path(tmp) / "collect"
        collect.mkdir()
        takes = scratch_collect(collect, layout.collect, tw)
        result = run_check(Path(tmp) / "eval", collect, {s: pools[s].backgrounds for s in ("dev", "test")}, scorer,
                           float(metrics["threshold"]), tw.synthesize, tw.evaluate, rate, base.seed,
                           float(doc["clip_seconds"]))
    m, curve = result["metrics"], result["curves"]["dev"]
    p = "cross_engine_dev"
    print(f"Pico check takes rendered: {takes}; threshold {metrics['threshold']} (the model's, chosen on dev)")
    print(f"dev (en-US): missed {m[p + '_false_reject_rate']:.1%} ({m[p + '_misses']} of {m[p + '_positives']}; "
          f"95% {m[p + '_false_reject_rate_ci95'][0]:.1%}-{m[p + '_false_reject_rate_ci95'][1]:.1%}), "
          f"{m[p + '_false_accepts_per_hour']:.2f} FA/h ({m[p + '_false_accepts']} in {m[p + '_negative_hours']} h; "
          f"95% {m[p + '_false_accepts_per_hour_ci95'][0]:.2f}-{m[p + '_false_accepts_per_hour_ci95'][1]:.2f}); "
          f"{m[p + '_pico_negatives']} Pico negatives, {m[p + '_real_speech_negatives']} real speech")
    for limit in (2, 5, 20):
        ok = [c for c in curve if c.false_accepts_per_hour <= limit]
        best = min(ok, key=lambda c: c.misses) if ok else None
        print(f"  dev curve at <= {limit} FA/h: " + (f"{best.false_reject_rate:.1%} ({best.misses})" if best else "-"))


if __name__ == "__main__":
    main()
