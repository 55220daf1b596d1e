"""A scheduled pipeline: `python -m flows.pipeline serve --interval` against a real server."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time

import pytest

from tests.flows.test_pipeline_helpers import PY, Server, dvc, env, tiny_repo

pytestmark = pytest.mark.slow


def completed_scheduled_runs(url: str) -> list:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    async def fetch():
        with temporary_settings({PREFECT_API_URL: url}):
            async with get_client() as client:
                return await client.read_flow_runs()

    # state name Completed: a run that overlapped a longer one ends Completed too, named Skipped
    return [r for r in asyncio.run(fetch()) if r.deployment_id and r.state and r.state.name == "Completed"]


def test_interval_schedule_runs_then_stops_cleanly(tmp_path):
    repo = tiny_repo(tmp_path / "repo")
    server = Server(tmp_path / "prefect")
    serve = None
    try:
        serve = subprocess.Popen([PY, "-m", "flows.pipeline", "serve", "--interval", "15", "--stages",
                                  "tw_collect", "--lock-timeout", "0"], cwd=repo,
                                 env=env(**server.client_env(PREFECT_RUNNER_POLL_FREQUENCY="2")),
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 300
        runs: list = []
        while not runs and time.monotonic() < deadline and serve.poll() is None:
            time.sleep(3)
            runs = completed_scheduled_runs(server.url)
        serve.send_signal(signal.SIGTERM)
        out = serve.communicate(timeout=120)[0]
        assert runs, out[-4000:]
        assert serve.returncode == 0, out[-4000:]
        assert "Data and pipelines are up to date" in dvc(repo, "status", "tw_collect").stdout
    finally:
        if serve is not None and serve.poll() is None:
            serve.kill()
        server.stop()
