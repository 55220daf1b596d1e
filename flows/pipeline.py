"""Prefect flow `pipeline`: run the stale stages of dvc.yaml, one `dvc repro --single-item` each.

dvc.yaml stays the one definition of stages, deps and outs; this flow asks DVC what is stale,
runs those stages in dependency order (so dvc.lock is updated) and reports every stage as a
task run named after it (state, duration, logs), ran or skipped. Each stage's own flow
reports to the same Prefect server as its own flow run. A file lock keeps two overlapping
runs (e.g. scheduled ones) from running stages at once.

    python -m flows.pipeline [--params FILE] [--task-runner R] [--stages PATTERN ...]
    python -m flows.pipeline serve --cron "0 3 * * *" | --interval SECONDS [same options]
"""

from __future__ import annotations

import argparse
import fcntl
import fnmatch
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Completed

from flows.runtime import (
    RUNNER_ENV,
    add_runner_argument,
    logger,
    markdown_table,
    publish_markdown,
    publish_table,
    run_cli,
    stop_process_group,
)
from tasks.errors import DataError, ParamsError
from tasks.io import write_text

LOCK_NAME = "pipeline.lock"  # under .dvc/tmp/, which DVC keeps out of git


class StageFailed(RuntimeError):
    """A stage's `dvc repro` exited non-zero; the message names the stage and its last lines."""


def stage_order(repo_dir: Path) -> list[str]:
    """Every stage of the repo's dvc.yaml files, upstream first, ties in file order."""
    from dvc.repo import Repo

    with Repo(str(repo_dir)) as repo:
        stages = list(repo.index.stages)
        graph = repo.index.graph  # edges: stage -> a stage it depends on
        rank = {s: i for i, s in enumerate(stages)}
        upstream = {s: {d for _, d in graph.out_edges(s)} for s in stages}
    done: list = []
    while len(done) < len(stages):
        ready = [s for s in stages if s not in done and upstream[s] <= set(done)]
        done.append(min(ready, key=rank.__getitem__))
    return [s.addressing for s in done]


def clean_killed_temps(repo_dir: Path) -> list[Path]:
    """Remove the temporary folders and files that killed stage runs left beside every output."""
    from dvc.repo import Repo

    from tasks.io import clean_stale_temps

    removed: list[Path] = []
    with Repo(str(repo_dir)) as repo:
        outs = [Path(out.fs_path) for stage in repo.index.stages for out in stage.outs]
    for out in outs:
        removed += clean_stale_temps(out)
    return removed


def stale_stages(repo_dir: Path, targets: Sequence[str]) -> dict[str, list]:
    """DVC's status of ``targets``: stage name -> what changed, for the stale ones only."""
    from dvc.repo import Repo

    with Repo(str(repo_dir)) as repo:
        return dict(repo.status(targets=list(targets)))


def upstream_of(repo_dir: Path) -> dict[str, set[str]]:
    """Stage name -> names of every stage upstream of it (transitively)."""
    from dvc.repo import Repo

    with Repo(str(repo_dir)) as repo:
        graph = repo.index.graph
        direct = {s.addressing: {d.addressing for _, d in graph.out_edges(s)} for s in repo.index.stages}
    closure: dict[str, set[str]] = {}

    def up(name: str) -> set[str]:
        if name not in closure:
            closure[name] = set().union(*({d} | up(d) for d in direct[name])) if direct[name] else set()
        return closure[name]

    return {name: up(name) for name in direct}


def select(order: Sequence[str], patterns: Sequence[str] | None) -> list[str]:
    """The stages of ``order`` matching any glob pattern (all of them when none are given)."""
    if not patterns:
        return list(order)
    unknown = [p for p in patterns if not fnmatch.filter(order, p)]
    if unknown:
        raise ParamsError(f"--stages: no stage matches {', '.join(unknown)}; stages: {', '.join(order)}")
    return [s for s in order if any(fnmatch.fnmatch(s, p) for p in patterns)]


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


@task(name="stage", cache_policy=NO_CACHE, task_run_name="{stage}")
def run_stage(stage: str, repo_dir: str, env: dict[str, str]) -> float:
    """`dvc repro --single-item <stage>`, its output streamed into this task run's log."""
    log = logger()
    start = time.monotonic()
    cmd = [sys.executable, "-m", "dvc", "repro", "--single-item", stage]
    tail: list[str] = []
    # Its own process group, so that stopping this flow stops dvc and the stage with it.
    with subprocess.Popen(cmd, cwd=repo_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors="replace", start_new_session=True) as proc:
        assert proc.stdout is not None
        try:
            for raw in proc.stdout:
                line = raw.rstrip("\n").split("\r")[-1].rstrip()  # a progress bar's last state
                if line:
                    log.info("%s", line)
                    tail = [*tail[-19:], line]
        except BaseException:  # SIGTERM (Prefect's TerminationSignal), Ctrl-C, a cancelled run
            log.warning("pipeline: stopped; ending stage %s (dvc pid %d) and its children", stage, proc.pid)
            stop_process_group(proc)
            raise
    if proc.returncode:
        raise StageFailed(f"stage {stage} failed (dvc repro exit {proc.returncode}); its previous outputs "
                          "are left as they were. Last lines:\n" + "\n".join(tail))
    return time.monotonic() - start


@task(name="stage", cache_policy=NO_CACHE, task_run_name="{stage}")
def skip_stage(stage: str, reason: str) -> Completed:
    """A stage DVC found up to date: shown as a task run in state Skipped."""
    return Completed(name="Skipped", message=f"{stage}: {reason}")


@contextmanager
def pipeline_lock(repo_dir: Path, timeout_s: float) -> Iterator[bool]:
    """Hold the repo's pipeline lock (yields True), or yield False after ``timeout_s`` of waiting.

    An OS file lock (flock): released when the holder ends, even if it is killed.
    """
    path = repo_dir / ".dvc" / "tmp" / LOCK_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        deadline = time.monotonic() + timeout_s
        waited = False
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not waited:
                    fh.seek(0)
                    logger().info("another pipeline run holds %s (%s); waiting up to %.0f s", path,
                                  fh.read().strip() or "holder unknown", timeout_s)
                    waited = True
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(0.5)
        try:
            fh.truncate(0)
            fh.write(f"pid {os.getpid()} since {time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n")
            fh.flush()
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def use_params(repo_dir: Path, params: str | None) -> None:
    """Make ``params`` the repo's params.yaml (DVC reads only that file); no-op when it already is."""
    if not params:
        return
    src, dest = Path(params), repo_dir / "params.yaml"
    if not src.is_file():
        raise ParamsError(f"{src}: params file not found")
    if dest.is_file() and src.resolve() == dest.resolve():
        return
    text = src.read_text()
    if not dest.is_file() or dest.read_text() != text:
        logger().info("pipeline: %s copied over %s (DVC tracks params.yaml)", src, dest)
        write_text(dest, text)


def read_metrics(path: Path) -> dict:
    """A JSON metrics file as a dict ({} when missing or unreadable: the summary must not fail)."""
    try:
        values = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return values if isinstance(values, dict) else {}


def outputs_summary(repo_dir: Path, rows: list[dict]) -> str:
    """Markdown: the stage table, then the metrics and plots that dvc.yaml declares."""
    from dvc.repo import Repo

    lines = ["# Pipeline run", "", markdown_table(rows), ""]
    with Repo(str(repo_dir)) as repo:
        outs = [(s.addressing, o) for s in repo.index.stages for o in s.outs]
    metrics = [(s, o.def_path) for s, o in outs if o.metric]
    plots = [(s, o.def_path) for s, o in outs if o.plot]
    if metrics:
        lines += ["## Metrics", ""]
        for stage, rel in metrics:
            values = read_metrics(repo_dir / rel)
            flat = ", ".join(f"{k}: {v:.4g}" if isinstance(v, float) else f"{k}: {v}"
                             for k, v in values.items() if isinstance(v, (int, float, str)))
            lines.append(f"- `{rel}` ({stage}){': ' + flat if flat else ''}")
        lines.append("")
    if plots:
        lines += ["## Plots", "", "Render them to HTML with `dvc plots show` (opens dvc_plots/index.html).", ""]
        lines += [f"- [{rel}]({(repo_dir / rel).resolve().as_uri()}) ({stage})" for stage, rel in plots]
    return "\n".join(lines)


@flow(name="pipeline")
def pipeline(repo: str = ".", params: str | None = None, task_runner: str | None = None,
             stages: list[str] | None = None, lock_timeout_s: float = 3600.0) -> list[dict] | Completed:
    """Run the stale stages of the DVC pipeline in ``repo``; returns one row per stage."""
    repo_dir = Path(repo).resolve()
    log = logger()
    with pipeline_lock(repo_dir, lock_timeout_s) as held:
        if not held:
            msg = (f"skipped: another pipeline run still held {repo_dir / '.dvc/tmp' / LOCK_NAME} after "
                   f"{lock_timeout_s:.0f} s")
            log.warning("pipeline: %s", msg)
            return Completed(name="Skipped", message=msg)
        use_params(repo_dir, params)
        for path in clean_killed_temps(repo_dir):  # we hold the lock: no other run is writing
            log.info("pipeline: removed %s, left by a killed stage", path)
        order = select(stage_order(repo_dir), stages)
        stale = stale_stages(repo_dir, order)
        upstream = upstream_of(repo_dir)
        log.info("pipeline: %d of %d stages stale: %s", len(stale), len(order), ", ".join(stale) or "none")
        env = stage_env(task_runner) if stale else {}
        rows: list[dict] = []
        ran: set[str] = set()
        try:
            for stage in order:
                if stage not in stale and upstream[stage] & ran:
                    stale = {**stale, **stale_stages(repo_dir, [stage])}  # an upstream stage changed
                if stage not in stale:
                    skip_stage(stage, "up to date")
                    rows.append({"stage": stage, "status": "skipped", "seconds": 0.0})
                    continue
                rows.append({"stage": stage, "status": "failed", "seconds": 0.0})
                start = time.monotonic()
                try:
                    run_stage(stage, str(repo_dir), env)
                finally:
                    rows[-1]["seconds"] = round(time.monotonic() - start, 1)
                rows[-1]["status"] = "ran"
                ran.add(stage)
        finally:
            done = {r["stage"] for r in rows}
            rows += [{"stage": s, "status": "not run", "seconds": 0.0} for s in order if s not in done]
            publish_table("pipeline-stages", rows, "Stages of this run: ran, skipped (up to date), failed or not run")
            publish_markdown("pipeline-summary", outputs_summary(repo_dir, rows), "Stages, metrics and plots")
            log.info("pipeline:\n%s", markdown_table(rows))
    return rows


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m flows.pipeline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", nargs="?", choices=["run", "serve"], default="run",
                        help="run once (default) or serve on a schedule")
    parser.add_argument("--repo", default=".", help="DVC repository (default: current folder)")
    parser.add_argument("--params", default=None,
                        help="params file to use: copied over the repo's params.yaml, which DVC reads")
    add_runner_argument(parser)
    parser.add_argument("--stages", nargs="+", metavar="PATTERN",
                        help="only these stages (names or globs such as 'tw_*'), in pipeline order")
    parser.add_argument("--lock-timeout", type=float, default=3600.0,
                        help="seconds to wait for an overlapping run to finish before skipping (default: %(default)s)")
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--cron", help="serve: cron schedule, e.g. '0 3 * * *'")
    when.add_argument("--interval", type=float, help="serve: seconds between runs")
    parser.add_argument("--name", default="scheduled", help="serve: deployment name (default: %(default)s)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.getLogger("prefect.task_runs").setLevel(logging.INFO)  # stage logs are the point here
    kwargs = {"repo": str(Path(args.repo).resolve()), "params": str(Path(args.params).resolve()) if args.params
              else None, "task_runner": args.task_runner, "stages": args.stages,
              "lock_timeout_s": args.lock_timeout}
    if not (Path(args.repo) / "dvc.yaml").is_file():
        raise DataError(f"{args.repo}: no dvc.yaml here (use --repo)")
    if args.action == "run":
        from flows.pipeline import pipeline as flow_obj  # the importable one, not __main__'s

        state = flow_obj(**kwargs, return_state=True)
        if not state.is_completed():
            print(f"error: {state.message}", file=sys.stderr)  # noqa: T201 - command-line output
            return 1
        return 0
    if not (args.cron or args.interval):
        raise ParamsError("serve: give --cron or --interval")
    from prefect.types.entrypoint import EntrypointType

    from flows.pipeline import pipeline as flow_obj

    flow_obj.serve(name=args.name, cron=args.cron, interval=args.interval, parameters=kwargs,
                   entrypoint_type=EntrypointType.MODULE_PATH, pause_on_shutdown=True)
    return 0


if __name__ == "__main__":
    run_cli(main)
