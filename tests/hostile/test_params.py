"""Params: no silent defaults for a missing section, no coercion between types, validated flags."""

from __future__ import annotations

import pytest

from tasks.config import load_params
from tasks.errors import ParamsError
from tasks.trigger_word.config import TriggerWordParams
from tests.conftest import write_params
from tests.hostile.helpers import PARAMS, detector_folder


def load(tmp_path, params, section="trigger_word"):
    from tasks.art.config import ArtParams
    from tasks.day_night.config import DayNightParams
    from tasks.faces.config import FacesParams

    models = {"trigger_word": TriggerWordParams, "day_night": DayNightParams, "faces": FacesParams,
              "art": ArtParams}
    return load_params(write_params(tmp_path / "p.yaml", params), section, models[section])


@pytest.mark.parametrize("section", ["trigger_word", "day_night", "faces", "art"])
@pytest.mark.parametrize("how", ["missing", "null"])
def test_a_missing_or_null_pipeline_section_is_an_error_naming_it(tmp_path, real_params, section, how):
    if how == "missing":
        del real_params[section]
    else:
        real_params[section] = None
    with pytest.raises(ParamsError, match=f"section '{section}' is {how}"):
        load(tmp_path, real_params, section)


def test_a_missing_base_section_is_an_error(tmp_path, real_params):
    del real_params["base"]
    with pytest.raises(ParamsError, match="section 'base' is missing"):
        load(tmp_path, real_params)


@pytest.mark.parametrize("path", [("collect",), ("collect", "tts"), ("train", "model")])
def test_a_missing_or_null_sub_section_is_named(tmp_path, real_params, path):
    """The issue's case: without collect.tts, all 704 voices and the 44.1 kHz code defaults were used."""
    parent = real_params["trigger_word"]
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = None
    with pytest.raises(ParamsError, match="trigger_word." + ".".join(path)):
        load(tmp_path, real_params)
    del parent[path[-1]]
    with pytest.raises(ParamsError, match="trigger_word." + ".".join(path)):
        load(tmp_path, real_params)


@pytest.mark.parametrize("edit, key", [
    (lambda p: p["trigger_word"]["collect"]["tts"].update(voices=True), "trigger_word.collect.tts.voices"),
    (lambda p: p["trigger_word"]["synthesize"].update(clip_seconds="10"), "trigger_word.synthesize.clip_seconds"),
    (lambda p: p["base"].update(workers="2"), "base.workers"),
    (lambda p: p["trigger_word"]["collect"]["checks"].update(silence_dbfs=float("nan")),
     "trigger_word.collect.checks.silence_dbfs"),
    (lambda p: p["trigger_word"]["train"].update(learning_rate=float("inf")), "trigger_word.train.learning_rate"),
    (lambda p: p["trigger_word"]["collect"]["tts"].update(rates=[140.5, 175]), "trigger_word.collect.tts.rates"),
])
def test_values_of_the_wrong_type_are_not_coerced(tmp_path, real_params, edit, key):
    edit(real_params)
    with pytest.raises(ParamsError) as err:
        load(tmp_path, real_params)
    assert key in str(err.value)


def test_numbers_written_as_people_write_them_still_load(tmp_path, real_params):
    text = write_params(tmp_path / "p.yaml", real_params).read_text()
    text = text.replace("learning_rate: ", "learning_rate: 1e-3 #", 1).replace("seconds: 30.0", "seconds: 30", 1)
    (tmp_path / "p.yaml").write_text(text)
    _, tw = load_params(tmp_path / "p.yaml", "trigger_word", TriggerWordParams)
    assert tw.train.learning_rate == 0.001 and tw.collect.generated_backgrounds.seconds == 30.0


@pytest.mark.parametrize("value", ["1.5", "nan", "-1", "inf", "high"])
def test_detect_threshold_outside_0_1_is_refused_on_the_command_line(tmp_path, capsys, value):
    from flows.trigger_word.__main__ import main

    model = detector_folder(tmp_path / "model")
    with pytest.raises(SystemExit) as exit_:
        main(["detect", str(tmp_path / "a.wav"), "--checkpoint", str(model), f"--threshold={value}",
              "--params", PARAMS])
    assert exit_.value.code == 2
    assert "--threshold" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["-1", "true", "2.5"])
def test_dataset_clips_must_be_a_whole_number(tmp_path, capsys, value):
    from flows.trigger_word.__main__ import main

    with pytest.raises(SystemExit):
        main(["dataset", "--positives", str(tmp_path), "--out", str(tmp_path / "o"), "--clips", value,
              "--params", PARAMS])
    assert "--clips" in capsys.readouterr().err
