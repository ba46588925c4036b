"""UnitQualificationWorkflow with fake activities (unit_qualification.*, tasks.*): approve, reject, the
decide validator's refusals and the review reminder/escalation timers.

Updates run on the local dev server; timers on the time-skipping server.
RECORD_HISTORIES=1 re-records the histories that tests/workflows/test_replay.py replays."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateStage
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.review import CloseTask, Decision, OpenTask
from domain.unit_qualification import QualificationDecided, QualificationInput
from tests.support import eventually
from tests.workflows.fakes import FakeCalls, refusal, task_opened
from tests.workflows.histories import record
from workflows.unit_qualification import UnitQualificationWorkflow

QUEUE = "unit-qualification-test"
TASK_ID = 701
QUALIFICATION_ID = 31
CODE = "12430000444880045L"


@dataclass
class FakeSide(FakeCalls):
    """Stands in for the database and the inbox; records every call."""

    # holds the projection write, so that a second decision arrives while the first is in progress
    hold: asyncio.Event | None = None

    def activities(self) -> list:
        @activity.defn(name="unit_qualification.record")
        async def record_qualification(application: QualificationInput) -> int:
            self.calls.append(("record_qualification", application))
            return QUALIFICATION_ID

        @activity.defn(name="unit_qualification.decide")
        async def decide_qualification(decided: QualificationDecided) -> None:
            if self.hold is not None:
                await self.hold.wait()
            self.calls.append(("decide_qualification", decided))

        return [record_qualification, decide_qualification, *self.task_activities(TASK_ID)]


def worker(client: Client, side: FakeSide) -> Worker:
    return Worker(client, task_queue=QUEUE, workflows=[UnitQualificationWorkflow], activities=side.activities())


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


async def start_qualification(client: Client) -> WorkflowHandle:
    # a fresh unit attempt per test: the dev server keeps every workflow id of the session
    wid = f"unit-qualification-{CODE}-{uuid.uuid4().hex[:8]}"
    handle = await client.start_workflow(UnitQualificationWorkflow.run, qualification(), id=wid, task_queue=QUEUE)
    view = await handle.execute_update(UnitQualificationWorkflow.submitted)
    assert (view.qualification_id, view.state) == (QUALIFICATION_ID, "under_review")
    return handle


def decision(approve: bool, reason: str = "", task_id: int = TASK_ID) -> Decision:
    return Decision(task_id=task_id, reviewer_id=42, approve=approve, reason=reason)


def accepted() -> WorkflowUpdateStage:
    return WorkflowUpdateStage.ACCEPTED


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

        first = await handle.start_update(UnitQualificationWorkflow.decide, decision(True), wait_for_stage=accepted())
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
            UnitQualificationWorkflow.decide, decision(True), wait_for_stage=accepted()
        )
        assert await handle.result() == "approved"
        assert await update.result() == "approved"
        assert side.names().count("remind") == 1 and side.names().count("mark_overdue") == 1
