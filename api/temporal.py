"""The Temporal client the web app and the worker share: one connection, pydantic-free defaults."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.exceptions import WorkflowAlreadyStartedError

from config import Settings


async def connect(settings: Settings, attempts: int = 60) -> Client:
    """Connect, waiting for a dev server that is still starting (make run starts both at once)."""
    last: Exception | None = None
    for _ in range(attempts):
        try:
            return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)
        except RuntimeError as exc:  # connection refused while the server boots
            last = exc
            await asyncio.sleep(1)
    raise RuntimeError(f"Temporal at {settings.temporal_address} is not reachable") from last


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
