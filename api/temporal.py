"""Starting and finding processes from the web app (the connection itself: core/temporal_client.py)."""

from __future__ import annotations

import contextlib
from typing import Any

from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.exceptions import WorkflowAlreadyStartedError


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
