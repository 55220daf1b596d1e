"""DVC reads params.yaml once per stage; with libyaml (ruamel.yaml.clib) that costs a fifth of
pure Python. libyaml is stricter (YAML 1.1 in flow style), so every YAML file DVC reads must
parse to the same values with both readers, or a no-op `dvc repro` would fail outright."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
DVC_READS = sorted({*ROOT.glob("params*.yaml"), ROOT / "dvc.yaml", *ROOT.glob("dvc.lock")})


def test_libyaml_is_installed_for_dvc() -> None:
    from ruamel.yaml.main import CParser

    assert CParser is not None, "ruamel.yaml.clib is missing: run scripts/setup.sh (pyproject.toml pins it)"
    assert YAML(typ="safe").Parser is CParser


@pytest.mark.parametrize("path", DVC_READS, ids=lambda p: p.name)
def test_c_and_pure_readers_agree(path: Path) -> None:
    text = path.read_text()
    assert YAML(typ="safe").load(text) == YAML(typ="safe", pure=True).load(text), path


def test_bare_colon_in_flow_mapping_is_what_libyaml_refuses() -> None:
    # The case the quoting in params.yaml avoids: a reminder of why the check above exists.
    text = "pairs:\n  - {content: builtin:china}\n"
    assert YAML(typ="safe", pure=True).load(text) == {"pairs": [{"content": "builtin:china"}]}
    with pytest.raises(Exception, match="unexpected ':'"):
        YAML(typ="safe").load(text)
