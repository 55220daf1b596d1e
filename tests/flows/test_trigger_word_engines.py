"""Leave one engine out, the reverse way (params-kokoro.yaml): Kokoro blends train, espeak-ng voices check."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from flows.trigger_word.__main__ import main
from tests.conftest import ROOT, write_params
from tests.flows.test_trigger_word_flow import in_collect, shrink

pytestmark = pytest.mark.usefixtures("prefect_harness")


def reverse_params(tmp: Path) -> Path:
    """params-kokoro.yaml, shrunk like the forward end-to-end test, with 4 blends and 2 check voices."""
    params = shrink(yaml.safe_load((ROOT / "params-kokoro.yaml").read_text()), tmp / "data")
    collect = params["trigger_word"]["collect"]
    collect["tts"]["kokoro"].update(voices=4, speeds=[1.0], negatives_per_voice=1)
    collect["cross_engine"]["espeak"].update(dev_voices=1, test_voices=1)
    params["trigger_word"]["split"].update(dev_fraction=0.25, test_fraction=0.25)
    return write_params(tmp / "params.yaml", params)


def test_collect_and_split_keep_espeak_out_of_training(tmp_path):
    file = reverse_params(tmp_path)
    assert main(["collect", "--params", str(file)]) == 0 and main(["split", "--params", str(file)]) == 0
    root = tmp_path / "data" / "trigger_word"
    words = pd.concat([pd.read_parquet(root / "collect" / f"{k}.parquet") for k in ("positives", "negatives")])
    tts = words[words.source != "real-speech"]  # recorded speech (shrink turns it on) is no engine
    assert set(tts.source) == {"kokoro"} and tts.group.str.startswith("kokoro:blend").all()
    assert tts.group.nunique() == 4 and (tts.kind == "positive").sum() == 4
    check = pd.read_parquet(root / "collect" / "cross_engine" / "words.parquet")
    espeak = check[check.source == "espeak"]
    assert set(espeak.check_split) == {"dev", "test"} and espeak.group.nunique() == 2
    assert not set(espeak.group) & set(words.group)
    assigned = pd.read_parquet(root / "split" / "assignments.parquet")
    assert not set(assigned.path) & set(check.path)
    backgrounds = pd.read_parquet(root / "collect" / "backgrounds.parquet")
    assert "babble" not in set(backgrounds.texture)  # babble is made of espeak-ng voices


@pytest.mark.slow
def test_evaluate_reports_the_check_of_the_engine_held_out(tmp_path):
    file = reverse_params(tmp_path)
    for stage in ("collect", "split", "synthesize", "features", "train", "evaluate"):
        assert main([stage, "--params", str(file)]) == 0
    root = tmp_path / "data" / "trigger_word"
    clips = pd.read_parquet(root / "clips" / "clips.parquet")
    check = pd.read_parquet(root / "collect" / "cross_engine" / "words.parquet")
    used = {in_collect(root, root / "clips", ev["source"]) for evs in clips.events for ev in evs}
    assert used and not used & set(check.path)
    m = json.loads((root / "reports" / "eval_metrics.json").read_text())
    for split in ("dev", "test"):
        assert m[f"cross_engine_{split}_espeak_negatives"] > 0 and m[f"cross_engine_{split}_kokoro_negatives"] == 0
        assert m[f"cross_engine_{split}_positives"] > 0
        lo, hi = m[f"cross_engine_{split}_false_reject_rate_ci95"]
        assert lo <= m[f"cross_engine_{split}_false_reject_rate"] <= hi
    assert "espeak-ng voices and real speech never used in training" in (root / "model" / "model_card.md").read_text()


def test_pico_says_training_words_only(tmp_path):
    """espeak-ng + SVOX Pico train (params.yaml shrunk): Pico's variants land in train, the rows say so."""
    params = shrink(yaml.safe_load((ROOT / "params.yaml").read_text()), tmp_path / "data")
    tts = params["trigger_word"]["collect"]["tts"]
    tts["engines"] = ["espeak", "pico"]
    tts["pico"].update(variants=3, rates=[100], pitch_steps=[1.0], negatives_per_variant=1)
    params["trigger_word"]["split"].update(dev_fraction=0.25, test_fraction=0.25)
    file = write_params(tmp_path / "params.yaml", params)
    assert main(["collect", "--params", str(file)]) == 0 and main(["split", "--params", str(file)]) == 0
    root = tmp_path / "data" / "trigger_word"
    words = pd.concat([pd.read_parquet(root / "collect" / f"{k}.parquet") for k in ("positives", "negatives")])
    p = words[words.source == "pico"]
    assert len(p) == 6 and p.group.nunique() == 3 and (p.kind == "positive").sum() == 3
    assert set(p.licence) == {"Apache-2.0"} and set(p.voice) == {"en-US", "en-GB"} and p.train_only.all()
    assigned = pd.read_parquet(root / "split" / "assignments.parquet")
    assert set(assigned[assigned.group.str.startswith("pico:")].split) == {"train"}
    espeak = assigned[assigned.group.str.startswith("tts:")]
    assert {"train", "dev", "test"} == set(espeak.split)
