"""The pipeline flow's stage runner: stale stages side by side, each through `dvc repro`.

DVC releases its repository lock while a stage's command runs and takes it again to record
the results in dvc.lock (``--wait-for-lock`` waits for it instead of failing), and it locks
each stage's deps for reading and outs for writing (`.dvc/tmp/rwlock`). So stages with no
path in common can run as separate `dvc repro --single-item` processes at once and DVC itself
records each, exactly as a serial `dvc repro` does. :func:`run_stages` starts a stage once
every stage upstream of it has finished, up to ``workers`` at a time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, wait
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.states import Completed

from flows.nesting import PARENT_ENV
from flows.pipeline_plan import Plan, stale_stages
from flows.runtime import RUNNER_ENV, logger, stop_process_group
from tasks.errors import ParamsError

WORKERS_ENV = "DLPIPES_PIPELINE_WORKERS"


class StageFailed(RuntimeError):
    """A stage's `dvc repro` exited non-zero; the message names the stage and its last lines."""


def default_workers() -> int:
    """Stages run at once: ``$DLPIPES_PIPELINE_WORKERS``, else 2 (the stages use threads themselves)."""
    value = os.environ.get(WORKERS_ENV, "").strip() or "2"
    if not value.isdigit() or int(value) < 1:
        raise ParamsError(f"{WORKERS_ENV}={value!r}: give a whole number of stages, at least 1")
    return int(value)


def stage_env(task_runner: str | None) -> dict[str, str]:
    """Environment of a stage process: same Prefect server, this Python first on PATH."""
    env = dict(os.environ)
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    env["PYTHONUNBUFFERED"] = "1"
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    if "PREFECT_API_URL" not in env:  # an ephemeral server: stages report to this one too
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            env["PREFECT_API_URL"] = str(client.api_url).rstrip("/")
    if task_runner:
        env[RUNNER_ENV] = task_runner
    return env


def child_env(env: dict[str, str]) -> dict[str, str]:
    """``env`` naming this task run as the parent of the flow run its process starts."""
    from prefect.context import TaskRunContext

    ctx = TaskRunContext.get()
    return {**env, PARENT_ENV: str(ctx.task_run.id)} if ctx else env


_RUNNING: dict[int, subprocess.Popen] = {}  # stage processes now running, by pid
_RUNNING_LOCK = threading.Lock()


def stop_running() -> None:
    """End every running stage's process group, all at once (the flow is being stopped)."""
    with _RUNNING_LOCK:
        procs = list(_RUNNING.values())
    threads = [threading.Thread(target=stop_process_group, args=(p,)) for p in procs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def stream(cmd: list[str], repo_dir: str, env: dict[str, str], what: str) -> tuple[int, list[str]]:
    """Run ``cmd`` in its own process group, its output into this run's log: (exit code, last lines)."""
    log = logger()
    tail: list[str] = []
    # Its own process group, so that stopping this flow stops dvc and the stage with it.
    with subprocess.Popen(cmd, cwd=repo_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors="replace", start_new_session=True) as proc:
        assert proc.stdout is not None
        with _RUNNING_LOCK:
            _RUNNING[proc.pid] = proc
        try:
            for raw in proc.stdout:
                line = raw.rstrip("\n").split("\r")[-1].rstrip()  # a progress bar's last state
                if line:
                    log.info("%s", line)
                    tail = [*tail[-19:], line]
        except BaseException:  # SIGTERM (Prefect's TerminationSignal), Ctrl-C, a cancelled run
            log.warning("pipeline: stopped; ending %s (dvc pid %d) and its children", what, proc.pid)
            stop_process_group(proc)
            raise
        finally:
            with _RUNNING_LOCK:
                _RUNNING.pop(proc.pid, None)
    return proc.returncode or 0, tail


@task(name="stage", cache_policy=NO_CACHE, task_run_name="{stage}")
def run_stage(stage: str, repo_dir: str, env: dict[str, str]) -> float:
    """`dvc repro --single-item <stage>`, its output in this task run's log, its flow run under it."""
    start = time.monotonic()
    cmd = [sys.executable, "-m", "dvc", "--wait-for-lock", "repro", "--single-item", stage]
    code, tail = stream(cmd, repo_dir, child_env(env), f"stage {stage}")
    if code:
        raise StageFailed(f"stage {stage} failed (dvc repro exit {code}); its previous outputs "
                          "are left as they were. Last lines:\n" + "\n".join(tail))
    return time.monotonic() - start


@task(name="stage", cache_policy=NO_CACHE, task_run_name="{stage}")
def skip_stage(stage: str, reason: str) -> Completed:
    """A stage DVC found up to date: shown as a task run in state Skipped."""
    return Completed(name="Skipped", message=f"{stage}: {reason}")


def run_stages(repo_dir: Path, plan: Plan, order: list[str], workers: int, task_runner: str | None,
               rows: list[dict]) -> None:
    """Run the stale stages of ``order``, up to ``workers`` at once, each after its upstream ones.

    Appends one row per stage to ``rows`` (kept up to date as stages end). A failed stage stops
    the stages downstream of it; the others run on and are recorded. Raises StageFailed at the
    end, naming every stage that failed.
    """
    log = logger()
    stale = dict(plan.stale)
    upstream, selected = plan.upstream(), set(order)
    env = stage_env(task_runner) if stale else {}
    row = {s: {"stage": s, "status": "not run", "seconds": 0.0} for s in order}
    rows += row.values()
    pending, finished, ran, broken = list(order), set(), set(), set()
    running: dict[Future, tuple[str, float, Any]] = {}  # wrapped future -> (stage, start, future)
    errors: list[str] = []

    def start_ready() -> None:
        progress = True
        while progress:
            progress = False
            for stage in list(pending):
                needs = plan.direct[stage] & selected
                if needs & broken:  # an upstream stage failed or did not run: neither does this one
                    pending.remove(stage)
                    broken.add(stage)
                    continue
                if not needs <= finished or len(running) >= workers:
                    continue
                pending.remove(stage)
                if stage not in stale and upstream[stage] & ran:  # an upstream stage changed
                    stale.update(stale_stages(repo_dir, [stage]))
                if stage not in stale:
                    skip_stage(stage, "up to date")
                    row[stage]["status"] = "skipped"
                    finished.add(stage)
                    progress = True  # stages after it may be ready now
                    continue
                row[stage]["status"] = "running"
                future = run_stage.submit(stage, str(repo_dir), env)
                running[future.wrapped_future] = (stage, time.monotonic(), future)

    try:
        start_ready()
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in done:
                stage, start, future = running.pop(fut)
                row[stage]["seconds"] = round(time.monotonic() - start, 1)
                try:
                    future.result()
                except Exception as exc:  # noqa: BLE001 - reported at the end; the others go on
                    row[stage]["status"] = "failed"
                    broken.add(stage)
                    errors.append(str(exc))
                    log.error("pipeline: %s", str(exc).splitlines()[0])
                else:
                    row[stage]["status"] = "ran"
                    ran.add(stage)
                    finished.add(stage)
            start_ready()
    except BaseException:  # SIGTERM, Ctrl-C, a cancelled run: end every stage process
        stop_running()
        raise
    finally:
        for r in row.values():
            if r["status"] == "running":
                r["status"] = "failed"
    if errors:
        raise StageFailed("\n\n".join(errors))
