# mypy: disable-error-code="empty-body"
"""activities/reconciliation.py: ReconciliationActivities (bills, our ledger, differences, stuck trades)."""

from __future__ import annotations

from temporalio import activity

from domain.reconciliation import (
    BillLine,
    BillRequest,
    FinishRun,
    Ledger,
    LedgerRequest,
    RecordRun,
    ResolveRequest,
    StuckRequest,
    StuckTrade,
)


@activity.defn(name="reconcile.bill")
async def bill(req: BillRequest) -> list[BillLine]: ...


@activity.defn(name="reconcile.ledger")
async def ledger(req: LedgerRequest) -> Ledger: ...


@activity.defn(name="reconcile.record")
async def record(req: RecordRun) -> list[str]: ...


@activity.defn(name="reconcile.link_task")
async def link_task(key: str, task_id: int) -> None: ...


@activity.defn(name="reconcile.finish")
async def finish(req: FinishRun) -> None: ...


@activity.defn(name="reconcile.stuck")
async def stuck(req: StuckRequest) -> list[StuckTrade]: ...


@activity.defn(name="reconcile.check_stuck")
async def check_stuck(trade: StuckTrade) -> str: ...


@activity.defn(name="reconcile.resolve")
async def resolve(req: ResolveRequest) -> str: ...
