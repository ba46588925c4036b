"""对账 (daily reconciliation) for finance: every reconciled day, its differences and how each was
resolved, and a rerun of any day (docs/PAYMENTS.md). The process is ReconciliationWorkflow
(`reconcile-{day}`); this page reads its projection and sends it an Update or a new start."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from api import reconciliation_inbox  # noqa: F401  (registers the inbox view of a difference)
from api.deps import SessionDep, SettingsDep, TemporalDep, require_role
from api.pages import page_numbers
from api.templating import render
from api.temporal import start_process
from config import Settings
from db.base import utcnow
from db.models.reconciliation import DifferenceStatus, ReconciliationDifference, ReconciliationRun
from db.models.users import Role, User
from domain.errors import DomainError
from domain.reconciliation import BEIJING, previous_beijing_day, valid_day
from workflows.reconciliation import ReconcileInput, ReconciliationWorkflow, reconciliation_workflow_id

router = APIRouter(tags=["reconciliation"])
FinanceUser = Annotated[User, Depends(require_role(Role.FINANCE, Role.ADMIN))]
RUNS_PAGE_SIZE = 20
RERUN_WAIT_SECONDS = 10.0


async def _context(session: SessionDep, day: str, page: int) -> dict[str, Any]:
    total = await session.scalar(select(func.count()).select_from(ReconciliationRun)) or 0
    paging = page_numbers(page, total, RUNS_PAGE_SIZE)
    runs = (
        await session.scalars(
            select(ReconciliationRun)
            .order_by(ReconciliationRun.day.desc())
            .offset((paging["page"] - 1) * RUNS_PAGE_SIZE)
            .limit(RUNS_PAGE_SIZE)
        )
    ).all()
    open_counts = dict(
        (
            await session.execute(
                select(ReconciliationDifference.day, func.count())
                .where(ReconciliationDifference.status == DifferenceStatus.OPEN)
                .group_by(ReconciliationDifference.day)
            )
        ).all()
    )
    differences = (
        await session.scalars(
            select(ReconciliationDifference)
            .where(ReconciliationDifference.day == day)
            .order_by(ReconciliationDifference.created_at, ReconciliationDifference.key)
        )
    ).all()
    return {
        "day": day,
        "yesterday": previous_beijing_day(utcnow()),
        "runs": runs,
        "open_counts": open_counts,
        "selected": next((r for r in runs if r.day == day), None) or await session.get(ReconciliationRun, day),
        "differences": differences,
        "paging": paging,
        "base_url": "/staff/reconciliation" + (f"?day={day}" if day else ""),
    }


@router.get("/staff/reconciliation", response_class=HTMLResponse)
async def reconciliation_page(
    request: Request, user: FinanceUser, session: SessionDep, day: str = "", page: int = 1
) -> Response:
    day = day if valid_day(day, _today()) else previous_beijing_day(utcnow())
    ctx = await _context(session, day, page)
    return render(request, "reconciliation/page.html", ctx, block="results")


def _today() -> str:
    return utcnow().astimezone(BEIJING).date().isoformat()


async def _rerun(client: Client, settings: Settings, day: str) -> None:
    """Reconciles the day again: the waiting run re-downloads and compares (Update `rerun`), or a
    new run of `reconcile-{day}` starts when none is open."""
    handle = client.get_workflow_handle(reconciliation_workflow_id(day))
    try:
        running = (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        running = False
    if running:
        try:
            await handle.execute_update(ReconciliationWorkflow.rerun)
        except WorkflowUpdateFailedError as err:
            raise DomainError("ReconcileBusy") from err
        return
    await start_process(
        client,
        ReconciliationWorkflow.run,
        ReconcileInput(day=day, stuck_after_minutes=settings.reconcile_stuck_after_minutes),
        id=reconciliation_workflow_id(day),
        task_queue=settings.task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


async def _wait_finished(session: SessionDep, day: str, since: datetime) -> None:
    deadline = asyncio.get_running_loop().time() + RERUN_WAIT_SECONDS
    while asyncio.get_running_loop().time() < deadline:
        session.expire_all()
        run = await session.get(ReconciliationRun, day)
        if run is not None and run.finished_at is not None and run.finished_at >= since:
            return
        await asyncio.sleep(0.2)


@router.post("/staff/reconciliation/rerun", response_class=HTMLResponse)
async def rerun(
    request: Request,
    user: FinanceUser,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
    day: Annotated[str, Form()] = "",
) -> Response:
    day = day.strip()
    if not valid_day(day, _today()):
        raise DomainError("ReconcileDayInvalid")
    since = utcnow()
    await _rerun(client, settings, day)
    await session.commit()  # no transaction held while the workflow works
    await _wait_finished(session, day, since)
    ctx = await _context(session, day, 1)
    run = ctx["selected"]
    done = run is not None and run.finished_at is not None and run.finished_at >= since
    ctx["flash"] = f"{day} 已重新对账" if done else f"{day} 正在对账，稍后刷新查看结果"
    return render(request, "reconciliation/page.html", ctx, block="results", headers={"HX-Trigger": "taskChanged"})
