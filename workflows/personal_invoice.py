"""PersonalInvoiceWorkflow (`invoice-{application_no}`): one 发票申请 from 申请 to 已开票.

Records the application (claiming its orders in the shared guard, or refusing when another
application holds one), opens a finance task in the reviewer inbox, and waits for 通过 / 驳回 or
the trainee's 取消. On 通过 it issues the invoice (number, PDF), e-mails it, and marks it 已开票.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.catalog import format_money
    from domain.invoicing import InvoiceRecorded
    from domain.personal_invoice import (
        ApplicationClosed,
        InvoiceMail,
        InvoiceState,
        IssueRequest,
        PersonalInvoiceInput,
        PersonalInvoiceView,
    )
    from domain.process_text import personal_invoice_text
    from domain.review import Decision, OpenTask, Queue, TaskKind
    from workflows.common import (
        FAILED,
        mark_failed,
        permanent_failure_reason,
        refuse,
        run_step,
        set_status,
        show,
        wait_until_told,
    )
    from workflows.review import ReviewStep
    from workflows.steps import invoices

# Rendering a PDF with embedded fonts takes a few seconds on a busy worker.
PDF_TIMEOUT = timedelta(minutes=2)


def personal_invoice_workflow_id(application_no: str) -> str:
    return f"invoice-{application_no}"


@workflow.defn
class PersonalInvoiceWorkflow:
    def __init__(self) -> None:
        self.input: PersonalInvoiceInput | None = None
        self.recorded: InvoiceRecorded | None = None
        self.state = InvoiceState.PENDING
        self.review = ReviewStep()
        self.cancel_requested = False
        self.reason = ""
        self.invoice_no = ""
        self.failure: str | None = None
        self.failure_told = False  # the page waiting on the first answer has had the refusal

    @workflow.run
    async def run(self, app: PersonalInvoiceInput) -> str:
        self.input = app
        self.text = personal_invoice_text(app)
        show(self.text, InvoiceState.PENDING)
        try:
            self.recorded = await run_step(invoices.record_application, app)
        except ActivityError as err:
            reason = permanent_failure_reason(err)
            if reason is None:
                raise
            # the application cannot be stored (bad data): the page is told, the operator sees why
            self.failure = reason
            self.state = FAILED
            mark_failed("record_application", reason)
            await wait_until_told(lambda: self.failure_told)
            return self.state
        if self.recorded.taken_order_nos:
            self.state = InvoiceState.REFUSED
            set_status(self.state, self.text)
            await workflow.wait_condition(workflow.all_handlers_finished)
            return self.state

        decision = await self.review.run(
            self._open_task(app),
            timedelta(seconds=app.remind_after_seconds),
            timedelta(seconds=app.due_after_seconds),
            also=lambda: self.cancel_requested,
        )
        if decision is None:
            await self._close(InvoiceState.CANCELLED, "申请人取消申请", app.trainee_id)
        elif not decision.approve:
            await self._close(InvoiceState.REJECTED, decision.reason, decision.reviewer_id)
        else:
            await self.review.close_with_decision()
            await self._issue(decision)
        set_status(self.state, self.text)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state

    # ---- Updates --------------------------------------------------------------------------------

    @workflow.update
    async def submitted(self) -> PersonalInvoiceView:
        """Answers 申请 once the application is on record, or refuses it (the order is taken)."""
        await workflow.wait_condition(lambda: self.recorded is not None or self.failure is not None)
        if self.recorded is None:
            self.failure_told = True
            raise refuse("ProcessFailed")
        if self.recorded.taken_order_nos:
            raise refuse("InvoiceAlreadyRequested")
        return self._view()

    @workflow.update
    async def decide(self, decision: Decision) -> str:
        self.review.accept(decision)
        await self.review.wait_closed()  # the inbox reads the task back decided
        return "approved" if decision.approve else "rejected"

    @decide.validator
    def _validate_decide(self, decision: Decision) -> None:
        self.review.validate(decision, cancelled=self.cancel_requested)

    @workflow.update
    async def cancel(self) -> PersonalInvoiceView:
        """取消 while 待开票: closes the task and frees the orders before answering."""
        self.cancel_requested = True
        await workflow.wait_condition(lambda: self.state == InvoiceState.CANCELLED)
        return self._view()

    @cancel.validator
    def _validate_cancel(self) -> None:
        recorded = self.recorded is not None and not self.recorded.taken_order_nos
        undecided = self.review.decision is None and not self.review.closed
        if self.cancel_requested or not recorded or not undecided:
            raise refuse("InvoiceNotCancellable")

    @workflow.query
    def view(self) -> PersonalInvoiceView:
        return self._view()

    # ---- steps ----------------------------------------------------------------------------------

    def _open_task(self, app: PersonalInvoiceInput) -> OpenTask:
        info = workflow.info()
        return OpenTask(
            task_key=f"{info.workflow_id}:review",
            kind=TaskKind.PERSONAL_INVOICE,
            subject=f"个人发票 {app.title} {format_money(app.amount_cents)}",
            queue=Queue.FINANCE,
            workflow_id=info.workflow_id,
            submitter_id=app.trainee_id,
            due_at=(workflow.now() + timedelta(seconds=app.due_after_seconds)).isoformat(),
            payload={
                "application_no": app.application_no,
                "申请人": app.trainee_name,
                "发票抬头": app.title,
                "金额": format_money(app.amount_cents),
            },
        )

    async def _close(self, state: str, reason: str, actor_id: int | None) -> None:
        assert self.input is not None
        outcome = "cancelled" if state == InvoiceState.CANCELLED else "rejected"
        await self.review.close(outcome, actor_id, reason)
        await run_step(invoices.close_application, ApplicationClosed(self.input.application_no, state, reason))
        self.reason = reason
        self.state = state

    async def _issue(self, decision: Decision) -> None:
        assert self.input is not None
        app = self.input
        issued = await run_step(
            invoices.issue,
            IssueRequest(application_no=app.application_no, drawer_id=decision.reviewer_id),
            timeout=PDF_TIMEOUT,
        )
        self.invoice_no = issued.invoice_no
        try:
            await run_step(
                invoices.send_invoice,
                InvoiceMail(
                    to=app.email,
                    buyer_title=app.title,
                    seller_name=issued.seller_name,
                    invoice_no=issued.invoice_no,
                    amount_cents=issued.amount_cents,
                    pdf_path=issued.pdf_path,
                    application_no=app.application_no,
                ),
            )
        except ActivityError as err:
            # an address the mail server refuses for good: the invoice is issued all the same and
            # can be downloaded from 我的发票; anything else is a fault to look at
            if not (isinstance(err.cause, ApplicationError) and err.cause.type == "MailRejected"):
                raise
            workflow.logger.warning("invoice %s: mail to %s refused", issued.invoice_no, app.email)
        await run_step(invoices.mark_issued, app.application_no)
        self.state = InvoiceState.ISSUED

    def _view(self) -> PersonalInvoiceView:
        assert self.input is not None
        return PersonalInvoiceView(
            application_no=self.input.application_no,
            state=self.state,
            reason=self.reason,
            invoice_no=self.invoice_no,
        )
