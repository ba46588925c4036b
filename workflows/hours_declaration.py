"""HoursDeclarationWorkflow: one 提交申报 — a trainee's offline hours for a year, reviewed record by
record by the chosen school's reviewers (queue school:<id>).

Id `hours-{declaration_no}`: a second 提交申报 of the same declaration joins the running workflow.
The history stays short (one task, one decision), so no continue-as-new is needed.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.errors import DomainError
    from domain.hours import (
        ApplyReview,
        DeclarationInput,
        DeclarationState,
        DeclarationSubmitted,
        DeclarationView,
        SubmitDeclaration,
        declaration_outcome,
        resolve_item_decisions,
        review_summary,
    )
    from domain.process_text import hours_declaration_text
    from domain.review import Decision, ItemDecision, OpenTask, Queue, TaskKind
    from workflows.common import refuse, run_step, set_status
    from workflows.review import ReviewStep
    from workflows.steps import hours

# the declaration never reached the school: every record was taken out before it was sent
EMPTY = "empty"


def declaration_workflow_id(declaration_no: str) -> str:
    return f"hours-{declaration_no}"


@workflow.defn
class HoursDeclarationWorkflow:
    def __init__(self) -> None:
        self.input: DeclarationInput | None = None
        self.locked: DeclarationSubmitted | None = None
        self.state = DeclarationState.REVIEWING
        self.review = ReviewStep()

    @workflow.run
    async def run(self, declaration: DeclarationInput) -> str:
        self.input = declaration
        self.text = hours_declaration_text(declaration)
        wf_id = workflow.info().workflow_id
        set_status(DeclarationState.REVIEWING, self.text)
        self.locked = await run_step(
            hours.submit_declaration,
            SubmitDeclaration(
                declaration_no=declaration.declaration_no,
                school_id=declaration.school_id,
                workflow_id=wf_id,
                record_ids=declaration.record_ids,
                submitted_at=workflow.now().isoformat(),
            ),
        )
        if not self.locked.record_ids:
            self.state = EMPTY
            set_status(EMPTY, self.text)
            await workflow.wait_condition(workflow.all_handlers_finished)
            return EMPTY

        remind_after = timedelta(seconds=declaration.remind_after_seconds)
        due_after = timedelta(seconds=declaration.due_after_seconds)
        decision = await self.review.run(self._task(due_after), remind_after, due_after)
        assert decision is not None  # nothing else ends the wait: there is no withdrawal
        items = resolve_item_decisions(decision, self.locked.record_ids)  # checked by the validator
        await run_step(
            hours.apply_review,
            ApplyReview(
                declaration_no=declaration.declaration_no,
                reviewer_id=decision.reviewer_id,
                decided_at=workflow.now().isoformat(),
                items=items,
            ),
        )
        outcome = declaration_outcome(items)
        await self.review.close(*self._close_args(outcome, items, decision))
        self.state = outcome
        set_status(outcome, self.text)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return outcome

    def _task(self, due_after: timedelta) -> OpenTask:
        assert self.input is not None and self.locked is not None
        d = self.input
        count = len(self.locked.record_ids)
        return OpenTask(
            task_key=f"{workflow.info().workflow_id}:review",
            kind=TaskKind.HOURS_DECLARATION,
            subject=f"学时申报：{d.trainee_name} {d.year}年度（{count}条，共{self.locked.total_hours}学时）",
            queue=Queue.school(d.school_id),
            workflow_id=workflow.info().workflow_id,
            submitter_id=d.trainee_id,
            due_at=(workflow.now() + due_after).isoformat(),
            payload={
                "declaration_no": d.declaration_no,
                "year": str(d.year),
                "records": str(count),
                "hours": self.locked.total_hours,
            },
        )

    def _close_args(
        self, outcome: str, items: dict[str, ItemDecision], decision: Decision
    ) -> tuple[str, int, str]:
        """(task outcome, actor, audit comment): a partial approval closes the task as approved,
        with the rejected records and their reasons in the comment."""
        assert self.locked is not None
        if outcome == DeclarationState.APPROVED:
            return "approved", decision.reviewer_id, decision.reason.strip()
        summary = review_summary(items, self.locked.titles)
        task_outcome = "rejected" if outcome == DeclarationState.REJECTED else "approved"
        return task_outcome, decision.reviewer_id, summary

    # ---- Updates -----------------------------------------------------------------------------

    @workflow.update
    async def submitted(self) -> DeclarationView:
        """Returns once the declaration is on record as 审核中 (or found empty), for the next page."""
        await workflow.wait_condition(lambda: self.locked is not None)
        return self._view()

    @workflow.update
    async def decide(self, decision: Decision) -> str:
        self.review.accept(decision)
        # the reviewer's next page (and the trainee's) must already show the decision applied
        await workflow.wait_condition(lambda: self.state != DeclarationState.REVIEWING)
        return self.state

    @decide.validator
    def _validate_decide(self, decision: Decision) -> None:
        self.review.validate(decision)
        assert self.locked is not None  # the task exists, so the records are known
        try:
            resolve_item_decisions(decision, self.locked.record_ids)
        except DomainError as err:
            raise refuse(err.code) from None

    @workflow.query
    def view(self) -> DeclarationView:
        return self._view()

    def _view(self) -> DeclarationView:
        assert self.input is not None
        ids = self.locked.record_ids if self.locked else []
        return DeclarationView(declaration_no=self.input.declaration_no, state=self.state, record_ids=ids)
