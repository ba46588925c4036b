"""The workflow side of the reviewer inbox (docs/INBOX.md): open a human task, remind, escalate,
wait for the decision, close the task. Every review process (invoice, qualification, hours) uses it.

Timers are workflow timers: a reminder at `remind_after`, the overdue flag at `due_after`, both counted
from the moment the task was opened. The task stays open and decidable after it is overdue.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.review import CloseTask, Decision, OpenTask, decision_refusal
    from workflows.common import refuse, run_step
    from workflows.steps import tasks


async def wait_for_decision(
    open_task: OpenTask,
    has_decision: Callable[[], bool],
    remind_after: timedelta,
    due_after: timedelta,
    on_open: Callable[[int], None] | None = None,
) -> int:
    """Opens the task (idempotent on task_key), then waits for `has_decision()`; returns the task id.

    `on_open(task_id)` runs as soon as the task exists, so the `decide` validator can check that a
    decision is meant for the task this workflow is waiting for. `has_decision` should also hold
    when the submitter cancelled, so that the workflow can close the task as cancelled."""
    task_id = await run_step(tasks.open_task, open_task)
    if on_open is not None:
        on_open(task_id)
    opened_at = workflow.now()
    escalations = sorted([(remind_after, tasks.remind), (due_after, tasks.mark_overdue)], key=lambda e: e[0])
    for after, step in escalations:
        remaining = opened_at + after - workflow.now()
        if has_decision():
            return task_id
        if remaining > timedelta(0):
            try:
                await workflow.wait_condition(has_decision, timeout=remaining)
                return task_id
            except TimeoutError:
                pass
        await run_step(step, task_id)
    await workflow.wait_condition(has_decision)
    return task_id


async def close_task(close: CloseTask) -> None:
    await run_step(tasks.close_task, close)


class ReviewStep:
    """One human decision inside a review workflow: keep one as a workflow attribute.

        self.review = ReviewStep()
        ...
        decision = await self.review.run(open_task, remind_after, due_after, also=lambda: self.cancelled)

        @workflow.update
        async def decide(self, decision: Decision) -> str:
            self.review.accept(decision)
            await self.review.wait_closed()   # the inbox re-reads a decided task
            return "approved" if decision.approve else "rejected"

        @decide.validator
        def _validate_decide(self, decision: Decision) -> None:
            self.review.validate(decision)
    """

    def __init__(self) -> None:
        self.task_id: int | None = None
        self.decision: Decision | None = None
        self.closed = False

    def _opened(self, task_id: int) -> None:
        self.task_id = task_id
        self.decision = None
        self.closed = False

    def validate(self, decision: Decision, *, cancelled: bool = False) -> None:
        code = decision_refusal(decision, self.task_id, self.decision is not None or self.closed or cancelled)
        if code is not None:
            raise refuse(code)

    def accept(self, decision: Decision) -> None:
        """Call first thing in the `decide` handler. Two Updates delivered in one activation both pass
        their validators before either handler runs: the second one is refused here."""
        if self.decision is not None:
            raise refuse("TaskAlreadyDecided")
        self.decision = decision

    async def run(
        self,
        open_task: OpenTask,
        remind_after: timedelta,
        due_after: timedelta,
        also: Callable[[], bool] | None = None,
    ) -> Decision | None:
        """Waits for a decision (returned) or for `also()` (None: e.g. the submitter cancelled)."""
        await wait_for_decision(
            open_task,
            lambda: self.decision is not None or (also is not None and also()),
            remind_after,
            due_after,
            on_open=self._opened,
        )
        return self.decision

    async def close(self, outcome: str, actor_id: int | None, reason: str = "") -> None:
        assert self.task_id is not None
        await close_task(CloseTask(task_id=self.task_id, outcome=outcome, actor_id=actor_id, reason=reason))
        self.closed = True

    async def close_with_decision(self) -> None:
        """Closes the task as approved/rejected by the accepted decision."""
        assert self.decision is not None
        d = self.decision
        await self.close("approved" if d.approve else "rejected", d.reviewer_id, d.reason)

    async def wait_closed(self) -> None:
        await workflow.wait_condition(lambda: self.closed)
