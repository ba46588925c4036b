"""The inbox for volume through HTTP, as the browser's htmx calls it: 批量领取 under concurrent claims,
批量通过 (one Update and one audit entry per task), the refusals of a bulk action, 常用筛选 per
reviewer, 评论, 改派 by the queue's lead, and the list sorted by due date."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from temporalio.client import WorkflowHandle

from db.models.tasks import ReviewTask, SavedTaskFilter, TaskEvent
from db.models.users import Role
from domain.review import Queue
from tests.api.test_inbox import add_task, new_school, probe_worker, start_probe  # noqa: F401 (fixture)
from tests.support import htmx, make_staff
from tests.support import staff_client as signed_in_staff

pytestmark = pytest.mark.usefixtures("probe_worker")
TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates" / "inbox"


@pytest.fixture
def staff_client(app):
    return partial(signed_in_staff, app)


async def events_of(maker, task_id: int) -> list[tuple[str, int | None, str]]:
    async with maker() as s:
        rows = await s.execute(
            select(TaskEvent.action, TaskEvent.actor_id, TaskEvent.comment)
            .where(TaskEvent.task_id == task_id)
            .order_by(TaskEvent.seq)
        )
        return [tuple(r) for r in rows]


async def school_probes(temporal_client, maker, n: int) -> tuple[str, int, list[tuple[WorkflowHandle, int]]]:
    school_id = await new_school(maker)
    queue = Queue.school(school_id)
    probes = [await start_probe(temporal_client, maker, queue, None, f"批量任务{i}") for i in range(n)]
    return queue, school_id, probes


def bulk_form(task_ids: list[int], **extra: str) -> dict[str, list[str] | str]:
    """The checked boxes of the list (`task_ids`, one per row) and the bulk bar's fields."""
    return {"task_ids": [str(t) for t in task_ids], **extra}


# ---- 批量领取 ---------------------------------------------------------------------------------------


async def test_concurrent_bulk_claims_give_each_task_to_exactly_one_reviewer(
    temporal_client, sessionmaker, staff_client
) -> None:
    _, school_id, probes = await school_probes(temporal_client, sessionmaker, 6)
    ids = [task_id for _, task_id in probes]
    a = await make_staff(sessionmaker, Role.SCHOOL_REVIEWER, school_id)
    b = await make_staff(sessionmaker, Role.SCHOOL_REVIEWER, school_id)
    async with staff_client(a) as ca, staff_client(b) as cb:
        # both reviewers select the whole page and press 批量领取 at the same moment
        ra, rb = await asyncio.gather(
            ca.post("/staff/tasks/bulk-claim", data=bulk_form(ids), headers=htmx(ca)),
            cb.post("/staff/tasks/bulk-claim", data=bulk_form(list(reversed(ids))), headers=htmx(cb)),
        )
    assert ra.status_code == rb.status_code == 200, (ra.text, rb.text)
    assert ra.headers["HX-Trigger"] == "taskChanged"  # the list and the badge redraw
    claimed_a = int(re.search(r"已领取 (\d+) 个任务", ra.text).group(1))  # type: ignore[union-attr]
    claimed_b = int(re.search(r"已领取 (\d+) 个任务", rb.text).group(1))  # type: ignore[union-attr]
    assert claimed_a + claimed_b == 6
    async with sessionmaker() as s:
        rows = await s.execute(select(ReviewTask.id, ReviewTask.assignee_id).where(ReviewTask.id.in_(ids)))
        owners = dict(rows.all())
        claims = await s.scalar(
            select(func.count()).select_from(TaskEvent).where(TaskEvent.task_id.in_(ids), TaskEvent.action == "claimed")
        )
    assert set(owners.values()) <= {a.id, b.id} and None not in owners.values()
    assert sum(1 for o in owners.values() if o == a.id) == claimed_a
    assert claims == 6  # one 领取 entry per task in the audit trail, never two
    if claimed_a < 6:  # the other reviewer's page says which ones it did not get
        assert "该任务已被他人领取" in ra.text


async def test_bulk_claim_skips_a_decided_task_and_keeps_my_own_claims(
    temporal_client, sessionmaker, staff_client
) -> None:
    queue, school_id, probes = await school_probes(temporal_client, sessionmaker, 2)
    decided = await add_task(sessionmaker, queue, subject="已处理的任务", status="decided", decision="approved")
    me = await make_staff(sessionmaker, Role.SCHOOL_REVIEWER, school_id)
    ids = [t for _, t in probes]
    async with staff_client(me) as c:
        first = await c.post(f"/staff/tasks/{ids[0]}/claim", headers=htmx(c))
        assert first.status_code == 200
        bulk = await c.post("/staff/tasks/bulk-claim", data=bulk_form([*ids, decided]), headers=htmx(c))
    assert bulk.status_code == 200
    assert "已领取 2 个任务，1 个未处理" in bulk.text and "已处理的任务" in bulk.text and "该任务已处理" in bulk.text


# ---- 批量通过 ---------------------------------------------------------------------------------------


async def test_bulk_approve_sends_one_decision_per_task_and_reports_the_rest(
    temporal_client, sessionmaker, staff_client
) -> None:
    _, school_id, probes = await school_probes(temporal_client, sessionmaker, 4)
    me = await make_staff(sessionmaker, Role.SCHOOL_REVIEWER, school_id)
    other = await make_staff(sessionmaker, Role.SCHOOL_REVIEWER, school_id)
    ids = [t for _, t in probes]
    async with staff_client(me) as c, staff_client(other) as co:
        await c.post("/staff/tasks/bulk-claim", data=bulk_form(ids[:3]), headers=htmx(c))
        await co.post(f"/staff/tasks/{ids[3]}/claim", headers=htmx(co))
        approved = await c.post(
            "/staff/tasks/bulk-approve", data=bulk_form(ids, reason="材料齐全"), headers=htmx(c)
        )
        assert approved.status_code == 200, approved.text
        assert "已通过 3 个任务，1 个未处理" in approved.text and "该任务已被他人领取" in approved.text
        assert approved.headers["HX-Trigger"] == "taskChanged"
        # approved again (a double click): every task is refused by its workflow or the inbox, none twice
        again = await c.post("/staff/tasks/bulk-approve", data=bulk_form(ids[:3]), headers=htmx(c))
        assert "已通过 0 个任务，3 个未处理" in again.text and "该任务已处理" in again.text
    for handle, _ in probes[:3]:
        assert await handle.result() == "approved"
    for task_id in ids[:3]:
        trail = await events_of(sessionmaker, task_id)
        assert [e[0] for e in trail] == ["created", "claimed", "approved"]
        assert trail[-1][1] == me.id and trail[-1][2] == "材料齐全"
    async with sessionmaker() as s:
        untouched = await s.get(ReviewTask, ids[3])
    assert untouched is not None and untouched.status == "open" and untouched.assignee_id == other.id


async def test_two_reviewers_bulk_approving_the_same_selection_decide_each_task_once(
    temporal_client, sessionmaker, staff_client
) -> None:
    """Both press 批量通过 at the same moment: each task is decided once, by the one who holds it."""
    _, school_id, probes = await school_probes(temporal_client, sessionmaker, 5)
    a = await make_staff(sessionmaker, Role.SCHOOL_REVIEWER, school_id)
    b = await make_staff(sessionmaker, Role.SCHOOL_REVIEWER, school_id)
    ids = [t for _, t in probes]
    async with staff_client(a) as ca, staff_client(b) as cb:
        await ca.post("/staff/tasks/bulk-claim", data=bulk_form(ids), headers=htmx(ca))
        # b approves whatever it can of the same selection at the same time: it holds none of them
        ra, rb = await asyncio.gather(
            ca.post("/staff/tasks/bulk-approve", data=bulk_form(ids), headers=htmx(ca)),
            cb.post("/staff/tasks/bulk-approve", data=bulk_form(ids), headers=htmx(cb)),
        )
    assert "已通过 5 个任务" in ra.text
    assert "已通过 0 个任务，5 个未处理" in rb.text
    for task_id in ids:
        actions = [e[0] for e in await events_of(sessionmaker, task_id)]
        assert actions.count("approved") == 1


async def test_bulk_actions_refuse_mixed_kinds_empty_selections_and_other_queues(
    sessionmaker, staff_client
) -> None:
    school_id = await new_school(sessionmaker)
    queue = Queue.school(school_id)
    probe = await add_task(sessionmaker, queue, subject="测试任务")
    hours = await add_task(sessionmaker, queue, subject="学时任务", kind="hours_declaration")
    foreign = await add_task(sessionmaker, Queue.school(await new_school(sessionmaker)), subject="别校任务")
    me = await make_staff(sessionmaker, Role.SCHOOL_REVIEWER, school_id)
    async with staff_client(me) as c:
        mixed = await c.post("/staff/tasks/bulk-claim", data=bulk_form([probe, hours]), headers=htmx(c))
        assert mixed.status_code == 422 and "批量处理只能选择同一类型的任务" in mixed.text
        assert mixed.headers["HX-Retarget"] == "#flash"
        empty = await c.post("/staff/tasks/bulk-approve", data={"reason": ""}, headers=htmx(c))
        assert empty.status_code == 422 and "请先勾选要处理的任务" in empty.text
        other = await c.post("/staff/tasks/bulk-claim", data=bulk_form([probe, foreign]), headers=htmx(c))
        assert other.status_code == 403
        too_many = await c.post("/staff/tasks/bulk-claim", data=bulk_form(list(range(1, 52))), headers=htmx(c))
        assert too_many.status_code == 422 and "一次最多处理 50 个任务" in too_many.text
        huge = await c.post("/staff/tasks/bulk-claim", data=bulk_form([2**31]), headers=htmx(c))
        assert huge.status_code == 422 and "超出允许范围" in huge.text
    async with sessionmaker() as s:
        task = await s.get(ReviewTask, probe)
    assert task is not None and task.assignee_id is None  # a refused bulk claim claimed nothing


async def test_the_list_offers_bulk_actions_once_filtered_to_one_kind(sessionmaker, staff_client) -> None:
    school_id = await new_school(sessionmaker)
    task = await add_task(sessionmaker, Queue.school(school_id), subject="可批量的任务")
    me = await make_staff(sessionmaker, Role.SCHOOL_REVIEWER, school_id)
    async with staff_client(me) as c:
        unfiltered = await c.get("/staff/tasks", headers=htmx(c))
        assert "按类型筛选后可批量领取" in unfiltered.text and "bulk-form" not in unfiltered.text
        one_kind = await c.get("/staff/tasks", params={"kind": "probe"}, headers=htmx(c))
        assert "<html" not in one_kind.text  # the list fragment only
        assert 'id="bulk-form"' in one_kind.text and "批量通过" in one_kind.text
        assert f'name="task_ids" value="{task}" form="bulk-form"' in one_kind.text


# ---- the list's order -----------------------------------------------------------------------------


async def test_due_dates_sort_ascending_by_default_for_every_status(sessionmaker, staff_client) -> None:
    school_id = await new_school(sessionmaker)
    queue = Queue.school(school_id)
    now = datetime.now(UTC)
    for label, days in (("第三", 3), ("第一", 1), ("第二", 2)):
        await add_task(sessionmaker, queue, subject=f"到期{label}", due_at=now + timedelta(days=days))
    await add_task(
        sessionmaker, queue, subject="到期第零", due_at=now, status="decided", decision="approved"
    )
    me = await make_staff(sessionmaker, Role.SCHOOL_REVIEWER, school_id)

    def order(text: str) -> list[str]:
        return re.findall(r"到期第.", text)

    async with staff_client(me) as c:
        assert order((await c.get("/staff/tasks", headers=htmx(c))).text) == ["到期第一", "到期第二", "到期第三"]
        every = (await c.get("/staff/tasks", params={"status": "all"}, headers=htmx(c))).text
        assert order(every) == ["到期第零", "到期第一", "到期第二", "到期第三"]
        latest = (await c.get("/staff/tasks", params={"status": "all", "sort": "due_desc"}, headers=htmx(c))).text
        assert order(latest) == ["到期第三", "到期第二", "到期第一", "到期第零"]
        page = (await c.get("/staff/tasks")).text
        assert "截止时间（最早在前）" in page


# ---- 常用筛选 -----------------------------------------------------------------------------------------


async def test_saved_filters_belong_to_their_reviewer(sessionmaker, staff_client) -> None:
    me = await make_staff(sessionmaker, Role.FINANCE)
    colleague = await make_staff(sessionmaker, Role.FINANCE)
    filters = {"kind": "personal_invoice", "status": "open", "overdue": "1", "date_from": "", "date_to": ""}
    async with staff_client(me) as c, staff_client(colleague) as co:
        saved = await c.post("/staff/tasks/filters", data={**filters, "filter_name": "超期个人发票"}, headers=htmx(c))
        assert saved.status_code == 200 and "<html" not in saved.text
        assert "已保存常用筛选「超期个人发票」" in saved.text
        assert 'href="/staff/tasks?kind=personal_invoice&amp;status=open&amp;overdue=1"' in saved.text
        page = await c.get("/staff/tasks")
        assert "超期个人发票" in page.text
        assert "超期个人发票" not in (await co.get("/staff/tasks")).text  # not the colleague's

        again = await c.post("/staff/tasks/filters", data={**filters, "filter_name": "超期个人发票"}, headers=htmx(c))
        assert again.status_code == 422 and "已有同名的常用筛选" in again.text
        nameless = await c.post("/staff/tasks/filters", data={**filters, "filter_name": "  "}, headers=htmx(c))
        assert nameless.status_code == 422 and "请填写筛选条件的名称" in nameless.text
        long = await c.post("/staff/tasks/filters", data={**filters, "filter_name": "长" * 31}, headers=htmx(c))
        assert long.status_code == 422 and "筛选名称不能超过30个字符" in long.text
        odd = {**filters, "kind": "类" * 200, "filter_name": "过长的条件"}
        too_long = await c.post("/staff/tasks/filters", data=odd, headers=htmx(c))
        assert too_long.status_code == 422 and "筛选条件不能超过300个字符" in too_long.text

        async with sessionmaker() as s:
            filter_id = await s.scalar(select(SavedTaskFilter.id).where(SavedTaskFilter.user_id == me.id))
        stolen = await co.post(f"/staff/tasks/filters/{filter_id}/delete", headers=htmx(co))
        assert stolen.status_code == 404
        deleted = await c.post(f"/staff/tasks/filters/{filter_id}/delete", headers=htmx(c))
        assert deleted.status_code == 200 and "已删除" in deleted.text and "超期个人发票" not in deleted.text
    async with sessionmaker() as s:
        left = await s.scalar(select(func.count()).select_from(SavedTaskFilter).where(SavedTaskFilter.user_id == me.id))
    assert left == 0


# ---- 评论 ---------------------------------------------------------------------------------------------


async def test_comments_go_into_the_audit_trail(sessionmaker, staff_client) -> None:
    school_id = await new_school(sessionmaker)
    task = await add_task(sessionmaker, Queue.school(school_id), subject="待评论的任务")
    me = await make_staff(sessionmaker, Role.SCHOOL_REVIEWER, school_id)
    outsider = await make_staff(sessionmaker, Role.SCHOOL_REVIEWER, await new_school(sessionmaker))
    async with staff_client(me) as c, staff_client(outsider) as co:
        said = await c.post(f"/staff/tasks/{task}/comments", data={"comment": "已电话核实"}, headers=htmx(c))
        assert said.status_code == 200 and 'id="task-detail"' in said.text and "<html" not in said.text
        assert "评论已发表" in said.text and f"{me.name}</b> 评论：已电话核实" in said.text
        blank = await c.post(f"/staff/tasks/{task}/comments", data={"comment": " "}, headers=htmx(c))
        assert blank.status_code == 422 and "请填写评论内容" in blank.text
        long = await c.post(f"/staff/tasks/{task}/comments", data={"comment": "长" * 501}, headers=htmx(c))
        assert long.status_code == 422 and "评论不能超过500个字符" in long.text
        foreign = await co.post(f"/staff/tasks/{task}/comments", data={"comment": "越权"}, headers=htmx(co))
        assert foreign.status_code == 403
    assert await events_of(sessionmaker, task) == [("commented", me.id, "已电话核实")]


# ---- 改派 ---------------------------------------------------------------------------------------------


async def reassign_to(c: httpx.AsyncClient, task_id: int, user_id: int) -> httpx.Response:
    return await c.post(f"/staff/tasks/{task_id}/reassign", data={"assignee_id": str(user_id)}, headers=htmx(c))


async def test_the_finance_lead_reassigns_a_claimed_task(temporal_client, sessionmaker, staff_client) -> None:
    handle, task_id = await start_probe(temporal_client, sessionmaker, Queue.FINANCE, None, "待改派的发票")
    holder = await make_staff(sessionmaker, Role.FINANCE)
    taker = await make_staff(sessionmaker, Role.FINANCE)
    lead = await make_staff(sessionmaker, Role.FINANCE_LEAD)
    school_reviewer = await make_staff(sessionmaker, Role.SCHOOL_REVIEWER, await new_school(sessionmaker))
    async with staff_client(holder) as ch, staff_client(taker) as ct, staff_client(lead) as cl:
        unclaimed = await reassign_to(cl, task_id, taker.id)
        assert unclaimed.status_code == 422 and "请先领取该任务" in unclaimed.text
        await ch.post(f"/staff/tasks/{task_id}/claim", headers=htmx(ch))

        page = await cl.get(f"/staff/tasks/{task_id}")
        assert "改派给" in page.text and taker.name in page.text  # the lead sees the form, with the queue's reviewers
        assert "改派给" not in (await ct.get(f"/staff/tasks/{task_id}")).text  # a reviewer does not
        not_lead = await reassign_to(ct, task_id, taker.id)
        assert not_lead.status_code == 422 and "只有组长可以改派任务" in not_lead.text
        huge = await reassign_to(cl, task_id, 2**31)
        assert huge.status_code == 422 and "审核员超出允许范围" in huge.text
        wrong = await reassign_to(cl, task_id, school_reviewer.id)
        assert wrong.status_code == 422 and "请选择本队列的另一位审核员" in wrong.text

        moved = await reassign_to(cl, task_id, taker.id)
        assert moved.status_code == 200 and f"已改派给 {taker.name}" in moved.text
        assert f"由 {holder.name} 改派给 {taker.name}" in moved.text  # in the history, by the lead

        refused = await ch.post(f"/staff/tasks/{task_id}/decide", data={"decision": "approve"}, headers=htmx(ch))
        assert refused.status_code == 422 and "该任务已被他人领取" in refused.text
        decided = await ct.post(f"/staff/tasks/{task_id}/decide", data={"decision": "approve"}, headers=htmx(ct))
        assert decided.status_code == 200
        late = await reassign_to(cl, task_id, holder.id)
        assert late.status_code == 422 and "该任务已处理" in late.text
    assert await handle.result() == "approved"
    trail = await events_of(sessionmaker, task_id)
    assert [e[0] for e in trail] == ["created", "claimed", "reassigned", "approved"]
    assert trail[2][1] == lead.id and trail[3][1] == taker.id


async def test_the_lead_works_the_finance_queue_like_a_reviewer(temporal_client, sessionmaker, staff_client) -> None:
    handle, task_id = await start_probe(temporal_client, sessionmaker, Queue.FINANCE, None, "组长自己审核")
    lead = await make_staff(sessionmaker, Role.FINANCE_LEAD)
    async with staff_client(lead) as c:
        assert "组长自己审核" in (await c.get("/staff/tasks")).text
        await c.post(f"/staff/tasks/{task_id}/claim", headers=htmx(c))
        done = await c.post(f"/staff/tasks/{task_id}/decide", data={"decision": "approve"}, headers=htmx(c))
        assert done.status_code == 200
    assert await handle.result() == "approved"


# ---- every htmx call of the new inbox parts is tested above ------------------------------------------

COVERED = {
    "/staff/tasks/bulk-claim": "test_concurrent_bulk_claims_give_each_task_to_exactly_one_reviewer",
    "/staff/tasks/bulk-approve": "test_bulk_approve_sends_one_decision_per_task_and_reports_the_rest",
    "/staff/tasks/filters": "test_saved_filters_belong_to_their_reviewer",
    "/staff/tasks/filters/*/delete": "test_saved_filters_belong_to_their_reviewer",
    "/staff/tasks/*/comments": "test_comments_go_into_the_audit_trail",
    "/staff/tasks/*/reassign": "test_the_finance_lead_reassigns_a_claimed_task",
    # the first inbox's own calls: tests/api/test_inbox.py
    "/staff/tasks": "test_inbox.py",
    "/staff/tasks/count": "test_inbox.py",
    "/staff/tasks/*/claim": "test_inbox.py",
    "/staff/tasks/*/release": "test_inbox.py",
    "/staff/tasks/*/decide": "test_inbox.py",
}


def test_every_hx_call_of_the_inbox_templates_is_covered() -> None:
    found = set()
    for path in TEMPLATES.rglob("*.html"):
        for url in re.findall(r'hx-(?:get|post)="([^"]+)"', path.read_text(encoding="utf-8")):
            found.add(re.sub(r"\{\{[^}]*\}\}", "*", url))
    assert found - COVERED.keys() == set()
    assert {"/staff/tasks/bulk-claim", "/staff/tasks/*/reassign", "/staff/tasks/filters"} <= found
