from __future__ import annotations

import pytest

from tasks.config import load_params
from tasks.errors import ParamsError
from tasks.trigger_word.config import TriggerWordParams
from tests.conftest import ROOT, write_params

PRESETS = sorted(ROOT.glob("params*.yaml"))


@pytest.mark.parametrize("path", PRESETS, ids=[p.name for p in PRESETS])
def test_every_params_preset_validates_and_labels_fit_the_model(path):
    """Each preset's label length Ty is what its features and model really produce."""
    from flows.trigger_word.features import feature_spec

    base, tw = load_params(path, "trigger_word", TriggerWordParams)
    assert base.seed >= 0
    spec = feature_spec(tw.features, tw.collect.sample_rate)  # the features stage's own settings
    frames = spec.n_frames(int(tw.synthesize.clip_seconds * spec.sample_rate))
    m = tw.train.model
    assert tw.synthesize.ty == (frames - m.conv_kernel) // m.conv_stride + 1


@pytest.mark.parametrize("edit, key", [
    (lambda p: p["trigger_word"]["synthesize"]["clips"].update(train=-1), "trigger_word.synthesize.clips"),
    (lambda p: p["trigger_word"]["split"].update(test_fraction=1.5), "trigger_word.split.test_fraction"),
    (lambda p: p["trigger_word"]["collect"].update(colour="red"), "trigger_word.collect.colour"),
    (lambda p: p["base"].update(seed=-3), "base.seed"),
    (lambda p: p["trigger_word"]["collect"]["tts"].update(rates=[20]), "trigger_word.collect.tts.rates"),
    (lambda p: p["trigger_word"]["collect"]["generated_backgrounds"].update(babble_words=["hi", "Activate"]),
     "trigger_word.collect"),
])
def test_invalid_value_names_the_key(real_params, tmp_path, edit, key):
    edit(real_params)
    with pytest.raises(ParamsError) as err:
        load_params(write_params(tmp_path / "p.yaml", real_params), "trigger_word", TriggerWordParams)
    assert key in str(err.value)


def test_unknown_section_is_rejected(real_params, tmp_path):
    real_params["trigger_wrod"] = {}
    with pytest.raises(ParamsError, match="unknown section.*trigger_wrod"):
        load_params(write_params(tmp_path / "p.yaml", real_params), "trigger_word", TriggerWordParams)


def test_missing_file(tmp_path):
    with pytest.raises(ParamsError, match="not found"):
        load_params(tmp_path / "nope.yaml", "trigger_word", TriggerWordParams)
