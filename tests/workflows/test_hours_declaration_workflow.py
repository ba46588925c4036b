"""HoursDeclarationWorkflow with fake activities (hours.* and tasks.*): approve, reject, partial
approval, the decide validator's refusals, an empty declaration, and the review timers.

Updates run on the local dev server; the reminder/overdue timers on the time-skipping server.
RECORD_HISTORIES=1 re-records the histories that tests/workflows/test_replay.py replays."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.hours import ApplyReview, DeclarationInput, DeclarationSubmitted, SubmitDeclaration
from domain.review import CloseTask, Decision, ItemDecision, OpenTask
from tests.support import eventually
from tests.workflows.fakes import FakeCalls, refusal, task_opened
from tests.workflows.histories import record
from workflows.hours_declaration import HoursDeclarationWorkflow

QUEUE = "hours-declaration-test"
TASK_ID = 501


@dataclass
class FakeSide(FakeCalls):
    """Stands in for the database and the inbox; records every call."""

    locked: list[int] | None = None  # records submit_declaration reports as locked (default: all)

    def activities(self) -> list:
        @activity.defn(name="hours.submit_declaration")
        async def submit_declaration(req: SubmitDeclaration) -> DeclarationSubmitted:
            self.calls.append(("submit_declaration", req))
            ids = req.record_ids if self.locked is None else self.locked
            return DeclarationSubmitted(
                record_ids=ids, total_hours=str(8 * len(ids)), titles={str(i): f"培训{i}" for i in ids}
            )

        @activity.defn(name="hours.apply_review")
        async def apply_review(review: ApplyReview) -> None:
            self.calls.append(("apply_review", review))

        return [submit_declaration, apply_review, *self.task_activities(TASK_ID)]


def worker(client: Client, side: FakeSide) -> Worker:
    return Worker(client, task_queue=QUEUE, workflows=[HoursDeclarationWorkflow], activities=side.activities())


def declaration(no: str, record_ids: list[int]) -> DeclarationInput:
    return DeclarationInput(
        declaration_no=no,
        trainee_id=7,
        trainee_name="张伟",
        school_id=3,
        year=2026,
        record_ids=record_ids,
        remind_after_seconds=24 * 3600,
        due_after_seconds=48 * 3600,
    )


async def start(client: Client, record_ids: list[int]) -> WorkflowHandle:
    no = f"SB-{uuid.uuid4().hex[:10]}"
    handle = await client.start_workflow(
        HoursDeclarationWorkflow.run, declaration(no, record_ids), id=f"hours-{no}", task_queue=QUEUE
    )
    view = await handle.execute_update(HoursDeclarationWorkflow.submitted)
    assert view.state == "reviewing"
    return handle


def decision(**items: ItemDecision) -> Decision:
    return Decision(task_id=TASK_ID, reviewer_id=42, approve=True, items={k.lstrip("r"): v for k, v in items.items()})


async def test_every_record_approved(temporal_client: Client) -> None:
    side = FakeSide()
    async with worker(temporal_client, side):
        handle = await start(temporal_client, [11, 12])
        await eventually(lambda: task_opened(handle))
        task = side.arg("open")
        assert isinstance(task, OpenTask)
        assert task.queue == "school:3" and task.kind == "hours_declaration"
        assert task.subject == "学时申报：张伟 2026年度（2条，共16学时）"
        assert task.payload["declaration_no"] == handle.id.removeprefix("hours-")

        result = await handle.execute_update(
            HoursDeclarationWorkflow.decide, decision(r11=ItemDecision(True), r12=ItemDecision(True))
        )
        assert result == "approved"
        applied = side.arg("apply_review")
        assert isinstance(applied, ApplyReview)
        assert {k: v.approve for k, v in applied.items.items()} == {"11": True, "12": True}
        closed = side.arg("close")
        assert isinstance(closed, CloseTask)
        assert (closed.task_id, closed.outcome, closed.actor_id) == (TASK_ID, "approved", 42)
        assert side.names().index("apply_review") < side.names().index("close")
        assert await handle.result() == "approved"
        await record(handle, "hours_declaration_approved")


async def test_every_record_rejected_goes_back_with_the_reason(temporal_client: Client) -> None:
    side = FakeSide()
    async with worker(temporal_client, side):
        handle = await start(temporal_client, [21])
        await eventually(lambda: task_opened(handle))
        # no per-item decision: the overall rejection (with its reason) applies to every record
        result = await handle.execute_update(
            HoursDeclarationWorkflow.decide,
            Decision(task_id=TASK_ID, reviewer_id=42, approve=False, reason="证明材料不清晰"),
        )
        assert result == "rejected"
        applied = side.arg("apply_review")
        assert isinstance(applied, ApplyReview)
        assert applied.items == {"21": ItemDecision(False, "证明材料不清晰")}
        closed = side.arg("close")
        assert isinstance(closed, CloseTask)
        assert closed.outcome == "rejected" and "证明材料不清晰" in closed.reason
        assert await handle.result() == "rejected"
        await record(handle, "hours_declaration_rejected")


async def test_partial_approval(temporal_client: Client) -> None:
    side = FakeSide()
    async with worker(temporal_client, side):
        handle = await start(temporal_client, [31, 32, 33])
        await eventually(lambda: task_opened(handle))
        result = await handle.execute_update(
            HoursDeclarationWorkflow.decide,
            decision(r31=ItemDecision(True), r32=ItemDecision(False, "日期与证明不符"), r33=ItemDecision(True)),
        )
        assert result == "partial"
        applied = side.arg("apply_review")
        assert isinstance(applied, ApplyReview)
        assert [k for k, v in applied.items.items() if not v.approve] == ["32"]
        closed = side.arg("close")
        assert isinstance(closed, CloseTask)
        assert closed.outcome == "approved"
        assert closed.reason == "通过2条，驳回1条；「培训32」驳回：日期与证明不符"
        assert await handle.result() == "partial"
        await record(handle, "hours_declaration_partial")


async def test_decide_refusals_write_nothing(temporal_client: Client) -> None:
    side = FakeSide()
    async with worker(temporal_client, side):
        handle = await start(temporal_client, [41, 42])
        await eventually(lambda: task_opened(handle))
        wrong_task = Decision(task_id=TASK_ID + 1, reviewer_id=42, approve=True)
        assert await refusal(handle, "decide", wrong_task) == "TaskAlreadyDecided"
        no_reason = decision(r41=ItemDecision(True), r42=ItemDecision(False, "  "))
        assert await refusal(handle, "decide", no_reason) == "RejectReasonRequired"
        missing = decision(r41=ItemDecision(True))
        assert await refusal(handle, "decide", missing) == "ItemDecisionRequired"
        conflict = Decision(task_id=TASK_ID, reviewer_id=42, approve=False, reason="不符",
                            items={"41": ItemDecision(True), "42": ItemDecision(True)})
        assert await refusal(handle, "decide", conflict) == "ItemDecisionConflict"
        assert "apply_review" not in side.names() and "close" not in side.names()

        ok = decision(r41=ItemDecision(True), r42=ItemDecision(True), r99=ItemDecision(False, "不相干"))
        assert await handle.execute_update(HoursDeclarationWorkflow.decide, ok) == "approved"
        # a second decision finds the process finished (the inbox refuses it earlier: task closed)
        with pytest.raises(RPCError):
            await handle.execute_update(HoursDeclarationWorkflow.decide, ok)
        assert side.names().count("apply_review") == 1 and side.names().count("close") == 1
        applied = side.arg("apply_review")
        assert isinstance(applied, ApplyReview)
        assert set(applied.items) == {"41", "42"}  # a record outside the declaration is ignored
        assert await handle.result() == "approved"


async def test_declaration_emptied_meanwhile_opens_no_task(temporal_client: Client) -> None:
    side = FakeSide(locked=[])
    async with worker(temporal_client, side):
        no = f"SB-{uuid.uuid4().hex[:10]}"
        handle = await temporal_client.start_workflow(
            HoursDeclarationWorkflow.run, declaration(no, [51]), id=f"hours-{no}", task_queue=QUEUE
        )
        view = await handle.execute_update(HoursDeclarationWorkflow.submitted)
        assert view.state == "empty" and view.record_ids == []
        assert await handle.result() == "empty"
        assert "open" not in side.names()


async def test_reminder_then_overdue_and_still_decidable(time_env: WorkflowEnvironment) -> None:
    side = FakeSide()
    client = time_env.client
    async with worker(client, side):
        no = f"SB-{uuid.uuid4().hex[:10]}"
        handle = await client.start_workflow(
            HoursDeclarationWorkflow.run, declaration(no, [61]), id=f"hours-{no}", task_queue=QUEUE
        )
        await time_env.sleep(timedelta(hours=23))
        assert "open" in side.names() and "remind" not in side.names()
        await time_env.sleep(timedelta(hours=2))
        assert ("remind", TASK_ID) in side.calls and "mark_overdue" not in side.names()
        await time_env.sleep(timedelta(hours=24))
        assert ("mark_overdue", TASK_ID) in side.calls
        assert await handle.execute_update(
            HoursDeclarationWorkflow.decide, decision(r61=ItemDecision(True))
        ) == "approved"
        assert await handle.result() == "approved"
