"""CoursePublicationWorkflow with fake activities (courses.*, tasks.*), on the time-skipping server:
approve, reject (with a reason) and resubmit, a new version reviewed while the old one stays on sale,
下架, the submit validator's refusals, and the review reminder/escalation timers.

RECORD_HISTORIES=1 re-records the histories that tests/workflows/test_replay.py replays."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.courses import (
    CoursePublicationInput,
    CourseSubmission,
    CourseWithdrawn,
    PublicationState,
    VersionDecided,
    WithdrawRequest,
)
from domain.review import CloseTask, Decision, OpenTask
from tests.support import eventually
from tests.workflows.fakes import FakeCalls, refusal, task_opened
from tests.workflows.histories import record
from workflows.course_publication import CoursePublicationWorkflow

QUEUE = "course-publication-test"
TASK_ID = 801
LINEAGE = 40


@dataclass
class FakeSide(FakeCalls):
    def activities(self) -> list:
        @activity.defn(name="courses.mark_under_review")
        async def mark_under_review(version_id: int) -> None:
            self.calls.append(("mark_under_review", version_id))

        @activity.defn(name="courses.record_decision")
        async def record_decision(d: VersionDecided) -> None:
            self.calls.append(("record_decision", d))

        @activity.defn(name="courses.withdraw")
        async def withdraw(w: CourseWithdrawn) -> None:
            self.calls.append(("withdraw", w))

        return [mark_under_review, record_decision, withdraw, *self.task_activities(TASK_ID)]

    def all_args(self, name: str) -> list[object]:
        return [a for n, a in self.calls if n == name]


def worker(client: Client, side: FakeSide) -> Worker:
    return Worker(client, task_queue=QUEUE, workflows=[CoursePublicationWorkflow], activities=side.activities())


def submission(version_id: int = LINEAGE, **changes: object) -> CourseSubmission:
    sub = CourseSubmission(
        version_id=version_id,
        submitter_id=9,
        title="农村电商实务",
        version=1 if version_id == LINEAGE else 2,
        hours="1",
        price_cents=3000,
        chapter_seconds=[1500, 1200],  # 45 minutes = 1 学时
        minutes_per_hour=45,
        tolerance_minutes=5,
        submitted_at="2026-12-01T10:00:00+00:00",
    )
    for key, value in changes.items():
        setattr(sub, key, value)
    return sub


async def start(client: Client, on_sale: int | None = None) -> WorkflowHandle:
    inp = CoursePublicationInput(
        lineage_id=LINEAGE,
        school_id=1,
        title="农村电商实务",
        remind_after_seconds=24 * 3600,
        due_after_seconds=48 * 3600,
        state=PublicationState(on_sale_version_id=on_sale),
    )
    # a fresh id per test: the server keeps every workflow id of the session
    wid = f"course-{LINEAGE}-{uuid.uuid4().hex[:8]}"
    return await client.start_workflow(CoursePublicationWorkflow.run, inp, id=wid, task_queue=QUEUE)


def decision(approve: bool, reason: str = "", task_id: int = TASK_ID) -> Decision:
    return Decision(task_id=task_id, reviewer_id=42, approve=approve, reason=reason)


async def test_submitted_version_is_reviewed_by_the_admin_and_goes_on_sale(time_env: WorkflowEnvironment) -> None:
    side = FakeSide()
    async with worker(time_env.client, side):
        handle = await start(time_env.client)
        view = await handle.execute_update(CoursePublicationWorkflow.submit, submission())
        assert (view.status, view.reviewing_version_id, view.on_sale_version_id) == ("under_review", LINEAGE, None)
        assert side.arg("mark_under_review") == LINEAGE
        task = side.arg("open")
        assert isinstance(task, OpenTask)
        assert (task.kind, task.queue, task.submitter_id) == ("course_publication", "admin", 9)
        assert task.subject == "课程上架：农村电商实务（第1版）"
        assert task.payload == {"course_id": str(LINEAGE), "version": "1"}

        assert await handle.execute_update(CoursePublicationWorkflow.decide, decision(True)) == "approved"
        decided = side.arg("record_decision")
        assert isinstance(decided, VersionDecided)
        assert (decided.version_id, decided.approve, decided.reviewer_id) == (LINEAGE, True, 42)
        closed = side.arg("close")
        assert isinstance(closed, CloseTask) and closed.outcome == "approved"
        view = await handle.query(CoursePublicationWorkflow.view)
        assert (view.status, view.on_sale_version_id, view.last_outcome) == ("published", LINEAGE, "approved")
        # the decided task cannot be decided again
        assert await refusal(handle, "decide", decision(False, "重复")) == "TaskAlreadyDecided"
        await record(handle, "course_publication_approved")
        await handle.terminate()


async def test_rejected_with_a_reason_then_resubmitted(time_env: WorkflowEnvironment) -> None:
    side = FakeSide()
    async with worker(time_env.client, side):
        handle = await start(time_env.client)
        await handle.execute_update(CoursePublicationWorkflow.submit, submission())
        await eventually(lambda: task_opened(handle))
        assert await refusal(handle, "decide", decision(False, " ")) == "RejectReasonRequired"
        assert "record_decision" not in side.names()

        assert (
            await handle.execute_update(CoursePublicationWorkflow.decide, decision(False, "课件画面模糊")) == "rejected"
        )
        decided = side.arg("record_decision")
        assert isinstance(decided, VersionDecided)
        assert (decided.approve, decided.reason) == (False, "课件画面模糊")
        view = await handle.query(CoursePublicationWorkflow.view)
        assert (view.status, view.on_sale_version_id, view.last_reason) == ("off_sale", None, "课件画面模糊")

        # fixed and sent again: a new task (a new task key), which the admin approves
        await handle.execute_update(CoursePublicationWorkflow.submit, submission())
        opened = side.all_args("open")
        assert len(opened) == 2
        assert isinstance(opened[0], OpenTask) and isinstance(opened[1], OpenTask)
        assert opened[0].task_key != opened[1].task_key
        assert await handle.execute_update(CoursePublicationWorkflow.decide, decision(True)) == "approved"
        assert (await handle.query(CoursePublicationWorkflow.view)).on_sale_version_id == LINEAGE
        await record(handle, "course_publication_rejected")
        await handle.terminate()


async def test_new_version_is_reviewed_while_the_old_one_stays_on_sale(time_env: WorkflowEnvironment) -> None:
    side = FakeSide()
    async with worker(time_env.client, side):
        handle = await start(time_env.client, on_sale=LINEAGE)
        # the version on sale itself is not sent again
        assert await refusal(handle, "submit", submission(LINEAGE)) == "CourseNotSubmittable"
        view = await handle.execute_update(CoursePublicationWorkflow.submit, submission(LINEAGE + 1))
        assert (view.status, view.on_sale_version_id, view.reviewing_version_id) == (
            "under_review_on_sale",
            LINEAGE,
            LINEAGE + 1,
        )
        # one version at a time
        assert await refusal(handle, "submit", submission(LINEAGE + 2)) == "CourseUnderReview"
        assert "withdraw" not in side.names() and "record_decision" not in side.names()

        assert await handle.execute_update(CoursePublicationWorkflow.decide, decision(True)) == "approved"
        decided = side.arg("record_decision")
        assert isinstance(decided, VersionDecided)
        assert (decided.lineage_id, decided.version_id, decided.approve) == (LINEAGE, LINEAGE + 1, True)
        view = await handle.query(CoursePublicationWorkflow.view)
        assert (view.status, view.on_sale_version_id) == ("published", LINEAGE + 1)
        await record(handle, "course_publication_new_version")
        await handle.terminate()


async def test_withdrawn_from_sale_then_refused_a_second_time(time_env: WorkflowEnvironment) -> None:
    side = FakeSide()
    async with worker(time_env.client, side):
        handle = await start(time_env.client, on_sale=LINEAGE)
        view = await handle.execute_update(
            CoursePublicationWorkflow.withdraw, WithdrawRequest(actor_id=9, at="2026-12-02T09:00:00+00:00")
        )
        assert (view.status, view.on_sale_version_id) == ("off_sale", None)
        withdrawn = side.arg("withdraw")
        assert isinstance(withdrawn, CourseWithdrawn)
        assert (withdrawn.lineage_id, withdrawn.version_id, withdrawn.actor_id) == (LINEAGE, LINEAGE, 9)
        assert await refusal(handle, "withdraw", WithdrawRequest(9, "2026-12-02T09:01:00+00:00")) == "CourseNotOnSale"
        assert side.names().count("withdraw") == 1
        # back on sale only through review
        await handle.execute_update(CoursePublicationWorkflow.submit, submission(LINEAGE))
        assert await handle.execute_update(CoursePublicationWorkflow.decide, decision(True)) == "approved"
        assert (await handle.query(CoursePublicationWorkflow.view)).on_sale_version_id == LINEAGE
        await record(handle, "course_publication_withdrawn")
        await handle.terminate()


async def test_submit_refuses_a_version_that_breaks_the_publishing_rules(time_env: WorkflowEnvironment) -> None:
    side = FakeSide()
    async with worker(time_env.client, side):
        handle = await start(time_env.client)
        assert await refusal(handle, "submit", submission(chapter_seconds=[])) == "CourseHasNoChapters"
        assert await refusal(handle, "submit", submission(hours="2")) == "CourseHoursMismatch"
        assert await refusal(handle, "submit", submission(price_cents=0)) == "CoursePriceInvalid"
        assert side.calls == []  # nothing was marked, no task was opened
        await handle.terminate()


async def test_review_reminds_then_escalates_and_stays_decidable(time_env: WorkflowEnvironment) -> None:
    side = FakeSide()
    async with worker(time_env.client, side):
        handle = await start(time_env.client)
        await handle.execute_update(CoursePublicationWorkflow.submit, submission())
        await time_env.sleep(timedelta(hours=23))
        assert "remind" not in side.names()
        await time_env.sleep(timedelta(hours=2))
        assert ("remind", TASK_ID) in side.calls and "mark_overdue" not in side.names()
        await time_env.sleep(timedelta(hours=24))
        assert ("mark_overdue", TASK_ID) in side.calls
        assert await handle.execute_update(CoursePublicationWorkflow.decide, decision(True)) == "approved"
        await handle.terminate()
