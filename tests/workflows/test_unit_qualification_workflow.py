"""UnitQualificationWorkflow and UnitInvoiceWorkflow with fake activities (group_invoicing.*,
unit_invoicing.*, tasks.*): approve, reject, the decide validator's refusals, orders taken by another
application, and the review reminder/escalation timers.

Updates run on the local dev server; timers on the time-skipping server.
RECORD_HISTORIES=1 re-records the histories that tests/workflows/test_replay.py replays."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.group_invoicing import (
    QualificationDecided,
    QualificationInput,
    UnitInvoiceDecided,
    UnitInvoiceInput,
    UnitInvoiceIssued,
    UnitInvoiceLine,
)
from domain.invoicing import InvoiceRecorded
from domain.review import CloseTask, Decision, OpenTask
from tests.support import eventually
from tests.workflows.fakes import FakeCalls, refusal, task_opened
from tests.workflows.histories import record
from workflows.unit_invoice import UnitInvoiceWorkflow
from workflows.unit_qualification import UnitQualificationWorkflow

QUEUE = "group-invoicing-test"
TASK_ID = 701
QUALIFICATION_ID = 31
CODE = "12430000444880045L"
WORKFLOWS = [UnitQualificationWorkflow, UnitInvoiceWorkflow]


@dataclass
class FakeSide(FakeCalls):
    """Stands in for the database, the inbox, the PDF and the mail; records every call."""

    taken: list[str] = field(default_factory=list)  # orders record_unit_invoice reports as held elsewhere
    # holds the projection write, so that a second decision arrives while the first is in progress
    hold: asyncio.Event | None = None

    def activities(self) -> list:
        @activity.defn(name="group_invoicing.record_qualification")
        async def record_qualification(q: QualificationInput) -> int:
            self.calls.append(("record_qualification", q))
            return QUALIFICATION_ID

        @activity.defn(name="group_invoicing.decide_qualification")
        async def decide_qualification(d: QualificationDecided) -> None:
            if self.hold is not None:
                await self.hold.wait()
            self.calls.append(("decide_qualification", d))

        @activity.defn(name="group_invoicing.record_unit_invoice")
        async def record_unit_invoice(inp: UnitInvoiceInput) -> InvoiceRecorded:
            self.calls.append(("record_unit_invoice", inp))
            return InvoiceRecorded(taken_order_nos=list(self.taken))

        @activity.defn(name="group_invoicing.reject_unit_invoice")
        async def reject_unit_invoice(d: UnitInvoiceDecided) -> None:
            self.calls.append(("reject_unit_invoice", d))

        @activity.defn(name="unit_invoicing.issue")
        async def issue(d: UnitInvoiceDecided) -> UnitInvoiceIssued:
            self.calls.append(("issue", d))
            return UnitInvoiceIssued(d.application_no, "26432000000000000001", f"invoices/unit/{d.application_no}.pdf")

        @activity.defn(name="unit_invoicing.mail")
        async def mail(issued: UnitInvoiceIssued) -> None:
            self.calls.append(("mail", issued))

        return [
            record_qualification, decide_qualification, record_unit_invoice, reject_unit_invoice, issue, mail,
            *self.task_activities(TASK_ID),
        ]


def worker(client: Client, side: FakeSide) -> Worker:
    return Worker(client, task_queue=QUEUE, workflows=WORKFLOWS, activities=side.activities())


def qualification(attempt: int = 1) -> QualificationInput:
    return QualificationInput(
        credit_code=CODE,
        attempt=attempt,
        unit_name="湖南省农业科学院",
        applicant_id=7,
        applicant_name="张伟",
        authorization_path="authorizations/x.png",
        submitted_at="2026-11-28T10:00:00+00:00",
        remind_after_seconds=24 * 3600,
        due_after_seconds=48 * 3600,
    )


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


async def start_qualification(client: Client) -> WorkflowHandle:
    # a fresh unit attempt per test: the dev server keeps every workflow id of the session
    wid = f"unit-qualification-{CODE}-{uuid.uuid4().hex[:8]}"
    handle = await client.start_workflow(UnitQualificationWorkflow.run, qualification(), id=wid, task_queue=QUEUE)
    view = await handle.execute_update(UnitQualificationWorkflow.submitted)
    assert (view.qualification_id, view.state) == (QUALIFICATION_ID, "under_review")
    return handle


async def start_unit_invoice(client: Client) -> WorkflowHandle:
    no = f"U{uuid.uuid4().hex[:12]}"
    return await client.start_workflow(
        UnitInvoiceWorkflow.run, unit_invoice(no), id=f"unit-invoice-{no}", task_queue=QUEUE
    )


def decision(approve: bool, reason: str = "", task_id: int = TASK_ID) -> Decision:
    return Decision(task_id=task_id, reviewer_id=42, approve=approve, reason=reason)


# ---- qualification ---------------------------------------------------------------------------


async def test_qualification_approved_by_the_admin(temporal_client: Client) -> None:
    side = FakeSide(hold=asyncio.Event())
    async with worker(temporal_client, side):
        handle = await start_qualification(temporal_client)
        await eventually(lambda: task_opened(handle))
        task = side.arg("open")
        assert isinstance(task, OpenTask)
        assert (task.kind, task.queue, task.submitter_id) == ("unit_qualification", "admin", 7)
        assert task.subject == f"集体开票资格：湖南省农业科学院（{CODE}）"
        assert task.payload == {"qualification_id": str(QUALIFICATION_ID), "attempt": "1"}
        assert task.workflow_id == handle.id

        first = await handle.start_update(UnitQualificationWorkflow.decide, decision(True), wait_for_stage=_accepted())
        await eventually(lambda: side.called("close"))
        # a second reviewer (or a double click) while the first decision is being applied: refused
        assert await refusal(handle, "decide", decision(False, "重复")) == "TaskAlreadyDecided"
        assert side.hold is not None
        side.hold.set()
        assert await first.result() == "approved"
        closed = side.arg("close")
        assert isinstance(closed, CloseTask)
        assert (closed.task_id, closed.outcome, closed.actor_id) == (TASK_ID, "approved", 42)
        decided = side.arg("decide_qualification")
        assert isinstance(decided, QualificationDecided)
        assert (decided.qualification_id, decided.state, decided.reviewer_id) == (QUALIFICATION_ID, "approved", 42)
        assert (await handle.query(UnitQualificationWorkflow.view)).state == "approved"
        assert await handle.result() == "approved"
        assert side.names().count("close") == 1
        await record(handle, "unit_qualification_approved")


async def test_qualification_rejected_needs_a_reason_and_the_waiting_task(temporal_client: Client) -> None:
    side = FakeSide()
    async with worker(temporal_client, side):
        handle = await start_qualification(temporal_client)
        await eventually(lambda: task_opened(handle))
        assert await refusal(handle, "decide", decision(False, "  ")) == "RejectReasonRequired"
        assert await refusal(handle, "decide", decision(True, task_id=TASK_ID + 1)) == "TaskAlreadyDecided"
        assert "close" not in side.names()  # refused decisions change nothing

        result = await handle.execute_update(UnitQualificationWorkflow.decide, decision(False, "委托书未盖单位公章"))
        assert result == "rejected"
        decided = side.arg("decide_qualification")
        assert isinstance(decided, QualificationDecided)
        assert (decided.state, decided.reason) == ("rejected", "委托书未盖单位公章")
        closed = side.arg("close")
        assert isinstance(closed, CloseTask)
        assert (closed.outcome, closed.reason) == ("rejected", "委托书未盖单位公章")
        view = await handle.query(UnitQualificationWorkflow.view)
        assert (view.state, view.reason) == ("rejected", "委托书未盖单位公章")
        assert await handle.result() == "rejected"
        await record(handle, "unit_qualification_rejected")


async def test_qualification_review_reminds_then_escalates_and_stays_decidable(time_env: WorkflowEnvironment) -> None:
    side = FakeSide()
    async with worker(time_env.client, side):
        wid = f"unit-qualification-{CODE}-{uuid.uuid4().hex[:8]}"
        handle = await time_env.client.start_workflow(
            UnitQualificationWorkflow.run, qualification(), id=wid, task_queue=QUEUE
        )
        await time_env.sleep(timedelta(hours=23))
        assert "open" in side.names() and "remind" not in side.names()
        await time_env.sleep(timedelta(hours=2))
        assert ("remind", TASK_ID) in side.calls and "mark_overdue" not in side.names()
        await time_env.sleep(timedelta(hours=24))
        assert ("mark_overdue", TASK_ID) in side.calls
        assert "close" not in side.names()  # overdue, but still waiting for the admin

        update = await handle.start_update(
            UnitQualificationWorkflow.decide, decision(True), wait_for_stage=_accepted()
        )
        assert await handle.result() == "approved"
        assert await update.result() == "approved"
        assert side.names().count("remind") == 1 and side.names().count("mark_overdue") == 1


def _accepted():
    from temporalio.client import WorkflowUpdateStage

    return WorkflowUpdateStage.ACCEPTED


# ---- unit invoice ----------------------------------------------------------------------------


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
        update = await handle.start_update(UnitInvoiceWorkflow.decide, decision(True), wait_for_stage=_accepted())
        assert await handle.result() == "issued"
        assert await update.result() == "approved"
