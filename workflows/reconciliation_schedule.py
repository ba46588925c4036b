"""Temporal Schedules of the platform: the daily reconciliation (对账).

`reconcile-daily` starts ReconciliationWorkflow at 02:00 Beijing time every day; the run names
yesterday and starts `reconcile-{day}` (workflows/reconciliation.py). Created by every worker at
start when missing (an existing schedule is left as an operator may have changed or paused it).
"""

from __future__ import annotations

import contextlib

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)

from config import Settings
from workflows.reconciliation import ReconcileInput, ReconciliationWorkflow

SCHEDULE_ID = "reconcile-daily"
CRON = "0 2 * * *"


def reconciliation_schedule(settings: Settings) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            ReconciliationWorkflow.run,
            ReconcileInput(stuck_after_minutes=settings.reconcile_stuck_after_minutes),
            id="reconcile-trigger",
            task_queue=settings.task_queue,
            static_summary="每日对账：核对昨日支付宝、微信支付账单",
        ),
        spec=ScheduleSpec(cron_expressions=[CRON], time_zone_name="Asia/Shanghai"),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_reconciliation_schedule(client: Client, settings: Settings) -> None:
    with contextlib.suppress(ScheduleAlreadyRunningError):  # created by another worker, or earlier
        await client.create_schedule(SCHEDULE_ID, reconciliation_schedule(settings))
