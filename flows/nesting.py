"""Nest a stage's flow run under the pipeline run that started its process.

The pipeline flow runs each stage in its own process (through ``dvc repro``), so Prefect's
in-process subflow tracking cannot see the parent. The pipeline puts the id of the stage's
task run in ``$DLPIPES_PARENT_TASK_RUN_ID``; :func:`as_child_run` makes the stage's flow run
with that task run as its ``parent_task_run_id``, which is how Prefect records a subflow, so
the UI shows the stage's flow run inside the pipeline run.
"""

from __future__ import annotations

import logging
import os
from typing import Any
from uuid import UUID

PARENT_ENV = "DLPIPES_PARENT_TASK_RUN_ID"

log = logging.getLogger(__name__)


def parent_task_run_id() -> UUID | None:
    """The parent task run named in the environment (None when absent or not a UUID)."""
    value = os.environ.get(PARENT_ENV, "").strip()
    if not value:
        return None
    try:
        return UUID(value)
    except ValueError:
        log.warning("%s=%r is not a task run id; the flow run is not nested", PARENT_ENV, value)
        return None


def as_child_run(flow_obj: Any) -> Any:
    """``flow_obj``, or a callable running it as a child of ``$DLPIPES_PARENT_TASK_RUN_ID``.

    Inside a flow run, or with no parent in the environment, the flow is returned unchanged.
    """
    from prefect.context import FlowRunContext

    parent = parent_task_run_id()
    if parent is None or FlowRunContext.get() is not None:
        return flow_obj

    def call(*args: Any, **kwargs: Any) -> Any:
        from prefect.client.orchestration import get_client
        from prefect.context import TagsContext
        from prefect.flow_engine import run_flow
        from prefect.states import Pending
        from prefect.utilities.callables import get_call_parameters

        parameters = get_call_parameters(flow_obj.fn, args, kwargs)
        with get_client(sync_client=True) as client:
            flow_run = client.create_flow_run(flow=flow_obj, parameters=flow_obj.serialize_parameters(parameters),
                                              state=Pending(), parent_task_run_id=parent,
                                              tags=TagsContext.get().current_tags)
        return run_flow(flow=flow_obj, flow_run=flow_run, parameters=parameters)

    return call
