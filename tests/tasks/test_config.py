from __future__ import annotations

import pytest

from tasks.config import load_params
from tasks.errors import ParamsError
from tasks.trigger_word.config import TriggerWordParams
from tests.conftest import write_params


def test_real_params_validate(real_params, tmp_path):
    base, tw = load_params(write_params(tmp_path / "p.yaml", real_params), "trigger_word", TriggerWordParams)
    assert base.seed == real_params["base"]["seed"]
    assert tw.synthesize.ty == 1375


@pytest.mark.parametrize("edit, key", [
    (lambda p: p["trigger_word"]["synthesize"]["clips"].update(train=-1), "trigger_word.synthesize.clips"),
    (lambda p: p["trigger_word"]["split"].update(test_fraction=1.5), "trigger_word.split.test_fraction"),
    (lambda p: p["trigger_word"]["collect"].update(colour="red"), "trigger_word.collect.colour"),
    (lambda p: p["base"].update(seed=-3), "base.seed"),
    (lambda p: p["trigger_word"]["collect"]["tts"].update(rates=[20]), "trigger_word.collect.tts.rates"),
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
