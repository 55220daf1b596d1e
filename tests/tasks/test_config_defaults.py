"""Code defaults agree with params.yaml: deleting a key from params.yaml changes nothing.

Walks every key params.yaml sets against the params models; a field with a default must have
params.yaml's value (a field without one is required, which is also fine).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, TypeAdapter

from tasks.art.config import ArtParams
from tasks.config import BaseParams, read_yaml
from tasks.day_night.config import DayNightParams
from tasks.faces.config import FacesParams
from tasks.trigger_word.config import TriggerWordParams
from tests.conftest import ROOT

SECTIONS: dict[str, type[BaseModel]] = {"base": BaseParams, "trigger_word": TriggerWordParams,
                                        "day_night": DayNightParams, "faces": FacesParams, "art": ArtParams}


def disagreements(data: dict[str, Any], model: type[BaseModel], where: str) -> list[str]:
    """``where.key: code default X, params.yaml Y`` for every key of ``data`` whose default differs."""
    out: list[str] = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key not in data:
            continue
        sub = field.annotation
        if isinstance(sub, type) and issubclass(sub, BaseModel) and isinstance(data[key], dict):
            out += disagreements(data[key], sub, f"{where}.{key}")
            continue
        if field.is_required():
            continue
        adapter = TypeAdapter(field.annotation)
        code = adapter.dump_python(field.get_default(call_default_factory=True), mode="json")
        yaml_value = adapter.dump_python(adapter.validate_python(data[key]), mode="json")
        if code != yaml_value:
            out.append(f"{where}.{key} ({model.__name__}.{name}): code default {code!r}, params.yaml {yaml_value!r}")
    return out


def test_every_code_default_equals_params_yaml():
    raw = read_yaml(ROOT / "params.yaml")
    assert set(raw) == set(SECTIONS)  # a new section needs its model here
    problems = [p for section, model in SECTIONS.items() for p in disagreements(raw[section], model, section)]
    assert not problems, "code defaults that disagree with params.yaml:\n" + "\n".join(problems)


def test_the_walk_finds_a_disagreement():
    data = {"synthesize": {"ty": 1375}, "evaluate": {"refractory_s": 1.0}}
    found = disagreements(data, TriggerWordParams, "trigger_word")
    assert len(found) == 2 and "trigger_word.synthesize.ty" in found[0] and "1375" in found[0]
