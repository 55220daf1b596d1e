"""Progress and logging for stage bodies: a terminal bar mirrored into a Prefect progress artifact, the run logger.

Plain outside a Prefect run (a tqdm bar, a module logger), so the stage bodies in ``tasks/`` run and test
without one; ``flows.runtime`` re-exports both.
"""

from __future__ import annotations

import logging
import sys
import time

from prefect import get_run_logger
from prefect.artifacts import (
    create_progress_artifact,
    update_progress_artifact,
)
from prefect.context import FlowRunContext
from tqdm import tqdm

log = logging.getLogger(__name__)


def logger() -> logging.Logger | logging.LoggerAdapter:
    """The Prefect run logger inside a run, a plain module logger outside one."""
    try:
        return get_run_logger()
    except Exception:  # noqa: BLE001 - no active run context
        return log


def in_flow_run() -> bool:
    return FlowRunContext.get() is not None


class Progress:
    """A progress bar on the terminal mirrored into a Prefect progress artifact.

    The artifact is updated at most every ``every_s`` seconds so that thousands of small
    steps do not become thousands of API calls.
    """

    def __init__(self, total: int, description: str, unit: str = "it", every_s: float = 1.0):
        self.total = max(int(total), 1)
        self.done = 0
        self.every_s = every_s
        self._last = 0.0
        self._bar = tqdm(total=total, desc=description, unit=unit, file=sys.stderr,
                         dynamic_ncols=True, mininterval=0.5)
        self._artifact = None
        if in_flow_run():
            self._artifact = create_progress_artifact(progress=0.0, description=description)

    def update(self, n: int = 1) -> None:
        self.done += n
        self._bar.update(n)
        now = time.monotonic()
        if self._artifact is not None and (now - self._last >= self.every_s or self.done >= self.total):
            update_progress_artifact(self._artifact, progress=100.0 * self.done / self.total)
            self._last = now

    def close(self) -> None:
        if self._artifact is not None:
            update_progress_artifact(self._artifact, progress=100.0 * min(self.done, self.total) / self.total)
        self._bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
