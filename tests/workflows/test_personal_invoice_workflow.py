"""PersonalInvoiceWorkflow with fake activities (invoices.*, mail.*, tasks.*): 通过 issues, mails and
marks 已开票; 驳回 with its reason; 取消 while 待开票; an order taken by another application; the
decide validator's refusals; the reminder and overdue timers on the time-skipping server.

RECORD_HISTORIES=1 re-records the histories that tests/workflows/test_replay.py replays."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.invoicing import InvoiceRecorded
from domain.personal_invoice import (
    ApplicationClosed,
    InvoiceLine,
    InvoiceMail,
    IssuedInvoice,
    IssueRequest,
    PersonalInvoiceInput,
    PersonalInvoiceView,
)
from domain.review import CloseTask, Decision
from tests.support import eventually
from tests.workflows.fakes import FakeCalls, refusal, task_opened
from tests.workflows.histories import record
from workflows.personal_invoice import PersonalInvoiceWorkflow

QUEUE = "personal-invoice-test"
TASK_ID = 811
FINANCE_ID = 3
INVOICE_NO = "26431000000000000042"


@dataclass
class FakeSide(FakeCalls):
    """Stands in for the database, the inbox, the PDF and the mail; records every call."""

    taken: list[str] = field(default_factory=list)
    # holds close_application, so that the workflow is still running when the next Update arrives
    hold: asyncio.Event | None = None
    mail_rejected: bool = False

    def activities(self) -> list:
        @activity.defn(name="invoices.record_application")
        async def record_application(app: PersonalInvoiceInput) -> InvoiceRecorded:
            self.calls.append(("record_application", app))
            return InvoiceRecorded(taken_order_nos=list(self.taken))

        @activity.defn(name="invoices.close_application")
        async def close_application(closed: ApplicationClosed) -> None:
            if self.hold is not None:
                await self.hold.wait()
            self.calls.append(("close_application", closed))

        @activity.defn(name="invoices.issue")
        async def issue(req: IssueRequest) -> IssuedInvoice:
            self.calls.append(("issue", req))
            return IssuedInvoice(req.application_no, INVOICE_NO, f"invoices/{INVOICE_NO}.pdf", 12000, "湖南农业大学")

        @activity.defn(name="invoices.mark_issued")
        async def mark_issued(application_no: str) -> None:
            self.calls.append(("mark_issued", application_no))

        @activity.defn(name="mail.send_invoice")
        async def send_invoice(mail: InvoiceMail) -> None:
            self.calls.append(("send_invoice", mail))
            if self.mail_rejected:
                raise ApplicationError("收件地址被拒绝", type="MailRejected", non_retryable=True)

        return [
            record_application,
            close_application,
            issue,
            mark_issued,
            send_invoice,
            *self.task_activities(TASK_ID),
        ]


def application(no: str) -> PersonalInvoiceInput:
    return PersonalInvoiceInput(
        application_no=no,
        trainee_id=7,
        trainee_name="张伟",
        school_id=1,
        title_type="personal",
        title="张伟",
        tax_id=None,
        email="zhangwei@example.cn",
        lines=[InvoiceLine("O-1", 4000), InvoiceLine("O-2", 8000)],
        submitted_at="2026-11-28T10:00:00+00:00",
        remind_after_seconds=24 * 3600,
        due_after_seconds=48 * 3600,
    )


def worker(client: Client, side: FakeSide) -> Worker:
    return Worker(client, task_queue=QUEUE, workflows=[PersonalInvoiceWorkflow], activities=side.activities())


async def start(client: Client) -> tuple[str, WorkflowHandle]:
    no = f"P{uuid.uuid4().hex[:12]}"
    handle = await client.start_workflow(
        PersonalInvoiceWorkflow.run, application(no), id=f"invoice-{no}", task_queue=QUEUE
    )
    return no, handle


def decision(approve: bool, reason: str = "", task_id: int = TASK_ID) -> Decision:
    return Decision(task_id=task_id, reviewer_id=FINANCE_ID, approve=approve, reason=reason)


async def test_approved_application_is_issued_mailed_and_marked(temporal_client: Client) -> None:
    side = FakeSide()
    async with worker(temporal_client, side):
        no, handle = await start(temporal_client)
        view = await handle.execute_update(PersonalInvoiceWorkflow.submitted)
        assert view == PersonalInvoiceView(no, "pending")
        await eventually(lambda: task_opened(handle))
        opened = side.arg("open")
        assert opened.queue == "finance" and opened.kind == "personal_invoice"  # type: ignore[attr-defined]
        assert opened.payload["application_no"] == no  # type: ignore[attr-defined]

        assert await refusal(handle, "decide", decision(True, task_id=999)) == "TaskAlreadyDecided"
        assert await refusal(handle, "decide", decision(False, "  ")) == "RejectReasonRequired"
        assert await handle.execute_update(PersonalInvoiceWorkflow.decide, decision(True)) == "approved"
        assert await handle.result() == "issued"
        with pytest.raises(Exception):  # noqa: B017 - the workflow has finished: nothing to cancel
            await handle.execute_update(PersonalInvoiceWorkflow.cancel)

    assert side.names() == [
        "record_application",
        "open",
        "close",
        "issue",
        "send_invoice",
        "mark_issued",
    ]
    assert side.arg("close") == CloseTask(TASK_ID, "approved", FINANCE_ID, "")
    mail = side.arg("send_invoice")
    assert isinstance(mail, InvoiceMail)
    assert (mail.to, mail.invoice_no, mail.pdf_path) == (
        "zhangwei@example.cn",
        INVOICE_NO,
        f"invoices/{INVOICE_NO}.pdf",
    )
    assert side.arg("issue") == IssueRequest(no, FINANCE_ID)
    await record(handle, "personal_invoice_issued")


async def test_rejected_application_keeps_the_reason_and_frees_the_orders(temporal_client: Client) -> None:
    side = FakeSide()
    async with worker(temporal_client, side):
        no, handle = await start(temporal_client)
        await handle.execute_update(PersonalInvoiceWorkflow.submitted)
        await eventually(lambda: task_opened(handle))
        assert await handle.execute_update(PersonalInvoiceWorkflow.decide, decision(False, "抬头有误")) == "rejected"
        assert await handle.result() == "rejected"
        assert (await handle.query(PersonalInvoiceWorkflow.view)).reason == "抬头有误"
    assert side.arg("close") == CloseTask(TASK_ID, "rejected", FINANCE_ID, "抬头有误")
    assert side.arg("close_application") == ApplicationClosed(no, "rejected", "抬头有误")
    assert "issue" not in side.names() and "send_invoice" not in side.names()
    await record(handle, "personal_invoice_rejected")


async def test_cancel_while_pending_closes_the_task_as_cancelled(temporal_client: Client) -> None:
    side = FakeSide()
    async with worker(temporal_client, side):
        no, handle = await start(temporal_client)
        await handle.execute_update(PersonalInvoiceWorkflow.submitted)
        view = await handle.execute_update(PersonalInvoiceWorkflow.cancel)
        assert view.state == "cancelled"
        assert await handle.result() == "cancelled"
    assert side.arg("close_application") == ApplicationClosed(no, "cancelled", "申请人取消申请")
    closed = side.arg("close")
    assert isinstance(closed, CloseTask) and closed.outcome == "cancelled" and closed.actor_id == 7
    await record(handle, "personal_invoice_cancelled")


async def test_decision_after_cancel_and_cancel_after_decision_are_refused(temporal_client: Client) -> None:
    side = FakeSide(hold=asyncio.Event())
    async with worker(temporal_client, side):
        _, handle = await start(temporal_client)
        await handle.execute_update(PersonalInvoiceWorkflow.submitted)
        await eventually(lambda: task_opened(handle))
        await handle.execute_update(PersonalInvoiceWorkflow.decide, decision(False, "重复申请"))
        # the workflow is still closing the application: both refusals come from the validators
        assert await refusal(handle, "decide", decision(True)) == "TaskAlreadyDecided"
        assert await refusal(handle, "cancel") == "InvoiceNotCancellable"
        side.hold.set()  # type: ignore[union-attr]
        assert await handle.result() == "rejected"


async def test_an_order_taken_by_another_application_refuses_the_submission(temporal_client: Client) -> None:
    side = FakeSide(taken=["O-2"])
    async with worker(temporal_client, side):
        _, handle = await start(temporal_client)
        assert await refusal(handle, "submitted") == "InvoiceAlreadyRequested"
        assert await handle.result() == "refused"
    assert side.names() == ["record_application"]  # no task for finance, nothing issued


async def test_an_undecided_task_is_reminded_then_flagged_overdue(time_env: WorkflowEnvironment) -> None:
    side = FakeSide()
    async with worker(time_env.client, side):
        _, handle = await start(time_env.client)
        await time_env.sleep(timedelta(hours=23))
        assert "open" in side.names() and "remind" not in side.names()
        await time_env.sleep(timedelta(hours=2))
        assert ("remind", TASK_ID) in side.calls and "mark_overdue" not in side.names()
        await time_env.sleep(timedelta(hours=24))
        assert ("mark_overdue", TASK_ID) in side.calls
        # overdue tasks stay decidable: the trainee may still cancel, finance may still decide
        await time_env.sleep(timedelta(days=30))
        assert side.names().count("remind") == 1 and side.names().count("mark_overdue") == 1
        view = await handle.execute_update(PersonalInvoiceWorkflow.cancel)
        assert view.state == "cancelled"
        assert await handle.result() == "cancelled"


async def test_an_address_the_mail_server_refuses_still_ends_issued(temporal_client: Client) -> None:
    side = FakeSide(mail_rejected=True)
    async with worker(temporal_client, side):
        _, handle = await start(temporal_client)
        await handle.execute_update(PersonalInvoiceWorkflow.submitted)
        await eventually(lambda: task_opened(handle))
        await handle.execute_update(PersonalInvoiceWorkflow.decide, decision(True))
        assert await handle.result() == "issued"  # downloadable from 我的发票
    assert side.names()[-2:] == ["send_invoice", "mark_issued"]
