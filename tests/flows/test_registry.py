"""The stage registry: code deps are the import closure, stale exactly where the code changed; bad entries refused."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml

from flows.dvc_stages import all_stages, render
from flows.registry import (
    RegistryError,
    Stage,
    check_registry,
    dvc_entry,
    import_closure,
    out,
    report,
)
from tests.conftest import ROOT
from tests.flows.test_pipeline_helpers import dvc, init_repo

CODE = ("flows/", "tasks/", "models/")


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def test_the_real_dvc_yaml_lists_exactly_each_stages_import_closure():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    registry = all_stages()
    assert list(stages) == [s.name for s in registry]
    for stage in registry:
        entry = stages[stage.name]
        assert entry["cmd"] == f"python -m {stage.module}"
        code = [d for d in entry["deps"] if d.startswith(CODE)]
        assert code == import_closure(stage.module), stage.name
        assert all((ROOT / d).is_file() for d in code)
    # The modules the issue found missing from tw_train's hand-written deps are there now.
    train = stages["tw_train"]["deps"]
    assert {"tasks/trigger_word/features.py", "tasks/trigger_word/inference.py"} <= set(train)
    # A stage's closure holds no other stage's flow module (package __init__ files import nothing).
    assert not [d for d in train if d.startswith("flows/trigger_word/") and d not in (
        "flows/trigger_word/__init__.py", "flows/trigger_word/train.py")]


def test_each_stage_module_is_runnable_and_the_pipeline_cli_has_its_stages():
    from flows.trigger_word.__main__ import build_parser

    for stage in all_stages():
        fn = stage.run_function()
        source = Path(fn.__code__.co_filename).read_text()
        assert 'if __name__ == "__main__":' in source and "stage_main(run" in source, stage.module
    args = build_parser().parse_args(["train", "--params", "p.yaml", "--task-runner", "processes"])
    assert (args.command, args.params, args.task_runner) == ("train", Path("p.yaml"), "processes")


def test_import_closure_follows_every_kind_of_import(tmp_path):
    write(tmp_path, {
        "flows/__init__.py": '"""x"""\n',  # only a docstring: runs nothing, left out
        "flows/entry.py": """
            import tasks.deep.leaf
            from tasks import sub
            from . import sibling

            def later():
                from tasks.lazy import thing  # function level
            """,
        "flows/sibling.py": "X = 1\n",
        "flows/unused.py": "X = 2\n",
        "tasks/__init__.py": "",  # empty: runs nothing, left out
        "tasks/deep/__init__.py": '"""deep"""\nY = 1\n',  # a docstring and code: kept
        "tasks/deep/leaf.py": "import numpy\n",
        "tasks/sub.py": "from .relative import z\n",
        "tasks/relative.py": "z = 1\n",
        "tasks/lazy.py": "thing = 1\n",
    })
    assert import_closure("flows.entry", tmp_path) == [
        "flows/entry.py", "flows/sibling.py", "tasks/deep/__init__.py",
        "tasks/deep/leaf.py", "tasks/lazy.py", "tasks/relative.py", "tasks/sub.py"]


TINY = {
    "flows/__init__.py": '"""tiny flows"""\n',
    "tasks/__init__.py": '"""tiny tasks"""\n',
    "tasks/common.py": "VALUE = 1\n",
    "tasks/shared.py": "VALUE = 2\n",
    "tasks/a.py": "from tasks.common import VALUE\n",
    "tasks/c.py": "from tasks import common\n",
    "tasks/b.py": """
        def value():
            from tasks.shared import VALUE  # imported only when called
            return VALUE
        """,
}
ENTRY = """
from pathlib import Path

{imports}


def run():
    Path("out").mkdir(exist_ok=True)
    Path("out/{name}.txt").write_text(str(v))


if __name__ == "__main__":
    run()
"""
TINY |= {f"flows/{name}.py": ENTRY.format(name=name, imports=imports) for name, imports in (
    ("one", "from tasks.a import VALUE as v"),
    ("two", "from tasks.b import value\n\nv = value()"),
    ("three", "from tasks import c\n\nv = c.common.VALUE"))}


def stale(repo: Path) -> set[str]:
    return set(json.loads(dvc(repo, "status", "--json").stdout or "{}"))


def test_editing_a_module_makes_exactly_the_stages_importing_it_stale(tmp_path):
    repo = tmp_path / "repo"
    write(repo, TINY)
    stages = [Stage(n, n, f"flows.{n}:run", n, outs=[f"out/{n}.txt"]) for n in ("one", "two", "three")]
    entries = {s.name: dvc_entry(s, repo) for s in stages}
    assert entries["two"]["deps"] == ["flows/two.py", "tasks/b.py", "tasks/shared.py"]  # docstring-only packages left out
    (repo / "dvc.yaml").write_text(yaml.safe_dump({"stages": entries}, sort_keys=False))
    init_repo(repo, "tiny")
    dvc(repo, "repro")
    assert (repo / "out" / "two.txt").read_text() == "2"
    assert stale(repo) == set()

    (repo / "tasks" / "shared.py").write_text("VALUE = 3\n")  # only a function-level import reaches it
    assert stale(repo) == {"two"}
    dvc(repo, "repro")
    assert (repo / "out" / "two.txt").read_text() == "3"
    (repo / "tasks" / "__init__.py").write_text('"""tiny tasks, reworded"""\n')  # a docstring runs nothing
    assert stale(repo) == set()
    (repo / "tasks" / "common.py").write_text("VALUE = 4\n")  # `from tasks import common` counts too
    assert stale(repo) == {"one", "three"}
    (repo / "tasks" / "__init__.py").write_text('"""tiny tasks"""\nVALUE = 5\n')  # code: a dep again
    assert all("tasks/__init__.py" in dvc_entry(s, repo)["deps"] for s in stages)


def test_overlapping_outputs_are_refused_naming_both_stages():
    a = Stage("st_a", "a", "flows.x:run", "a", outs=["data/p/out"])
    inside = Stage("st_b", "b", "flows.y:run", "b", plots=[report("data/p/out/curve.csv", x="x", y="y")])
    same = Stage("st_c", "c", "flows.z:run", "c", outs=[out("data/p/out", cache=False)])
    with pytest.raises(RegistryError, match=r"stages st_b and st_a: output data/p/out/curve.csv of st_b lies "
                                            r"inside output data/p/out of st_a"):
        check_registry([a, inside], {})
    with pytest.raises(RegistryError, match="stages st_a and st_c: both write data/p/out"):
        check_registry([a, same], {})
    check_registry([a, Stage("st_d", "d", "flows.w:run", "d", outs=["data/p/outer"])], {})  # a prefix, not inside


def test_unknown_params_keys_are_refused_naming_the_stage_and_the_key(tmp_path):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    del params["trigger_word"]["train"]["epochs"]
    broken = tmp_path / "params.yaml"
    broken.write_text(yaml.safe_dump(params))
    stages = all_stages()
    assert render(stages).startswith("# Generated")  # the real registry is valid
    bad = [*stages, Stage("tw_extra", "extra", "flows.trigger_word.train:run", "x",
                          params=["trigger_word.train.epochs", "trigger_word.nothing"])]
    with pytest.raises(RegistryError) as exc:
        render(bad, broken)
    message = str(exc.value)
    assert "stage tw_extra: params key 'trigger_word.nothing' does not exist in params.yaml" in message
    assert "stage tw_extra: params key 'trigger_word.train.epochs' does not exist" in message
    assert "stage tw_train" not in message  # tw_train reads the whole section, which is there


def test_dvc_stages_command_fails_on_a_bad_registry(monkeypatch, capsys, tmp_path):
    import flows.dvc_stages as D

    real = D.all_stages
    extra = Stage("tw_copy", "copy", "flows.trigger_word.train:run", "x", outs=["${base.data_dir}/trigger_word/train/x"])
    monkeypatch.setattr(D, "all_stages", lambda: [*real(), extra])
    target = tmp_path / "dvc.yaml"
    assert D.main(["--file", str(target)]) == 2
    assert not target.exists()
    assert ("stages tw_copy and tw_train: output ${base.data_dir}/trigger_word/train/x of tw_copy lies inside "
            "output ${base.data_dir}/trigger_word/train of tw_train") in capsys.readouterr().err
