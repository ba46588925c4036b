"""UnitInvoiceWorkflow with fake activities (unit_invoice.*, tasks.*): issued and mailed, rejected,
orders taken by another application, and the review reminder/escalation timers.

Updates run on the local dev server; timers on the time-skipping server.
RECORD_HISTORIES=1 re-records the histories that tests/workflows/test_replay.py replays."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.invoicing import InvoiceRecorded
from domain.review import OpenTask
from domain.unit_invoice import UnitInvoiceDecided, UnitInvoiceInput, UnitInvoiceIssued, UnitInvoiceLine
from tests.support import eventually
from tests.workflows.fakes import FakeCalls, refusal, task_opened
from tests.workflows.histories import record
from tests.workflows.test_unit_qualification_workflow import CODE, QUALIFICATION_ID, TASK_ID, accepted, decision
from workflows.unit_invoice import UnitInvoiceWorkflow

QUEUE = "unit-invoice-test"


@dataclass
class FakeSide(FakeCalls):
    """Stands in for the database, the inbox, the PDF and the mail; records every call."""

    taken: list[str] = field(default_factory=list)  # orders record_unit_invoice reports as held elsewhere

    def activities(self) -> list:
        @activity.defn(name="unit_invoice.record")
        async def record_unit_invoice(application: UnitInvoiceInput) -> InvoiceRecorded:
            self.calls.append(("record_unit_invoice", application))
            return InvoiceRecorded(taken_order_nos=list(self.taken))

        @activity.defn(name="unit_invoice.reject")
        async def reject_unit_invoice(decided: UnitInvoiceDecided) -> None:
            self.calls.append(("reject_unit_invoice", decided))

        @activity.defn(name="unit_invoice.issue")
        async def issue(decided: UnitInvoiceDecided) -> UnitInvoiceIssued:
            self.calls.append(("issue", decided))
            pdf_path = f"invoices/unit/{decided.application_no}.pdf"
            return UnitInvoiceIssued(decided.application_no, "26432000000000000001", pdf_path)

        @activity.defn(name="unit_invoice.mail")
        async def mail(issued: UnitInvoiceIssued) -> None:
            self.calls.append(("mail", issued))

        return [record_unit_invoice, reject_unit_invoice, issue, mail, *self.task_activities(TASK_ID)]


def worker(client: Client, side: FakeSide) -> Worker:
    return Worker(client, task_queue=QUEUE, workflows=[UnitInvoiceWorkflow], activities=side.activities())


def unit_invoice(no: str) -> UnitInvoiceInput:
    return UnitInvoiceInput(
        application_no=no,
        applicant_id=7,
        qualification_id=QUALIFICATION_ID,
        school_id=1,
        unit_name="湖南省农业科学院",
        tax_id=CODE,
        email="caiwu@example.cn",
        training_year=2026,
        lines=[UnitInvoiceLine("O-1", 7, 4000), UnitInvoiceLine("O-2", 8, 8000)],
        submitted_at="2026-11-28T10:00:00+00:00",
        remind_after_seconds=24 * 3600,
        due_after_seconds=48 * 3600,
    )


async def start_unit_invoice(client: Client) -> WorkflowHandle:
    no = f"U{uuid.uuid4().hex[:12]}"
    return await client.start_workflow(
        UnitInvoiceWorkflow.run, unit_invoice(no), id=f"unit-invoice-{no}", task_queue=QUEUE
    )


async def test_unit_invoice_issued_by_finance_and_mailed(temporal_client: Client) -> None:
    side = FakeSide()
    async with worker(temporal_client, side):
        handle = await start_unit_invoice(temporal_client)
        view = await handle.execute_update(UnitInvoiceWorkflow.submitted)
        assert view.state == "pending"
        await eventually(lambda: task_opened(handle))
        task = side.arg("open")
        assert isinstance(task, OpenTask)
        assert (task.kind, task.queue) == ("unit_invoice", "finance")
        assert task.subject == "单位开票：湖南省农业科学院（2 条记录，¥120.00）"
        assert task.payload == {"application_no": handle.id.removeprefix("unit-invoice-")}

        assert await handle.execute_update(UnitInvoiceWorkflow.decide, decision(True)) == "approved"
        view = await handle.query(UnitInvoiceWorkflow.view)
        assert (view.state, view.invoice_no) == ("issued", "26432000000000000001")
        # the decision is on record before the invoice is issued; the mail goes last
        names = side.names()
        assert names.index("close") < names.index("issue") < names.index("mail")
        assert "reject_unit_invoice" not in names
        assert await handle.result() == "issued"
        await record(handle, "unit_invoice_issued")


async def test_unit_invoice_rejected_releases_the_orders(temporal_client: Client) -> None:
    side = FakeSide()
    async with worker(temporal_client, side):
        handle = await start_unit_invoice(temporal_client)
        await handle.execute_update(UnitInvoiceWorkflow.submitted)
        await eventually(lambda: task_opened(handle))
        assert await refusal(handle, "decide", decision(False)) == "RejectReasonRequired"
        result = await handle.execute_update(UnitInvoiceWorkflow.decide, decision(False, "抬头与委托书不符"))
        assert result == "rejected"
        rejected = side.arg("reject_unit_invoice")
        assert isinstance(rejected, UnitInvoiceDecided)
        assert (rejected.state, rejected.reason) == ("rejected", "抬头与委托书不符")
        assert "issue" not in side.names() and "mail" not in side.names()
        view = await handle.query(UnitInvoiceWorkflow.view)
        assert (view.state, view.reason) == ("rejected", "抬头与委托书不符")
        assert await handle.result() == "rejected"
        await record(handle, "unit_invoice_rejected")


async def test_orders_taken_by_another_application_refuse_the_submission(temporal_client: Client) -> None:
    side = FakeSide(taken=["O-2"])
    async with worker(temporal_client, side):
        handle = await start_unit_invoice(temporal_client)
        assert await refusal(handle, "submitted") == "InvoiceAlreadyRequested"
        assert await handle.result() == "refused"
        assert "open" not in side.names()  # no task for finance


async def test_unit_invoice_review_reminds_then_escalates(time_env: WorkflowEnvironment) -> None:
    side = FakeSide()
    async with worker(time_env.client, side):
        handle = await start_unit_invoice(time_env.client)
        await time_env.sleep(timedelta(hours=25))
        assert ("remind", TASK_ID) in side.calls and "mark_overdue" not in side.names()
        await time_env.sleep(timedelta(hours=24))
        assert ("mark_overdue", TASK_ID) in side.calls
        update = await handle.start_update(UnitInvoiceWorkflow.decide, decision(True), wait_for_stage=accepted())
        assert await handle.result() == "issued"
        assert await update.result() == "approved"
