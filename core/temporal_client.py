"""The one way the web app, the worker and the benchmarks connect to Temporal."""

from __future__ import annotations

import asyncio

from temporalio.client import Client
from temporalio.runtime import Runtime

from config import Settings


async def connect(settings: Settings, attempts: int = 60, runtime: Runtime | None = None) -> Client:
    """Connect, waiting for a dev server that is still starting (make run starts both at once).
    `runtime`: the worker's, with its metrics server (core/telemetry.py); None = the SDK default."""
    last: Exception | None = None
    for _ in range(attempts):
        try:
            return await Client.connect(
                settings.temporal_address, namespace=settings.temporal_namespace, runtime=runtime
            )
        except RuntimeError as exc:  # connection refused while the server boots
            last = exc
            await asyncio.sleep(1)
    raise RuntimeError(f"Temporal at {settings.temporal_address} is not reachable") from last
