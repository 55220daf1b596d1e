"""What every flow module shares: the stage command line, task runners, progress and artifacts."""

from __future__ import annotations

import argparse
import importlib
import logging
import math
import os
import re
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from prefect.artifacts import (
    create_markdown_artifact,
    create_table_artifact,
)
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner
from prefect.utilities.annotations import quote as _prefect_quote

from tasks.config import DEFAULT_PARAMS, BaseParams, load_params
from tasks.errors import DataError, ParamsError
from tasks.progress import Progress, in_flow_run, logger  # noqa: F401

T = TypeVar("T")

# Environment variable the pipeline flow sets so that every stage it runs through `dvc repro`
# uses its --task-runner (a run-time choice: outputs are the same bytes whichever runner).
RUNNER_ENV = "DLPIPES_TASK_RUNNER"


def artifact_key(*parts: str) -> str:
    """A Prefect artifact key (lowercase letters, digits, dashes) made from ``parts``."""
    return re.sub(r"[^a-z0-9-]+", "-", "-".join(parts).lower()).strip("-")


def publish_table(key: str, rows: Sequence[dict[str, Any]], description: str) -> None:
    """Publish a table artifact (no-op outside a flow run)."""
    if in_flow_run():
        create_table_artifact(key=artifact_key(key), table=list(rows), description=description)


def publish_markdown(key: str, markdown: str, description: str) -> None:
    """Publish a markdown artifact (no-op outside a flow run)."""
    if in_flow_run():
        create_markdown_artifact(key=artifact_key(key), markdown=markdown, description=description)


def markdown_table(rows: Sequence[dict[str, Any]]) -> str:
    """A GitHub-style markdown table of ``rows`` (keys of the first row are the columns)."""
    if not rows:
        return "_(none)_"
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r.get(c, "")) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def make_task_runner(spec: str, workers: int) -> TaskRunner:
    """Build the task runner named in params or on the command line.

    ``threads`` (default), ``processes``, ``dask`` (a local cluster of ``workers``
    processes) or ``dask:ADDRESS`` (an existing cluster, e.g. ``dask:tcp://host:8786``).
    """
    if spec == "threads":
        return ThreadPoolTaskRunner(max_workers=workers)
    if spec == "processes":
        return ProcessPoolTaskRunner(max_workers=workers)
    if spec == "dask" or spec.startswith("dask:"):
        from prefect_dask import DaskTaskRunner

        address = spec.partition(":")[2] or None
        if address:
            return DaskTaskRunner(address=address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1,
                                              "processes": True, "dashboard_address": None})
    raise ParamsError(f"base.task_runner: unknown task runner {spec!r}")


def probability(text: str) -> float:
    """An argparse type: a finite number from 0 to 1 (thresholds, fractions)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a number from 0 to 1")
    return value


def _integer(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least {least}")
    return value


def count(text: str) -> int:
    """An argparse type: a whole number >= 0."""
    return _integer(text, 0)


def positive(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    return _integer(text, 1)


def add_params_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS,
                        help="params file (default: %(default)s)")


def add_runner_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task-runner", default=None,
                        help="override base.task_runner: threads, processes, dask, dask:ADDRESS")


def with_runner(flow_obj: Any, base: BaseParams, override: str | None = None) -> Any:
    """The flow with the task runner chosen by ``override``, ``$DLPIPES_TASK_RUNNER`` or params."""
    from flows.nesting import as_child_run  # a stage started by the pipeline flow nests under it

    spec = override or os.environ.get(RUNNER_ENV) or base.task_runner
    return as_child_run(flow_obj.with_options(task_runner=make_task_runner(spec, base.workers)))


def run_cli(main: Callable[[list[str] | None], int | None], argv: Iterable[str] | None = None) -> None:
    """Run a flow module's ``main`` and turn expected errors into a message and exit code 2."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # One "Finished in state Completed()" line per shard would bury the progress bar;
    # task failures and retries are still logged (WARNING and above).
    logging.getLogger("prefect.task_runs").setLevel(logging.WARNING)
    from models.checkpoint import CheckpointError

    try:
        code = main(list(argv) if argv is not None else None)
    except (ParamsError, DataError, FileNotFoundError, CheckpointError) as exc:
        print(f"error: {exc}", file=sys.stderr)  # noqa: T201 - command-line output
        sys.exit(2)
    sys.exit(code or 0)


def stage_main(run: Callable[..., Any], section: str, params_type: type, layout_type: type,
               argv: Iterable[str] | None = None) -> None:
    """``python -m flows.<pipeline>.<module>``: the stage in that module (its dvc.yaml ``cmd``), with
    ``--params`` and ``--task-runner``; ``run(base, params, layout, runner)`` is the module's entry."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and getattr(run, "__module__", None) == "__main__":
        # The importable module's flow and tasks, not __main__'s copies: process and Dask task
        # runners then pickle them by reference, as when the stage runs from the pipeline CLI.
        run = getattr(importlib.import_module(spec.name), run.__name__)

    def main(args_: list[str] | None) -> int:
        parser = argparse.ArgumentParser(prog=f"python -m {spec.name}" if spec else None,
                                         description=(run.__doc__ or "").strip())
        add_params_argument(parser)
        add_runner_argument(parser)
        args = parser.parse_args(args_)
        base, params = load_params(args.params, section, params_type)
        run(base, params, layout_type(base.data_dir), args.task_runner)
        return 0

    run_cli(main, argv)


def in_order(submit: Callable[[T], Any], items: Iterable[T], window: int) -> Iterator[Any]:
    """Submit tasks for ``items`` with at most ``window`` in flight; yield results in item order.

    Results come back in the order of ``items`` whatever order they finish in, so whatever
    is written from them is the same on every run and runner; the bounded window keeps
    memory flat however many items there are.
    """
    pending: deque = deque()
    for i, item in enumerate(items):
        pending.append((i, item, submit(item)))
        if len(pending) >= window:
            yield _result(*pending.popleft())
    while pending:
        yield _result(*pending.popleft())


def _result(index: int, item: Any, future: Any) -> Any:
    """A future's result; a failure is logged and noted with the shard's number and input."""
    try:
        return future.result()
    except Exception as exc:
        where = f"shard {index} failed (after its retries); its input: {repr(item)[:300]}"
        logger().error("%s: %s: %s", where, type(exc).__name__, exc)
        exc.add_note(where)
        raise


def stop_process_group(proc: subprocess.Popen, grace_s: float = 10.0) -> None:
    """End ``proc``'s process group (dvc and the stage it runs): SIGINT first (each shuts down
    cleanly and Prefect marks the stage's run cancelled or crashed), then SIGTERM, then SIGKILL,
    each after ``grace_s`` without the group ending."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            proc.poll()  # reap dvc when it exits, so only live members keep the group
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


class quote(_prefect_quote[T]):
    """Prefect's ``quote`` (pass a value to a task without Prefect walking it) that survives pickling.

    Prefect 3.9's annotations are ``tuple`` subclasses whose ``__new__`` takes the value, but
    they inherit ``tuple.__getnewargs__``, so unpickling (process pools, Dask) gives back
    ``quote((value,))`` and the task receives the tuple ``(value,)`` instead of the value.
    """

    __slots__ = ()

    def __reduce__(self) -> tuple[type, tuple[Any]]:
        return type(self), (self.unwrap(),)
