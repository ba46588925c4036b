"""Starting and finding processes from the web app (the connection itself: core/temporal_client.py).

Every process starts through `start_operation`, which gives it the summary and details an operator
reads in the Temporal UI (domain/process_text.py); tests/workflows/test_process_text.py keeps every
start in the web app going through it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.exceptions import WorkflowAlreadyStartedError

from domain.process_text import process_text


def start_operation(
    run: Callable[[Any, Any], Awaitable[Any]], arg: Any, *, id: str, task_queue: str, **options: Any
) -> WithStartWorkflowOperation[Any, Any]:
    """`WithStartWorkflowOperation(run, arg, ...)` with the process's static summary and details."""
    text = process_text(arg)
    return WithStartWorkflowOperation(
        run,
        arg,
        id=id,
        task_queue=task_queue,
        static_summary=text.summary,
        static_details=text.details,
        **options,
    )


async def start_process(
    client: Client, run: Callable[[Any, Any], Awaitable[Any]], arg: Any, *, id: str, task_queue: str, **options: Any
) -> Any:
    """`client.start_workflow(run, arg, ...)` with the process's static summary and details."""
    text = process_text(arg)
    return await client.start_workflow(
        run, arg, id=id, task_queue=task_queue, static_summary=text.summary, static_details=text.details, **options
    )


async def update_with_start(
    client: Client, update: Any, *args: Any, start: WithStartWorkflowOperation[Any, Any]
) -> Any:
    """`client.execute_update_with_start_workflow`. When the start is refused (the id is taken), the
    SDK also keeps that error on the operation; reading it there too keeps asyncio from logging
    "Future exception was never retrieved" for a refusal the caller handles."""
    try:
        return await client.execute_update_with_start_workflow(update, *args, start_workflow_operation=start)
    except WorkflowAlreadyStartedError:
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await start.workflow_handle()
        raise
