"""The pipeline flow against a real Prefect server: two overlapping runs on a tiny repo copy."""

from __future__ import annotations

import asyncio
import subprocess

import pytest

from tests.flows.test_pipeline_helpers import PY, Server, dvc, env, tiny_repo

STAGES = ["tw_collect"]  # one quick stage: the full data stages run in the slow tests


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """A real server; two pipeline runs started together on the same tiny repo."""
    tmp = tmp_path_factory.mktemp("ops")
    repo = tiny_repo(tmp / "repo")
    server = Server(tmp / "prefect")
    try:
        cmd = [PY, "-m", "flows.pipeline", "--stages", *STAGES, "--lock-timeout", "600"]
        procs = [subprocess.Popen(cmd, cwd=repo, env=env(**server.client_env()), stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True) for _ in range(2)]
        outputs = [p.communicate(timeout=600)[0] for p in procs]
        yield repo, server, [p.returncode for p in procs], outputs
    finally:
        server.stop()


def test_both_runs_end_and_outputs_match_dvc_lock(two_runs):
    repo, _, codes, outputs = two_runs
    assert codes == [0, 0], outputs
    assert "Data and pipelines are up to date" in dvc(repo, "status", *STAGES).stdout
    # One run did the work; the other found nothing stale once it had the lock (it waited for it
    # when the runs overlapped; on a fast machine the first may be done before the second starts).
    assert sum("another pipeline run holds" in o for o in outputs) <= 1, outputs
    assert sum("1 of 1 stages stale" in o for o in outputs) == 1, outputs
    assert sum("0 of 1 stages stale" in o for o in outputs) == 1, outputs


def prefect_records(url: str) -> tuple[list, list, list]:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    async def fetch():
        with temporary_settings({PREFECT_API_URL: url}):
            async with get_client() as client:
                return (await client.read_flow_runs(), await client.read_task_runs(),
                        await client.read_artifacts())

    return asyncio.run(fetch())


def test_server_holds_flow_runs_task_runs_and_artifacts(two_runs):
    _, server, _, _ = two_runs
    flow_runs, task_runs, artifacts = prefect_records(server.url)
    pipeline_runs = [r for r in flow_runs if r.name and r.flow_id and r.state.is_completed()]
    assert len(pipeline_runs) == 3  # two pipeline runs and the stage's own flow run
    by_name = {}
    for t in task_runs:
        by_name.setdefault(t.name, []).append(t.state.name)
    assert sorted(by_name["tw_collect"]) == ["Completed", "Skipped"]
    keys = {a.key for a in artifacts if a.key}
    assert {"pipeline-stages", "pipeline-summary", "trigger-word-collect"} <= keys
    table = next(a for a in artifacts if a.key == "pipeline-stages" and "ran" in str(a.data))
    assert "tw_collect" in str(table.data)
    # The stage's own flow run is nested under the pipeline run, through the stage's task run.
    stage_run = next(r for r in flow_runs if r.parent_task_run_id)
    parent = next(t for t in task_runs if t.id == stage_run.parent_task_run_id)
    assert parent.name == "tw_collect" and parent.state.name == "Completed"
    assert parent.flow_run_id in {r.id for r in pipeline_runs if r.parent_task_run_id is None}

