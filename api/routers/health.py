"""Health for the orchestrator and the load balancer (docs/OPERATIONS.md).

`/healthz`: the process answers (liveness: restart it when this fails).
`/readyz`: the database and Temporal are reachable (readiness: send no traffic while this is 503);
the body names which one is down.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

router = APIRouter(tags=["operations"])
log = logging.getLogger(__name__)

# a dependency that does not answer within this is as good as down for a readiness probe
CHECK_TIMEOUT_SECONDS = 3.0


@router.get("/healthz", include_in_schema=False)
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def _reachable(name: str, check: Awaitable[object]) -> bool:
    try:
        answer = await asyncio.wait_for(check, CHECK_TIMEOUT_SECONDS)
    except Exception as exc:  # any failure means "not ready"; the log says why
        log.warning("readiness: %s unreachable: %r", name, exc)
        return False
    if answer is False:  # Temporal's health check: the server answers but does not serve
        log.warning("readiness: %s not serving", name)
        return False
    return True


async def _database_answers(request: Request) -> None:
    async with request.app.state.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


@router.get("/readyz", include_in_schema=False)
async def readyz(request: Request) -> JSONResponse:
    database, temporal = await asyncio.gather(
        _reachable("database", _database_answers(request)),
        _reachable("temporal", request.app.state.temporal.service_client.check_health()),
    )
    checks = {"database": "ok" if database else "down", "temporal": "ok" if temporal else "down"}
    ready = database and temporal
    return JSONResponse({"status": "ok" if ready else "down", **checks}, status_code=200 if ready else 503)
