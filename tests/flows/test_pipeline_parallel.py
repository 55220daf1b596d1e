"""Independent stages side by side: dvc.lock as a serial `dvc repro` leaves it, failures contained,
each stage's flow run nested under the pipeline run (a real Prefect server, a toy DVC repo)."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.flows.test_pipeline_helpers import PY, Server, dvc, env, sh

# A stage: a real Prefect flow (nested by flows.nesting like the project's stages). With --meet
# it waits (up to $TOY_MEET_S) for the other stage to start, so the two finish together.
STAGE = '''
import os, sys, time
from pathlib import Path
from prefect import flow
from flows.nesting import as_child_run

@flow(name="toy-stage")
def stage(name: str, out: str, inputs: list[str], meet: str, fail: bool) -> None:
    sync = Path("sync"); sync.mkdir(exist_ok=True)
    (sync / name).touch()
    deadline = time.monotonic() + float(os.environ.get("TOY_MEET_S", "60"))
    while meet and not (sync / meet).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    if meet and (sync / meet).exists():
        (sync / f"{name}.met").touch()
    if fail:
        raise RuntimeError(f"{name}: failing on purpose")
    text = name + "".join(Path(i).read_text() for i in inputs)
    Path(out).parent.mkdir(exist_ok=True)
    Path(out).write_text(text)

name, out, meet, fail, *inputs = sys.argv[1:]
as_child_run(stage)(name, out, inputs, meet if meet != "-" else "", fail == "1")
'''


def toy_stage(name: str, deps: list[str] = (), meet: str = "-", fail: bool = False) -> dict:
    out = f"out/{name}.txt"
    return {"cmd": f"python stage.py {name} {out} {meet} {int(fail)} {' '.join(deps)}".strip(),
            "deps": ["stage.py", *deps], "outs": [out]}


def toy_repo(dest: Path, failing: bool) -> Path:
    """a and b meet (side by side), c reads both, d stands alone; failing adds bad -> after_bad."""
    stages = {"a": toy_stage("a", meet="b"), "b": toy_stage("b", meet="a"),
              "c": toy_stage("c", ["out/a.txt", "out/b.txt"]), "d": toy_stage("d")}
    if failing:
        stages |= {"bad": toy_stage("bad", fail=True), "after_bad": toy_stage("after_bad", ["out/bad.txt"])}
    dest.mkdir(parents=True)
    (dest / "stage.py").write_text(STAGE)
    (dest / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}, sort_keys=False))
    (dest / ".gitignore").write_text("sync/\n")
    sh(["git", "init", "-q"], dest)
    dvc(dest, "init", "-q")
    dvc(dest, "config", "core.analytics", "false")
    return dest


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("prefect"))
    yield srv
    srv.stop()


def pipeline(repo: Path, server: Server, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PY, "-m", "flows.pipeline", "--workers", "2", *args], cwd=repo,
                          env=env(**server.client_env()), capture_output=True, text=True, timeout=600)


def test_parallel_run_leaves_dvc_lock_as_serial_dvc_repro_does(tmp_path, server):
    par = toy_repo(tmp_path / "parallel", failing=False)
    ser = tmp_path / "serial"
    shutil.copytree(par, ser)
    start = time.monotonic()
    out = pipeline(par, server)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert (par / "sync" / "a.met").exists() and (par / "sync" / "b.met").exists()  # ran side by side
    dvc(ser, "repro", TOY_MEET_S="0", **server.client_env())
    assert (par / "dvc.lock").read_bytes() == (ser / "dvc.lock").read_bytes()
    assert "Data and pipelines are up to date" in dvc(par, "status").stdout
    assert (par / "out" / "c.txt").read_text() == "cab"
    assert time.monotonic() - start < 300


def test_failed_stage_stops_only_its_downstream_and_runs_nest_under_the_pipeline(tmp_path, server):
    from tests.flows.test_pipeline import prefect_records

    repo = toy_repo(tmp_path / "repo", failing=True)
    out = pipeline(repo, server)
    text = out.stdout + out.stderr
    assert out.returncode == 1, text[-3000:]
    assert "stage bad failed" in out.stderr and "failing on purpose" in text
    assert "| bad | failed |" in out.stderr and "| after_bad | not run |" in out.stderr
    for stage in "abcd":
        assert f"| {stage} | ran |" in out.stderr
    assert (repo / "sync" / "a.met").exists() and (repo / "sync" / "b.met").exists()
    assert "Data and pipelines are up to date" in dvc(repo, "status", "a", "b", "c", "d").stdout
    lock = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]
    assert list(lock) == ["a", "b", "c", "d"]  # dvc repro's order, whatever order they finished in
    assert not (repo / "out" / "after_bad.txt").exists()

    flow_runs, task_runs, _ = prefect_records(server.url)
    task_by_id = {t.id: t for t in task_runs}
    pipeline_run = max((r for r in flow_runs if r.parent_task_run_id is None and r.state.is_failed()),
                       key=lambda r: r.created)
    toy = {r.parameters["name"]: r for r in flow_runs if r.parameters.get("name") in {"a", "b", "c", "d", "bad"}
           and r.created >= pipeline_run.created}
    assert set(toy) == {"a", "b", "c", "d", "bad"}
    for name, run in toy.items():
        parent = task_by_id[run.parent_task_run_id]  # the stage's task run...
        assert parent.name == name and parent.flow_run_id == pipeline_run.id  # ...in the pipeline run
    assert toy["bad"].state.is_failed() and toy["a"].state.is_completed()


PARAM_STAGE = '''
import sys, yaml
from pathlib import Path
p = yaml.safe_load(Path("params.yaml").read_text())
Path("out").mkdir(exist_ok=True)
Path(sys.argv[2]).write_text(repr(p[sys.argv[1]]))
'''


def test_a_preset_runs_as_an_experiment_and_leaves_tracked_files_alone(tmp_path, server):
    import json

    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "stage.py").write_text(PARAM_STAGE)
    (repo / "params.yaml").write_text("a:\n  n: 1\n  words: [x, y]\nb:\n  k: 2\n")
    (repo / "params-big.yaml").write_text("a:\n  n: 5\n  words: [x, y, z]\nb:\n  k: 2\n")
    stages = {s: {"cmd": f"python stage.py {s} out/{s}.txt", "deps": ["stage.py"], "params": [s],
                  "outs": [f"out/{s}.txt"]} for s in "ab"}
    (repo / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}))
    sh(["git", "init", "-q"], repo)
    dvc(repo, "init", "-q")
    dvc(repo, "config", "core.analytics", "false")
    assert pipeline(repo, server).returncode == 0  # the demo scale, committed as users have it
    sh(["git", "add", "-A"], repo)
    sh(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "demo"], repo)
    tracked = {p: (repo / p).read_bytes() for p in ("params.yaml", "dvc.lock", "out/a.txt")}

    out = pipeline(repo, server, "--params", "params-big.yaml")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert sh(["git", "status", "--porcelain"], repo).stdout == ""  # nothing tracked changed
    assert {p: (repo / p).read_bytes() for p in tracked} == tracked
    shown = json.loads(dvc(repo, "exp", "show", "--json").stdout)
    exps = [e for row in shown for e in row.get("experiments") or []]
    assert len(exps) == 1 and exps[0]["name"].startswith("big-")
    params = exps[0]["revs"][0]["data"]["params"]["params.yaml"]["data"]
    assert params["a"] == {"n": 5, "words": ["x", "y", "z"]} and params["b"] == {"k": 2}
    assert "Running stage 'a'" in out.stdout + out.stderr  # only the stage whose params changed ran
    assert "Running stage 'b'" not in out.stdout + out.stderr


def test_preset_overrides_are_the_keys_that_differ(tmp_path):
    from flows.presets import experiment_name, set_arguments
    from tasks.errors import ParamsError
    from tests.conftest import ROOT

    args = set_arguments(ROOT / "params.yaml", ROOT / "params-lecture.yaml")
    assert "trigger_word.synthesize.ty=1375" in args and "trigger_word.features.sample_rate=null" in args
    assert args[::2] == ["-S"] * (len(args) // 2) and not any(a.startswith("day_night") for a in args)
    assert experiment_name(Path("params-full.yaml")) == "full"
    (tmp_path / "typo.yaml").write_text("base: {sead: 1}\n")
    with pytest.raises(ParamsError, match="base.sead"):
        set_arguments(ROOT / "params.yaml", tmp_path / "typo.yaml")


def test_lock_order_is_restored_to_dvc_repro_s(tmp_path):
    from flows.pipeline_plan import restore_lock_order

    sh(["git", "init", "-q"], tmp_path)
    dvc(tmp_path, "init", "-q")
    block = {n: f"  {n}:\n    cmd: python stage.py {n}\n    outs:\n    - path: out/{n}.txt\n      hash: md5\n"
                f"      md5: {n * 32}\n      size: 1\n" for n in "abc"}
    head = "schema: '2.0'\nstages:\n"
    lock = tmp_path / "dvc.lock"
    lock.write_text(head + block["b"] + block["c"] + block["a"])  # b was there; c and a finished in that order
    assert restore_lock_order(tmp_path, ["b"], ["a", "b", "c"])
    assert lock.read_text() == head + block["b"] + block["a"] + block["c"]  # kept b first, new ones in order
    assert not restore_lock_order(tmp_path, ["b"], ["a", "b", "c"])  # already so: file left alone
