"""审核任务 through HTTP, with a test-only review workflow: queues, 领取 / 释放, 通过 / 驳回 and every
refusal (unclaimed, claimed by another, decided, another queue, a trainee), the list's filters,
paging, overdue flag and the nav badge."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from activities.tasks import TaskActivities
from db.models.catalog import School
from db.models.tasks import ReviewTask, TaskEvent
from db.models.users import Role
from domain.review import Decision, Queue
from tests.support import eventually, htmx, login_trainee, make_staff, make_trainee
from tests.support import staff_client as signed_in_staff
from tests.workflows.review_probe import PROBE_KIND, ProbeInput, ProbeReviewWorkflow

PROBE_QUEUE = "inbox-probe"
_schools = itertools.count(1)


@pytest.fixture(scope="module")
async def probe_worker(temporal_client: Client, sessionmaker) -> AsyncIterator[None]:
    worker = Worker(
        temporal_client,
        task_queue=PROBE_QUEUE,
        workflows=[ProbeReviewWorkflow],
        activities=TaskActivities(sessionmaker).all(),
    )
    async with worker:
        yield


@pytest.fixture
def staff_client(app):
    """A signed-in browser per staff member (each has its own session cookie)."""

    return partial(signed_in_staff, app)


async def new_school(maker: async_sessionmaker[AsyncSession]) -> int:
    """A school of its own gives a test a queue nobody else writes to."""
    n = next(_schools)
    async with maker() as s:
        school = School(code=f"inbox-{uuid.uuid4().hex[:8]}", name=f"测试学校{n}", tax_rate="exempt")
        s.add(school)
        await s.commit()
        return school.id


async def start_probe(
    client: Client, maker: async_sessionmaker[AsyncSession], queue: str, submitter_id: int | None, subject: str = ""
) -> tuple[WorkflowHandle, int]:
    wid = f"probe-{uuid.uuid4().hex[:12]}"
    handle = await client.start_workflow(
        ProbeReviewWorkflow.run,
        ProbeInput(subject=subject or f"测试审核 {wid}", queue=queue, submitter_id=submitter_id),
        id=wid,
        task_queue=PROBE_QUEUE,
    )

    async def opened() -> int | None:
        async with maker() as s:
            return await s.scalar(select(ReviewTask.id).where(ReviewTask.workflow_id == wid))

    return handle, await eventually(opened)


async def add_task(maker: async_sessionmaker[AsyncSession], queue: str, **values: object) -> int:
    """A task row written directly: the list only reads the projection."""
    now = datetime.now(UTC)
    row = {
        "task_key": f"row-{uuid.uuid4().hex}",
        "kind": PROBE_KIND,
        "subject": "直接写入的任务",
        "queue": queue,
        "workflow_id": "none",
        "created_at": now,
        "due_at": now + timedelta(days=2),
    } | values
    async with maker() as s:
        task = ReviewTask(**row)
        s.add(task)
        await s.commit()
        return task.id


pytestmark = pytest.mark.usefixtures("probe_worker")


async def test_claim_then_approve_records_who_did_what(temporal_client, sessionmaker, staff_client) -> None:
    trainee = await make_trainee(sessionmaker, "送审学员")
    finance = await make_staff(sessionmaker, Role.FINANCE)
    handle, task_id = await start_probe(temporal_client, sessionmaker, Queue.FINANCE, trainee.id, "送审：培训费发票")
    async with staff_client(finance) as c:
        listing = await c.get("/staff/tasks")
        assert "送审：培训费发票" in listing.text and trainee.name in listing.text
        page = await c.get(f"/staff/tasks/{task_id}")
        assert "领取" in page.text and "测试审核流程" in page.text  # the default kind template shows the payload
        assert f"/namespaces/default/workflows/{handle.id}" in page.text  # Temporal UI link for operators

        unclaimed = await c.post(f"/staff/tasks/{task_id}/decide", data={"decision": "approve"}, headers=htmx(c))
        assert unclaimed.status_code == 422 and "请先领取该任务" in unclaimed.text

        claimed = await c.post(f"/staff/tasks/{task_id}/claim", headers=htmx(c))
        assert claimed.status_code == 200 and "释放" in claimed.text and finance.name in claimed.text
        assert claimed.headers.get("HX-Trigger") == "taskChanged"  # the nav badge refreshes

        approved = await c.post(
            f"/staff/tasks/{task_id}/decide", data={"decision": "approve", "reason": "材料齐全"}, headers=htmx(c)
        )
        assert approved.status_code == 200, approved.text
        assert "已通过" in approved.text and "材料齐全" in approved.text
        assert await handle.result() == "approved"

        again = await c.post(
            f"/staff/tasks/{task_id}/decide", data={"decision": "reject", "reason": "x"}, headers=htmx(c)
        )
        assert again.status_code == 422 and "该任务已处理" in again.text
        reclaim = await c.post(f"/staff/tasks/{task_id}/claim", headers=htmx(c))
        assert reclaim.status_code == 422 and "该任务已处理" in reclaim.text

        history = (await c.get(f"/staff/tasks/{task_id}")).text
        for step in ("提交审核", "领取", "通过"):
            assert step in history
    async with sessionmaker() as s:
        actions = (
            await s.scalars(select(TaskEvent.action).where(TaskEvent.task_id == task_id).order_by(TaskEvent.seq))
        ).all()
        task = await s.get(ReviewTask, task_id)
    assert list(actions) == ["created", "claimed", "approved"]
    assert task is not None and task.decided_by == finance.id and task.decision == "approved"


async def test_reject_needs_a_reason_and_the_workflow_refuses_a_second_decision(
    temporal_client, sessionmaker, staff_client
) -> None:
    finance = await make_staff(sessionmaker, Role.FINANCE)
    handle, task_id = await start_probe(temporal_client, sessionmaker, Queue.FINANCE, None)
    async with staff_client(finance) as c:
        await c.post(f"/staff/tasks/{task_id}/claim", headers=htmx(c))
        no_reason = await c.post(
            f"/staff/tasks/{task_id}/decide", data={"decision": "reject", "reason": "  "}, headers=htmx(c)
        )
        assert no_reason.status_code == 422 and "驳回时必须填写原因" in no_reason.text
        no_choice = await c.post(f"/staff/tasks/{task_id}/decide", data={"reason": "?"}, headers=htmx(c))
        assert no_choice.status_code == 422 and "请选择审核结果" in no_choice.text
        async with sessionmaker() as s:
            assert (await s.get(ReviewTask, task_id)).status == "open"

        rejected = await c.post(
            f"/staff/tasks/{task_id}/decide", data={"decision": "reject", "reason": "抬头填写错误"}, headers=htmx(c)
        )
        assert rejected.status_code == 200 and "已驳回" in rejected.text and "抬头填写错误" in rejected.text
    assert await handle.result() == "rejected"

    # the inbox refuses a decided task before anything reaches the (finished) workflow
    async with staff_client(finance) as c:
        again = await c.post(f"/staff/tasks/{task_id}/decide", data={"decision": "approve"}, headers=htmx(c))
        assert again.status_code == 422 and "该任务已处理" in again.text


async def test_two_reviewers_never_hold_one_task(temporal_client, sessionmaker, staff_client) -> None:
    a = await make_staff(sessionmaker, Role.FINANCE)
    b = await make_staff(sessionmaker, Role.FINANCE)
    handle, task_id = await start_probe(temporal_client, sessionmaker, Queue.FINANCE, None)
    async with staff_client(a) as ca, staff_client(b) as cb:
        results = await asyncio.gather(
            ca.post(f"/staff/tasks/{task_id}/claim", headers=htmx(ca)),
            cb.post(f"/staff/tasks/{task_id}/claim", headers=htmx(cb)),
        )
        codes = sorted(r.status_code for r in results)
        assert codes == [200, 422], [r.text for r in results]
        loser_client = ca if results[0].status_code == 422 else cb
        winner_client = cb if loser_client is ca else ca
        assert "该任务已被他人领取" in (results[0] if results[0].status_code == 422 else results[1]).text

        steal = await loser_client.post(
            f"/staff/tasks/{task_id}/decide", data={"decision": "approve"}, headers=htmx(loser_client)
        )
        assert steal.status_code == 422 and "该任务已被他人领取" in steal.text
        not_mine = await loser_client.post(f"/staff/tasks/{task_id}/release", headers=htmx(loser_client))
        assert not_mine.status_code == 422 and "该任务已被他人领取" in not_mine.text

        released = await winner_client.post(f"/staff/tasks/{task_id}/release", headers=htmx(winner_client))
        assert released.status_code == 200 and "领取" in released.text
        taken = await loser_client.post(f"/staff/tasks/{task_id}/claim", headers=htmx(loser_client))
        assert taken.status_code == 200
        done = await loser_client.post(
            f"/staff/tasks/{task_id}/decide", data={"decision": "approve"}, headers=htmx(loser_client)
        )
        assert done.status_code == 200 and "已通过" in done.text
    assert await handle.result() == "approved"


async def test_a_reviewer_sees_only_their_own_queues(temporal_client, sessionmaker, staff_client) -> None:
    school_id = await new_school(sessionmaker)
    finance = await make_staff(sessionmaker, Role.FINANCE)
    school_reviewer = await make_staff(sessionmaker, Role.SCHOOL_REVIEWER, school_id=school_id)
    admin = await make_staff(sessionmaker, Role.ADMIN)
    _, finance_task = await start_probe(temporal_client, sessionmaker, Queue.FINANCE, None, "财务队列的任务")
    _, school_task = await start_probe(temporal_client, sessionmaker, Queue.school(school_id), None, "本校学时申报")

    async with staff_client(school_reviewer) as c:
        listing = await c.get("/staff/tasks")
        assert "本校学时申报" in listing.text and "财务队列的任务" not in listing.text
        assert (await c.get("/staff/tasks/count")).text == "1"
        for url in (f"/staff/tasks/{finance_task}",):
            denied = await c.get(url)
            assert denied.status_code == 403 and "无权访问" in denied.text
        for action in ("claim", "release", "decide"):
            denied = await c.post(
                f"/staff/tasks/{finance_task}/{action}", data={"decision": "approve"}, headers=htmx(c)
            )
            assert denied.status_code == 403 and "无权访问" in denied.text, action
    async with staff_client(finance) as c:
        assert "本校学时申报" not in (await c.get("/staff/tasks")).text
        assert (await c.get(f"/staff/tasks/{school_task}", headers=htmx(c))).status_code == 403
    async with staff_client(admin) as c:
        listing = await c.get("/staff/tasks")
        assert "本校学时申报" not in listing.text and "财务队列的任务" not in listing.text
    async with sessionmaker() as s:
        assert (await s.get(ReviewTask, finance_task)).assignee_id is None


async def test_a_trainee_cannot_reach_the_inbox(client, sessionmaker) -> None:
    anonymous = await client.get("/staff/tasks")
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/staff/login"
    trainee = await make_trainee(sessionmaker)
    await login_trainee(client, trainee)
    task_id = await add_task(sessionmaker, Queue.FINANCE)
    for url in ("/staff/tasks", "/staff/tasks/count", f"/staff/tasks/{task_id}"):
        resp = await client.get(url)
        assert resp.status_code == 303 and resp.headers["location"] == "/staff/login", url
    claim = await client.post(f"/staff/tasks/{task_id}/claim", headers=htmx(client))
    assert claim.headers.get("HX-Redirect") == "/staff/login"
    async with sessionmaker() as s:
        assert (await s.get(ReviewTask, task_id)).assignee_id is None


async def test_list_filters_paging_overdue_and_badge(sessionmaker, staff_client) -> None:
    school_id = await new_school(sessionmaker)
    queue = Queue.school(school_id)
    reviewer = await make_staff(sessionmaker, Role.SCHOOL_REVIEWER, school_id=school_id)
    old = datetime.now(UTC) - timedelta(days=10)
    for n in range(16):
        await add_task(sessionmaker, queue, subject=f"学时申报{n:02d}", kind="hours_declaration")
    await add_task(
        sessionmaker,
        queue,
        subject="超期的申报",
        kind="hours_declaration",
        overdue=True,
        created_at=old,
        due_at=old + timedelta(days=2),
        reminded_at=old + timedelta(days=1),
    )
    await add_task(
        sessionmaker, queue, subject="已处理的申报", kind="hours_declaration", status="decided", decision="approved"
    )

    async with staff_client(reviewer) as c:
        assert (await c.get("/staff/tasks/count")).text == "17"  # open ones only
        first = await c.get("/staff/tasks")
        assert first.text.count("data-task-id=") == 15 and "共 17 条" in first.text
        # the oldest due first: the overdue one leads, flagged in red
        assert first.text.index("超期的申报") < first.text.index("学时申报00")
        assert 'class="task-overdue"' in first.text and "已超期" in first.text
        second = await c.get("/staff/tasks?page=2")
        assert second.text.count("data-task-id=") == 2

        only_overdue = await c.get("/staff/tasks?overdue=1", headers={"HX-Request": "true"})
        assert (
            only_overdue.text.count("data-task-id=") == 1 and "<html" not in only_overdue.text
        )  # htmx: the list block
        decided = await c.get("/staff/tasks?status=decided")
        assert "已处理的申报" in decided.text and "学时申报00" not in decided.text
        other_kind = await c.get("/staff/tasks?kind=personal_invoice")
        assert "暂无待处理任务" not in other_kind.text and "没有符合条件的任务" in other_kind.text
        today = datetime.now(UTC).date()
        recent = await c.get(f"/staff/tasks?date_from={(today - timedelta(days=1)).isoformat()}")
        assert "超期的申报" not in recent.text and "学时申报03" in recent.text
        long_ago = await c.get(f"/staff/tasks?date_to={(today - timedelta(days=5)).isoformat()}")
        assert "超期的申报" in long_ago.text and "学时申报03" not in long_ago.text


async def test_empty_queue_says_so(sessionmaker, staff_client) -> None:
    school_id = await new_school(sessionmaker)
    reviewer = await make_staff(sessionmaker, Role.SCHOOL_REVIEWER, school_id=school_id)
    async with staff_client(reviewer) as c:
        assert "暂无待处理任务" in (await c.get("/staff/tasks")).text
        assert (await c.get("/staff/tasks/count")).text == ""  # the badge hides


async def test_undecided_task_is_reminded_then_flagged_overdue_by_the_workflow_timer(
    time_env, sessionmaker, staff_client
) -> None:
    """The real task activities against the database, on the time-skipping server: no cron anywhere."""
    school_id = await new_school(sessionmaker)
    reviewer = await make_staff(sessionmaker, Role.SCHOOL_REVIEWER, school_id=school_id)
    async with Worker(
        time_env.client,
        task_queue="inbox-escalation",
        workflows=[ProbeReviewWorkflow],
        activities=TaskActivities(sessionmaker).all(),
    ):
        handle = await time_env.client.start_workflow(
            ProbeReviewWorkflow.run,
            ProbeInput(subject="久未处理的申报", queue=Queue.school(school_id), submitter_id=None),
            id=f"probe-{uuid.uuid4().hex[:12]}",
            task_queue="inbox-escalation",
        )

        async def task() -> ReviewTask | None:
            async with sessionmaker() as s:
                return await s.scalar(select(ReviewTask).where(ReviewTask.workflow_id == handle.id))

        assert (await eventually(task)).reminded_at is None
        await time_env.sleep(timedelta(hours=25))

        async def reminded() -> ReviewTask | None:
            t = await task()
            return t if t is not None and t.reminded_at is not None else None

        assert not (await eventually(reminded)).overdue
        async with staff_client(reviewer) as c:
            listing = await c.get("/staff/tasks")
            assert "即将到期" in listing.text and 'class="task-overdue"' not in listing.text
        await time_env.sleep(timedelta(hours=24))

        async def overdue() -> ReviewTask | None:
            t = await task()
            return t if t is not None and t.overdue else None

        flagged = await eventually(overdue)
        async with staff_client(reviewer) as c:
            listing = await c.get("/staff/tasks")
            assert 'class="task-overdue"' in listing.text and "已超期" in listing.text
            history = (await c.get(f"/staff/tasks/{flagged.id}")).text
            assert "到期提醒" in history and "已超期" in history
        # still decidable after it is overdue (the app's client talks to the dev server, so the
        # decision goes to this server's workflow directly)
        approved = await handle.execute_update(
            ProbeReviewWorkflow.decide, Decision(task_id=flagged.id, reviewer_id=reviewer.id, approve=True)
        )
        assert approved == "approved" and await handle.result() == "approved"
