"""A tiny test-only review workflow: one inbox task, decided through the real inbox, nothing else.

Lets the inbox (activities/tasks.py, workflows/review.py, api/routers/inbox.py) be tested apart from
any real review process. Kept free of test imports: the workflow sandbox re-imports this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.review import Decision, OpenTask
    from workflows.review import ReviewStep

PROBE_KIND = "probe"


@dataclass
class ProbeInput:
    subject: str
    queue: str
    submitter_id: int | None
    remind_after_seconds: float = 24 * 3600
    due_after_seconds: float = 48 * 3600


@workflow.defn
class ProbeReviewWorkflow:
    def __init__(self) -> None:
        self.review = ReviewStep()
        self.withdrawn = False

    @workflow.run
    async def run(self, inp: ProbeInput) -> str:
        wid = workflow.info().workflow_id
        decision = await self.review.run(
            OpenTask(
                task_key=f"{wid}:review",
                kind=PROBE_KIND,
                subject=inp.subject,
                queue=inp.queue,
                workflow_id=wid,
                submitter_id=inp.submitter_id,
                due_at=(workflow.now() + timedelta(seconds=inp.due_after_seconds)).isoformat(),
                payload={"说明": "测试审核流程"},
            ),
            timedelta(seconds=inp.remind_after_seconds),
            timedelta(seconds=inp.due_after_seconds),
            also=lambda: self.withdrawn,
        )
        if decision is None:
            await self.review.close("cancelled", inp.submitter_id, "申请人撤回")
            return "cancelled"
        await self.review.close_with_decision()
        return "approved" if decision.approve else "rejected"

    @workflow.update
    async def decide(self, decision: Decision) -> str:
        self.review.accept(decision)
        await self.review.wait_closed()
        return "approved" if decision.approve else "rejected"

    @decide.validator
    def _validate_decide(self, decision: Decision) -> None:
        self.review.validate(decision, cancelled=self.withdrawn)

    @workflow.signal
    def withdraw(self) -> None:
        self.withdrawn = True
