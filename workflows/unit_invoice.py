"""UnitInvoiceWorkflow: 单位开票 — an approved unit's application for one invoice over its trainees'
paid orders, reviewed by finance (queue "finance"), then issued (number, PDF, e-mail).

Id `unit-invoice-{application_no}`. Recording the application claims every order in the shared
invoiced-orders guard (personal and unit invoices alike); a rejection releases them.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.catalog import format_money
    from domain.process_text import unit_invoice_text
    from domain.review import Decision, OpenTask, Queue, TaskKind
    from domain.unit_invoice import (
        UnitInvoiceDecided,
        UnitInvoiceInput,
        UnitInvoiceState,
        UnitInvoiceView,
    )
    from workflows.common import (
        FAILED,
        mark_failed,
        permanent_failure_reason,
        refuse,
        run_step,
        set_status,
        wait_until_told,
    )
    from workflows.review import ReviewStep
    from workflows.steps import unit_invoice as steps


def unit_invoice_workflow_id(application_no: str) -> str:
    return f"unit-invoice-{application_no}"


@workflow.defn
class UnitInvoiceWorkflow:
    def __init__(self) -> None:
        self.input: UnitInvoiceInput | None = None
        self.recorded = False
        self.state = UnitInvoiceState.PENDING
        self.reason = ""
        self.invoice_no = ""
        self.review = ReviewStep()
        self.failure: str | None = None
        self.failure_told = False  # the page waiting on the first answer has had the refusal

    @workflow.run
    async def run(self, application: UnitInvoiceInput) -> str:
        self.input = application
        self.text = unit_invoice_text(application)
        set_status(UnitInvoiceState.PENDING, self.text)
        try:
            recorded = await run_step(steps.record, application)
        except ActivityError as err:
            reason = permanent_failure_reason(err)
            if reason is None:
                raise
            self.state, self.failure, self.recorded = FAILED, reason, True
            mark_failed("unit_invoice.record", reason)
            await wait_until_told(lambda: self.failure_told)
            return self.state
        if recorded.taken_order_nos:
            # another application took some of the orders meanwhile: nothing was written
            self.state = UnitInvoiceState.REFUSED
            self.recorded = True
            set_status(self.state, self.text)
            await workflow.wait_condition(workflow.all_handlers_finished)
            return self.state
        self.recorded = True

        remind_after = timedelta(seconds=application.remind_after_seconds)
        due_after = timedelta(seconds=application.due_after_seconds)
        decision = await self.review.run(self._task(due_after), remind_after, due_after)
        assert decision is not None  # the applicant cannot withdraw a unit application
        # the reviewer's decision is on record first; issuing may take a while (PDF)
        await self.review.close_with_decision()
        decided = UnitInvoiceDecided(
            application_no=application.application_no,
            state=UnitInvoiceState.ISSUED if decision.approve else UnitInvoiceState.REJECTED,
            reason=decision.reason.strip(),
            reviewer_id=decision.reviewer_id,
            decided_at=workflow.now().isoformat(),
        )
        if decision.approve:
            issued = await run_step(steps.issue, decided)
            self.invoice_no = issued.invoice_no
            self.state = UnitInvoiceState.ISSUED
            set_status(self.state, self.text)
            try:
                await run_step(steps.mail, issued)
            except ActivityError as err:
                # as for the personal invoice: an address the mail server refuses for good leaves the
                # invoice issued, downloadable from 开票记录; anything else is a fault to look at
                if not (isinstance(err.cause, ApplicationError) and err.cause.type == "MailRejected"):
                    raise
                workflow.logger.warning("unit invoice %s: mail refused", issued.invoice_no)
        else:
            await run_step(steps.reject, decided)
            self.state, self.reason = UnitInvoiceState.REJECTED, decided.reason
            set_status(self.state, self.text)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state

    def _task(self, due_after: timedelta) -> OpenTask:
        assert self.input is not None
        application = self.input
        return OpenTask(
            task_key=f"{workflow.info().workflow_id}:review",
            kind=TaskKind.UNIT_INVOICE,
            subject=(
                f"单位开票：{application.unit_name}"
                f"（{len(application.lines)} 条记录，{format_money(application.amount_cents)}）"
            ),
            queue=Queue.FINANCE,
            workflow_id=workflow.info().workflow_id,
            submitter_id=application.applicant_id,
            due_at=(workflow.now() + due_after).isoformat(),
            payload={"application_no": application.application_no},
        )

    # ---- Updates -----------------------------------------------------------------------------

    @workflow.update
    async def submitted(self) -> UnitInvoiceView:
        """Returns once the application is on record (the orders are now 待开票), or refuses."""
        await workflow.wait_condition(lambda: self.recorded)
        if self.failure is not None:
            self.failure_told = True
            raise refuse("ProcessFailed")
        if self.state == UnitInvoiceState.REFUSED:
            raise refuse("InvoiceAlreadyRequested")
        return self._view()

    @workflow.update
    async def decide(self, decision: Decision) -> str:
        self.review.accept(decision)
        # finance's next page shows 已开票 / 已驳回, not a half-done state
        await workflow.wait_condition(lambda: self.state != UnitInvoiceState.PENDING)
        return "approved" if decision.approve else "rejected"

    @decide.validator
    def _validate_decide(self, decision: Decision) -> None:
        self.review.validate(decision)

    @workflow.query
    def view(self) -> UnitInvoiceView:
        return self._view()

    def _view(self) -> UnitInvoiceView:
        assert self.input is not None
        return UnitInvoiceView(
            application_no=self.input.application_no, state=self.state, reason=self.reason, invoice_no=self.invoice_no
        )
