"""CoursePublicationWorkflow: one per course (id `course-{lineage_id}`), for as long as the course exists.

提交审核 of a version (an Update, refused by its validator when the course has no chapters, its hours
do not match the courseware, its price is not positive or a version is already under review) →
a task in the platform admin's inbox (kind course_publication, queue admin) → approved: that
version goes on sale (已上架) and an earlier one leaves the catalogue; rejected: back to the course
administrator with the reason. 下架 (an Update) takes the version on sale out of the catalogue.
A new version is reviewed while the one on sale stays on sale. Continues as new once the history
grows long, carrying `PublicationState`.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.courses import (
        CoursePublicationInput,
        CourseSubmission,
        CourseWithdrawn,
        PublicationState,
        PublicationView,
        VersionDecided,
        WithdrawRequest,
        process_status,
        publication_refusal,
    )
    from domain.review import Decision, OpenTask, Queue, TaskKind
    from workflows.common import refuse, run_step, set_status
    from workflows.review import ReviewStep
    from workflows.steps import courses


@workflow.defn
class CoursePublicationWorkflow:
    @workflow.init
    def __init__(self, inp: CoursePublicationInput) -> None:
        # the input is read here, not in run: an update-with-start's Update is validated first
        self.input: CoursePublicationInput | None = inp
        self.s: PublicationState = inp.state
        self.pending: CourseSubmission | None = None  # accepted, not yet marked 审核中
        self.reviewing: CourseSubmission | None = None  # marked 审核中, waiting for the admin
        self.review = ReviewStep()
        self.lock = asyncio.Lock()  # the version on sale changes in one place at a time

    @workflow.run
    async def run(self, inp: CoursePublicationInput) -> str:
        self._status()
        while True:
            await workflow.wait_condition(lambda: self.pending is not None)
            assert self.pending is not None
            await self._review(self.pending)
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                if self.pending is None:
                    workflow.continue_as_new(replace(inp, state=self.s))

    async def _review(self, sub: CourseSubmission) -> None:
        assert self.input is not None
        self.pending, self.reviewing = None, sub
        self.review = ReviewStep()  # a fresh step: the submit handler waits for its task id
        await run_step(courses.mark_under_review, sub.version_id)
        self._status()
        remind_after = timedelta(seconds=self.input.remind_after_seconds)
        due_after = timedelta(seconds=self.input.due_after_seconds)
        decision = await self.review.run(self._task(sub, due_after), remind_after, due_after)
        assert decision is not None  # nothing else ends the wait
        await self.review.close_with_decision()
        reason = decision.reason.strip()
        async with self.lock:
            await run_step(
                courses.record_decision,
                VersionDecided(
                    lineage_id=self.input.lineage_id,
                    version_id=sub.version_id,
                    approve=decision.approve,
                    reason=reason,
                    reviewer_id=decision.reviewer_id,
                    decided_at=workflow.now().isoformat(),
                ),
            )
            if decision.approve:
                self.s.on_sale_version_id = sub.version_id
        self.s.reviews += 1
        self.s.last_outcome = "approved" if decision.approve else "rejected"
        self.s.last_reason = reason
        self.reviewing = None
        self._status()

    def _task(self, sub: CourseSubmission, due_after: timedelta) -> OpenTask:
        wid = workflow.info().workflow_id
        return OpenTask(
            task_key=f"{wid}:v{sub.version_id}:review{self.s.reviews + 1}",
            kind=TaskKind.COURSE_PUBLICATION,
            subject=f"课程上架：{sub.title}（第{sub.version}版）",
            queue=Queue.ADMIN,
            workflow_id=wid,
            submitter_id=sub.submitter_id,
            due_at=(workflow.now() + due_after).isoformat(),
            payload={"course_id": str(sub.version_id), "version": str(sub.version)},
        )

    def _status(self) -> None:
        on_sale = self.s.on_sale_version_id is not None
        set_status(process_status(on_sale, self.reviewing is not None))
        parts = [f"在售版本：课程 {self.s.on_sale_version_id}" if on_sale else "未上架"]
        if self.reviewing is not None:
            parts.append(f"审核中：第{self.reviewing.version}版（课程 {self.reviewing.version_id}）")
        elif self.s.last_outcome:
            parts.append(f"上次审核：{'通过' if self.s.last_outcome == 'approved' else '驳回'}")
        workflow.set_current_details("；".join(parts))

    # ---- Updates -----------------------------------------------------------------------------

    @workflow.update
    async def submit(self, sub: CourseSubmission) -> PublicationView:
        """提交审核; returns once the version is on record as 审核中, so the next page shows it."""
        if self.pending is not None or self.reviewing is not None:
            raise refuse("CourseUnderReview")  # a second submit in the same activation
        self.pending = sub
        await workflow.wait_condition(
            lambda: (
                self.reviewing is not None
                and self.reviewing.version_id == sub.version_id
                and self.review.task_id is not None
            )
        )
        return self._view()

    @submit.validator
    def _validate_submit(self, sub: CourseSubmission) -> None:
        if self.pending is not None or self.reviewing is not None:
            raise refuse("CourseUnderReview")
        if sub.version_id == self.s.on_sale_version_id:
            raise refuse("CourseNotSubmittable")
        code = publication_refusal(sub.hours, sub.price_cents, sub.chapter_seconds, sub.rule)
        if code is not None:
            raise refuse(code)

    @workflow.update
    async def withdraw(self, req: WithdrawRequest) -> PublicationView:
        """下架: the version on sale leaves 在线课程; trainees who hold it keep studying it."""
        assert self.input is not None
        async with self.lock:
            version_id = self.s.on_sale_version_id
            if version_id is None:
                raise refuse("CourseNotOnSale")
            await run_step(
                courses.withdraw,
                CourseWithdrawn(
                    lineage_id=self.input.lineage_id, version_id=version_id, actor_id=req.actor_id, at=req.at
                ),
            )
            self.s.on_sale_version_id = None
        self._status()
        return self._view()

    @withdraw.validator
    def _validate_withdraw(self, req: WithdrawRequest) -> None:
        if self.s.on_sale_version_id is None:
            raise refuse("CourseNotOnSale")

    @workflow.update
    async def decide(self, decision: Decision) -> str:
        self.review.accept(decision)
        reviews = self.s.reviews
        # the admin's next page (and the course administrator's) must already show the outcome
        await workflow.wait_condition(lambda: self.s.reviews > reviews)
        return "approved" if decision.approve else "rejected"

    @decide.validator
    def _validate_decide(self, decision: Decision) -> None:
        self.review.validate(decision)

    @workflow.query
    def view(self) -> PublicationView:
        return self._view()

    def _view(self) -> PublicationView:
        return PublicationView(
            on_sale_version_id=self.s.on_sale_version_id,
            reviewing_version_id=self.reviewing.version_id if self.reviewing else None,
            status=process_status(self.s.on_sale_version_id is not None, self.reviewing is not None),
            last_outcome=self.s.last_outcome,
            last_reason=self.s.last_reason,
        )
