"""UnitQualificationWorkflow: a unit's application for 集体开票资格 (unit qualification: the right to ask
for unit invoices), reviewed by the platform admin (queue "admin").

Id `unit-qualification-{credit_code}-{n}`: n counts the unit's applications, so a rejected unit applies
again under a new id while a second start of the same attempt is refused by the server.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from domain.process_text import unit_qualification_text
    from domain.review import Decision, OpenTask, Queue, TaskKind
    from domain.unit_qualification import (
        QualificationDecided,
        QualificationInput,
        QualificationState,
        QualificationView,
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
    from workflows.steps import unit_qualification as steps


def qualification_workflow_id(credit_code: str, attempt: int) -> str:
    return f"unit-qualification-{credit_code}-{attempt}"


@workflow.defn
class UnitQualificationWorkflow:
    def __init__(self) -> None:
        self.input: QualificationInput | None = None
        self.qualification_id: int | None = None
        self.state = QualificationState.UNDER_REVIEW
        self.reason = ""
        self.review = ReviewStep()
        self.failure: str | None = None
        self.failure_told = False  # the page waiting on the first answer has had the refusal

    @workflow.run
    async def run(self, application: QualificationInput) -> str:
        self.input = application
        self.text = unit_qualification_text(application)
        set_status(QualificationState.UNDER_REVIEW, self.text)
        try:
            self.qualification_id = await run_step(steps.record, application)
        except ActivityError as err:
            reason = permanent_failure_reason(err)
            if reason is None:
                raise
            self.state, self.failure = FAILED, reason
            mark_failed("unit_qualification.record", reason)
            await wait_until_told(lambda: self.failure_told)
            return self.state

        remind_after = timedelta(seconds=application.remind_after_seconds)
        due_after = timedelta(seconds=application.due_after_seconds)
        decision = await self.review.run(self._task(due_after), remind_after, due_after)
        assert decision is not None  # nothing else ends the wait: the applicant cannot withdraw
        await self.review.close_with_decision()

        state = QualificationState.APPROVED if decision.approve else QualificationState.REJECTED
        await run_step(
            steps.decide,
            QualificationDecided(
                qualification_id=self.qualification_id,
                state=state,
                reason=decision.reason.strip(),
                reviewer_id=decision.reviewer_id,
                decided_at=workflow.now().isoformat(),
            ),
        )
        self.state, self.reason = state, decision.reason.strip()
        set_status(state, self.text)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return state

    def _task(self, due_after: timedelta) -> OpenTask:
        assert self.input is not None and self.qualification_id is not None
        application = self.input
        return OpenTask(
            task_key=f"{workflow.info().workflow_id}:review",
            kind=TaskKind.UNIT_QUALIFICATION,
            subject=f"集体开票资格：{application.unit_name}（{application.credit_code}）",
            queue=Queue.ADMIN,
            workflow_id=workflow.info().workflow_id,
            submitter_id=application.applicant_id,
            due_at=(workflow.now() + due_after).isoformat(),
            payload={"qualification_id": str(self.qualification_id), "attempt": str(application.attempt)},
        )

    # ---- Updates -----------------------------------------------------------------------------

    @workflow.update
    async def submitted(self) -> QualificationView:
        """Returns once the application is on record, so the next page shows it as 审核中."""
        await workflow.wait_condition(lambda: self.qualification_id is not None or self.failure is not None)
        if self.qualification_id is None:
            self.failure_told = True
            raise refuse("ProcessFailed")
        return self._view()

    @workflow.update
    async def decide(self, decision: Decision) -> str:
        self.review.accept(decision)
        # the admin's next page (and the applicant's) must already show the new state
        await workflow.wait_condition(lambda: self.state != QualificationState.UNDER_REVIEW)
        return "approved" if decision.approve else "rejected"

    @decide.validator
    def _validate_decide(self, decision: Decision) -> None:
        self.review.validate(decision)

    @workflow.query
    def view(self) -> QualificationView:
        return self._view()

    def _view(self) -> QualificationView:
        return QualificationView(qualification_id=self.qualification_id or 0, state=self.state, reason=self.reason)
