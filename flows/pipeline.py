"""Prefect flow `pipeline`: run the stale stages of dvc.yaml, independent ones side by side.

dvc.yaml stays the one definition of stages, deps and outs; this flow asks DVC what is stale
and runs those stages in dependency order, up to ``--workers`` at once, each through `dvc repro
--single-item` (so DVC itself records it in dvc.lock; see flows/pipeline_run.py). Every stage
is a task run named after it (state, duration, logs), ran or skipped, and the stage's own flow
run nests under it. A file lock keeps two overlapping runs (e.g. scheduled ones) apart. A
params file (a preset) runs as a DVC experiment, leaving params.yaml as it is.

    python -m flows.pipeline [--workers N] [--task-runner R] [--stages PATTERN ...] [--params FILE]
    python -m flows.pipeline serve --cron "0 3 * * *" | --interval SECONDS [same options]
"""

from __future__ import annotations

import argparse
import fcntl
import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Completed
from prefect.task_runners import ThreadPoolTaskRunner

from flows.pipeline_plan import (
    Plan,
    load_plan,
    lock_stage_names,
    outputs_summary,
    restore_lock_order,
    select,
)
from flows.pipeline_run import (
    WORKERS_ENV,
    StageFailed,
    child_env,
    default_workers,
    run_stages,
    stage_env,
    stream,
)
from flows.runtime import (
    add_runner_argument,
    logger,
    markdown_table,
    positive,
    publish_markdown,
    publish_table,
)
from tasks.errors import DataError, ParamsError

LOCK_NAME = "pipeline.lock"  # under .dvc/tmp/, which DVC keeps out of git
__all__ = ["StageFailed", "pipeline", "stage_order", "upstream_of", "clean_killed_temps", "select"]


def stage_order(repo_dir: Path) -> list[str]:
    """Every stage of the repo's dvc.yaml files in `dvc repro`'s own order (upstream first)."""
    return load_plan(repo_dir).order


def upstream_of(repo_dir: Path) -> dict[str, set[str]]:
    """Stage name -> names of every stage upstream of it (transitively)."""
    return load_plan(repo_dir).upstream()


def clean_killed_temps(repo_dir: Path, plan: Plan | None = None) -> list[Path]:
    """Remove the temporary folders and files that killed stage runs left beside every output."""
    outs = [out for out in (plan or load_plan(repo_dir)).outs if may_have_temps(out)]
    if not outs:
        return []
    # pandas and pyarrow come with tasks.io: only when there is something to look at
    from tasks.io import clean_stale_temps

    removed: list[Path] = []
    for out in outs:
        removed += clean_stale_temps(out)
    return removed


def may_have_temps(out: Path) -> bool:
    """Whether ``out``'s folder holds a name like the temporaries tasks.io writes (``.NAME.tmp-...``)."""
    prefix = f".{out.name}."
    try:
        return any(name.startswith(prefix) for name in os.listdir(out.parent))
    except OSError:
        return False


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


@task(name="experiment", cache_policy=NO_CACHE, task_run_name="experiment {name}")
def run_experiment(name: str, sets: list[str], targets: list[str], repo_dir: str, env: dict[str, str]) -> None:
    """`dvc exp run --temp` with a preset's overrides: params.yaml and the workspace stay as they are."""
    cmd = [sys.executable, "-m", "dvc", "exp", "run", "--temp", "-n", name, *sets, *targets]
    code, tail = stream(cmd, repo_dir, child_env(env), f"experiment {name}")
    if code:
        raise StageFailed(f"experiment {name} failed (dvc exp run exit {code}); the workspace is as it was. "
                          "Last lines:\n" + "\n".join(tail))


def experiment(repo_dir: Path, params: Path, stages: list[str] | None, task_runner: str | None) -> list[dict]:
    """Run ``params`` (a preset) as DVC experiment named after it; one row."""
    from flows.presets import experiment_name, set_arguments

    targets = select(load_plan(repo_dir).order, stages) if stages else []
    name = f"{experiment_name(params)}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"  # names are unique
    logger().info("pipeline: %s runs as DVC experiment %s (dvc exp run --temp): params.yaml is left as it "
                  "is; `dvc exp show` compares it, `dvc exp apply %s` brings its results here", params, name, name)
    start = time.monotonic()
    run_experiment(name, set_arguments(repo_dir / "params.yaml", params), targets, str(repo_dir),
                   stage_env(task_runner))
    rows = [{"stage": f"experiment {name}", "status": "ran", "seconds": round(time.monotonic() - start, 1)}]
    publish_table("pipeline-stages", rows, "This run: one DVC experiment (dvc exp run --temp)")
    return rows


@flow(name="pipeline", task_runner=ThreadPoolTaskRunner(max_workers=32))
def pipeline(repo: str = ".", params: str | None = None, task_runner: str | None = None,
             stages: list[str] | None = None, lock_timeout_s: float = 3600.0,
             workers: int | None = None) -> list[dict] | Completed:
    """Run the stale stages of the DVC pipeline in ``repo``; returns one row per stage.

    ``workers``: stages at once (default: $DLPIPES_PIPELINE_WORKERS, else 2). ``params``: a
    params file other than params.yaml (a preset), run as a DVC experiment instead.
    """
    repo_dir = Path(repo).resolve()
    workers = workers or default_workers()
    log = logger()
    with pipeline_lock(repo_dir, lock_timeout_s) as held:
        if not held:
            msg = (f"skipped: another pipeline run still held {repo_dir / '.dvc/tmp' / LOCK_NAME} after "
                   f"{lock_timeout_s:.0f} s")
            log.warning("pipeline: %s", msg)
            return Completed(name="Skipped", message=msg)
        if params and Path(params).resolve() != (repo_dir / "params.yaml").resolve():
            return experiment(repo_dir, Path(params), stages, task_runner)
        plan = load_plan(repo_dir, status=True, patterns=stages)  # one DVC index load for all of it
        order = select(plan.order, stages)
        for path in clean_killed_temps(repo_dir, plan):  # we hold the lock: no other run is writing
            log.info("pipeline: removed %s, left by a killed stage", path)
        log.info("pipeline: %d of %d stages stale: %s; up to %d at once", len(plan.stale), len(order),
                 ", ".join(plan.stale) or "none", workers)
        before = lock_stage_names(repo_dir)
        rows: list[dict] = []
        try:
            run_stages(repo_dir, plan, order, workers, task_runner, rows)
        finally:
            if any(r["status"] == "ran" for r in rows):
                restore_lock_order(repo_dir, before, plan.order)
            table = markdown_table(rows)
            publish_table("pipeline-stages", rows, "Stages of this run: ran, skipped (up to date), failed or not run")
            publish_markdown("pipeline-summary", outputs_summary(repo_dir, plan, table), "Stages, metrics and plots")
            log.info("pipeline:\n%s", table)
    return rows


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m flows.pipeline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", nargs="?", choices=["run", "serve"], default="run",
                        help="run once (default) or serve on a schedule")
    parser.add_argument("--repo", default=".", help="DVC repository (default: current folder)")
    parser.add_argument("--params", default=None,
                        help="a params file other than params.yaml (e.g. params-full.yaml): run as a DVC "
                        "experiment (dvc exp run --temp); params.yaml and the workspace are left as they are")
    parser.add_argument("--workers", type=positive, default=None,
                        help=f"stages run at once (default: ${WORKERS_ENV}, else 2)")
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
    if args.params and not Path(args.params).is_file():
        raise ParamsError(f"{args.params}: params file not found")
    kwargs = {"repo": str(Path(args.repo).resolve()), "params": str(Path(args.params).resolve()) if args.params
              else None, "task_runner": args.task_runner, "stages": args.stages,
              "lock_timeout_s": args.lock_timeout, "workers": args.workers or default_workers()}
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


def cli(argv: list[str] | None = None) -> None:
    """``main`` with expected errors as a message and exit code 2 (like flows.runtime.run_cli,
    without its model imports: a no-op run should not pay for loading torch)."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        code = main(argv)
    except (ParamsError, DataError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)  # noqa: T201 - command-line output
        sys.exit(2)
    sys.exit(code or 0)


if __name__ == "__main__":
    cli()
