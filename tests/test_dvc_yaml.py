from __future__ import annotations

from flows.dvc_stages import main
from tests.conftest import ROOT


def test_dvc_yaml_is_generated_from_the_flows():
    assert main(["--check", "--file", str(ROOT / "dvc.yaml")]) == 0


def test_params_presets_are_rendered_from_params_yaml():
    from flows.presets import main as presets_main

    assert presets_main(["--check"]) == 0
