"""Process hygiene: a stopped pipeline ends its children, reports stay while a stage runs, the
server says when it is reachable by others."""

from __future__ import annotations

import os
import signal
import subprocess
import textwrap
import time

import pytest
import yaml

from flows.server import exposure_warning
from tests.conftest import ROOT
from tests.flows.test_pipeline_helpers import PY, Server, dvc, env, sh


@pytest.mark.parametrize("host, warned", [("0.0.0.0", True), ("192.168.1.20", True), ("::", True),
                                          ("example.org", True), ("127.0.0.1", False), ("localhost", False),
                                          ("::1", False), ("127.0.0.2", False)])
def test_server_start_warns_when_others_can_reach_it(host, warned):
    message = exposure_warning(host, 4200)
    assert (message is not None) == warned
    if warned:
        assert "no authentication" in message and host in message


def test_every_output_metrics_and_plots_file_persists_while_its_stage_runs():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    entries = [(name, e) for name, s in stages.items() for kind in ("outs", "metrics", "plots") for e in s.get(kind, [])]
    assert entries and all(next(iter(e.values()))["persist"] is True for _, e in entries)


def test_dvc_keeps_a_persisted_metrics_file_until_the_stage_replaces_it(tmp_path):
    """DVC deletes a stage's non-persisted metrics before running it; persisted ones stay."""
    sh(["git", "init", "-q"], tmp_path)
    dvc(tmp_path, "init", "-q")
    (tmp_path / "m.json").write_text('{"run": 0}\n')
    check = "test -f m.json && echo seen > seen.txt; echo '{\"run\": 1}' > m.json"
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"report": {
        "cmd": check, "metrics": [{"m.json": {"cache": False, "persist": True}}]}}}))
    dvc(tmp_path, "repro", "-q")
    assert (tmp_path / "seen.txt").is_file() and '"run": 1' in (tmp_path / "m.json").read_text()


STAGE = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from prefect import flow

    @flow(name="slow-stage")
    def slow() -> None:
        Path("stage.pid").write_text(str(os.getpid()))
        time.sleep(300)

    slow()
""")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie waiting for its parent counts as ended
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.slow
def test_sigterm_to_the_pipeline_ends_dvc_and_the_stage_and_marks_their_runs(tmp_path):
    from tests.flows.test_pipeline import prefect_records

    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("flows", "tasks", "models"):
        os.symlink(ROOT / name, repo / name)
    (repo / "stage.py").write_text(STAGE)
    (repo / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"slow": {"cmd": f"{PY} stage.py",
                                                                       "deps": ["stage.py"], "outs": ["out"]}}}))
    (repo / "params.yaml").write_text("base: {seed: 0}\n")
    sh(["git", "init", "-q"], repo)
    dvc(repo, "init", "-q")
    server = Server(tmp_path / "prefect")
    try:
        proc = subprocess.Popen([PY, "-m", "flows.pipeline"], cwd=repo,
                                env=env(**server.client_env()), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        deadline = time.monotonic() + 240
        while not (repo / "stage.pid").is_file() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert (repo / "stage.pid").is_file(), proc.communicate()[0]
        stage_pid = int((repo / "stage.pid").read_text())
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=120)[0]
        assert proc.returncode != 0
        deadline = time.monotonic() + 30
        while alive(stage_pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not alive(stage_pid), output
        flow_runs, task_runs, _ = prefect_records(server.url)
        states = {r.name: r.state.type.value for r in flow_runs}
        assert len(flow_runs) == 2 and set(states.values()) <= {"CRASHED", "CANCELLED"}, states
        assert all(t.state.type.value in ("CRASHED", "CANCELLED", "FAILED") for t in task_runs)
    finally:
        server.stop()


def test_the_pipeline_removes_what_killed_stages_left_beside_their_outputs(tmp_path):
    from flows.pipeline import clean_killed_temps

    sh(["git", "init", "-q"], tmp_path)
    dvc(tmp_path, "init", "-q")
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"make": {
        "cmd": "mkdir -p data/out", "outs": ["data/out"], "metrics": [{"data/m.json": {"cache": False}}]}}}))
    finished = subprocess.Popen(["true"])
    finished.wait()
    dead = finished.pid  # a writer that is gone
    left = [tmp_path / "data" / f".out.tmp-{dead}-0123abcd", tmp_path / "data" / f".m.json.tmp-{dead}-0123abcd"]
    left[0].mkdir(parents=True)
    (left[0] / "part.bin").write_bytes(b"half")
    left[1].write_text("{")
    mine = tmp_path / "data" / f".out.tmp-{os.getpid()}-0123abcd"  # a live writer's: kept
    mine.mkdir()
    assert sorted(clean_killed_temps(tmp_path)) == sorted(left)
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == [mine.name]
