"""Temporal worker: every workflow and activity of the platform, on one task queue.

Run `python worker.py`; scale by starting more of them (each is stateless).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import uvloop
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

from activities.certificates import CertificateActivities
from activities.compliance import ComplianceActivities
from activities.courses import CourseActivities
from activities.faults import PermanentFailures
from activities.hours import HoursActivities
from activities.invoices import InvoiceActivities
from activities.mail import MailActivities
from activities.orders import OrderActivities
from activities.reconciliation import ReconciliationActivities
from activities.study import StudyActivities
from activities.tasks import TaskActivities
from activities.unit_invoice import UnitInvoiceActivities
from activities.unit_qualification import UnitQualificationActivities
from config import Settings, get_settings
from core.telemetry import worker_runtime
from core.temporal_client import connect
from db.base import make_engine, make_sessionmaker
from gateways.factory import build_gateway
from gateways.payment import PaymentGateway
from runtime import tune_gc
from workflows.compliance_round import ComplianceRoundWorkflow, ensure_schedule, round_schedule
from workflows.course_publication import CoursePublicationWorkflow
from workflows.hours_declaration import HoursDeclarationWorkflow
from workflows.order import OrderWorkflow
from workflows.personal_invoice import PersonalInvoiceWorkflow
from workflows.reconciliation import ReconciliationWorkflow
from workflows.reconciliation_schedule import ensure_reconciliation_schedule
from workflows.refund import RefundWorkflow
from workflows.study import StudyWorkflow
from workflows.unit_invoice import UnitInvoiceWorkflow
from workflows.unit_qualification import UnitQualificationWorkflow

WORKFLOWS: list[type] = [
    OrderWorkflow,
    PersonalInvoiceWorkflow,
    HoursDeclarationWorkflow,
    UnitQualificationWorkflow,
    UnitInvoiceWorkflow,
    StudyWorkflow,
    RefundWorkflow,
    CoursePublicationWorkflow,
    ComplianceRoundWorkflow,
    ReconciliationWorkflow,
]


def build_activities(
    sessionmaker: async_sessionmaker[AsyncSession], gateway: PaymentGateway, settings: Settings
) -> list[Callable[..., Any]]:
    acts: list[Callable[..., Any]] = []
    acts += OrderActivities(sessionmaker, gateway).all()
    acts += StudyActivities(sessionmaker).all()
    acts += TaskActivities(sessionmaker).all()
    acts += InvoiceActivities(sessionmaker, settings).all()
    acts += MailActivities(settings).all()
    acts += CertificateActivities(sessionmaker, settings).all()
    acts += HoursActivities(sessionmaker, settings).all()
    acts += UnitQualificationActivities(sessionmaker).all()
    acts += UnitInvoiceActivities(sessionmaker, settings).all()
    acts += CourseActivities(sessionmaker).all()
    acts += ComplianceActivities(sessionmaker, settings).all()
    acts += ReconciliationActivities(sessionmaker, gateway).all()
    return acts


def build_worker(
    client: Client,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    gateway: PaymentGateway | None = None,
    workflows: Sequence[type] | None = None,
    extra_activities: Sequence[Callable[..., Any]] = (),  # bench/ adds its no-op baseline here
) -> Worker:
    gateway = gateway or build_gateway(settings)  # the providers' real protocols (docs/PAYMENTS.md)
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=list(workflows or WORKFLOWS),
        activities=[*build_activities(sessionmaker, gateway, settings), *extra_activities],
        # PDF rendering and similar CPU work run as sync activities in threads
        activity_executor=ThreadPoolExecutor(max_workers=50),
        max_concurrent_activities=50,
        interceptors=[PermanentFailures()],  # data errors fail the step once, never retry forever
    )


async def ensure_compliance_schedule(client: Client, settings: Settings) -> None:
    """The yearly compliance rounds' Schedule, brought to the configured dates at every start."""
    schedule = round_schedule(
        deadline=settings.compliance_deadline,
        days_before=settings.compliance_round_days_before,
        hour=settings.compliance_round_hour,
        task_queue=settings.task_queue,
    )
    await ensure_schedule(client, schedule)


async def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    engine = make_engine(settings.database_url)
    client = await connect(settings, runtime=worker_runtime(settings))  # metrics: WORKER_METRICS_ADDRESS
    worker = build_worker(client, settings, make_sessionmaker(engine))
    await ensure_compliance_schedule(client, settings)
    await ensure_reconciliation_schedule(client, settings)  # 对账 every morning (docs/PAYMENTS.md)
    tune_gc()
    logging.getLogger("worker").info("worker started on task queue %s", settings.task_queue)
    try:
        await worker.run()
    finally:
        await engine.dispose()


if __name__ == "__main__":
    uvloop.run(main())  # the event loop's own overhead is a good part of a worker's CPU
