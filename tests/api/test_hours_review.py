"""The school's review of a 学时申报 through the reviewer inbox: per-record 通过/驳回 with reasons,
the refusals, another school's reviewer, the evidence links."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select

from db.models.tasks import ReviewTask
from db.models.users import Role
from tests.api.test_hours import (
    declare,
    entry,
    new_draft,
    open_task,
    pending_no,
    records_of,
    save,
    submit_hours,
)
from tests.support import enter_school, htmx, login_trainee, make_staff, make_trainee, staff_client
from tests.support.hours import PDF_BYTES, png_bytes


@pytest.fixture
async def declared(client: httpx.AsyncClient, sessionmaker):
    """A trainee's declaration of two records (one with an image, one with a PDF) sent to school 1."""
    trainee = await make_trainee(sessionmaker, "申报学员")
    await login_trainee(client, trainee)
    await enter_school(client)
    client.user = trainee  # type: ignore[attr-defined]
    a = await save(
        client,
        entry(training_name="教师信息化教学能力提升培训", hours="8"),
        ("结业证书.png", png_bytes("blue"), "image/png"),
    )
    b = await save(
        client,
        entry(training_name="师德师风专题讲座", subject_category="public", hours="3"),
        ("签到表.pdf", PDF_BYTES, "application/pdf"),
    )
    assert a.status_code == b.status_code == 204
    ids = [r.id for r in await records_of(sessionmaker, trainee.id)]
    assert (await submit_hours(client, ids)).status_code == 204
    no = await pending_no(sessionmaker, trainee.id)
    assert (await declare(client, no, school_id=1)).status_code == 204
    task = await open_task(sessionmaker, no)
    return {"trainee": trainee, "ids": ids, "no": no, "task": task}


async def test_reviewer_decides_record_by_record(declared, app, sessionmaker, client) -> None:
    task, (first, second) = declared["task"], declared["ids"]
    reviewer = await make_staff(sessionmaker, Role.SCHOOL_REVIEWER, school_id=1)
    async with staff_client(app, reviewer) as staff:
        listing = await staff.get("/staff/tasks")
        assert task.subject in listing.text
        page = await staff.get(f"/staff/tasks/{task.id}")
        assert "教师信息化教学能力提升培训" in page.text and "师德师风专题讲座" in page.text
        assert "2 条，共 11 学时" in page.text and declared["no"] in page.text
        assert f'name="item-{first}"' not in page.text  # not claimed yet: nothing to decide with
        # the evidence links open for this school's reviewer
        assert f"/staff/hours/records/{first}/evidence" in page.text
        image = await staff.get(f"/staff/hours/records/{first}/evidence")
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        pdf = await staff.get(f"/staff/hours/records/{second}/evidence")
        assert pdf.content == PDF_BYTES

        claimed = await staff.post(f"/staff/tasks/{task.id}/claim", headers=htmx(staff))
        assert f'name="item-{first}"' in claimed.text and f'name="reason-{second}"' in claimed.text
        # the example reason is an hours one, not the invoices' 纳税人识别号
        assert "例如：证明材料不清晰" in claimed.text and "纳税人识别号" not in claimed.text

        url = f"/staff/tasks/{task.id}/decide"
        no_reason = await staff.post(
            url, data={f"item-{first}": "approve", f"item-{second}": "reject"}, headers=htmx(staff)
        )
        assert no_reason.status_code == 422 and "驳回时必须填写原因" in no_reason.text
        one_missing = await staff.post(
            url, data={f"item-{first}": "approve", "decision": "approve"}, headers=htmx(staff)
        )
        assert one_missing.status_code == 422 and "请对每条学时记录选择通过或驳回" in one_missing.text
        conflict = await staff.post(
            url,
            data={f"item-{first}": "approve", f"item-{second}": "approve", "decision": "reject", "reason": "不符"},
            headers=htmx(staff),
        )
        assert conflict.status_code == 422 and "与驳回不一致" in conflict.text
        assert {r.state for r in await records_of(sessionmaker, declared["trainee"].id)} == {"reviewing"}

        done = await staff.post(
            url,
            data={
                f"item-{first}": "approve",
                f"item-{second}": "reject",
                f"reason-{second}": "签到表无主办单位盖章",
                "decision": "approve",
            },
            headers=htmx(staff),
        )
        assert done.status_code == 200, done.text
        assert "部分通过" in done.text and "签到表无主办单位盖章" in done.text
        assert "通过1条，驳回1条" in done.text  # the audit trail
        # the header shows the declaration's outcome, not 已通过
        head = re.search(r'<div id="task-status">(.*?)</div>', (await staff.get(f"/staff/tasks/{task.id}")).text, re.S)
        assert head and "部分通过" in head.group(1) and "已通过" not in head.group(1)

    records = {r.id: r for r in await records_of(sessionmaker, declared["trainee"].id)}
    assert records[first].state == "approved"
    assert (records[second].state, records[second].reject_reason) == ("draft", "签到表无主办单位盖章")
    registry = await client.get("/my/hours")
    assert "教师信息化教学能力提升培训" in registry.text and "距年度要求还差 82 学时" in registry.text
    mine = await client.get("/my/hours/records")
    assert "驳回原因：签到表无主办单位盖章" in mine.text
    notices = (await client.get("/my/notices")).text  # 消息中心: one notice per decided record
    assert "学时记录已通过" in notices and "「教师信息化教学能力提升培训」" in notices
    assert "学时记录已驳回" in notices and "驳回原因：签到表无主办单位盖章" in notices


async def test_another_schools_reviewer_is_refused(declared, app, sessionmaker) -> None:
    task, (first, _second) = declared["task"], declared["ids"]
    other = await make_staff(sessionmaker, Role.SCHOOL_REVIEWER, school_id=2)
    async with staff_client(app, other) as staff:
        assert task.subject not in (await staff.get("/staff/tasks")).text
        assert (await staff.get(f"/staff/tasks/{task.id}")).status_code == 403
        claim = await staff.post(f"/staff/tasks/{task.id}/claim", headers=htmx(staff))
        assert claim.status_code == 403 and "无权访问" in claim.text
        decide = await staff.post(
            f"/staff/tasks/{task.id}/decide", data={f"item-{first}": "approve"}, headers=htmx(staff)
        )
        assert decide.status_code == 403
        evidence = await staff.get(f"/staff/hours/records/{first}/evidence")
        assert evidence.status_code == 403
    finance = await make_staff(sessionmaker, Role.FINANCE)
    async with staff_client(app, finance) as staff:
        assert (await staff.get(f"/staff/hours/records/{first}/evidence")).status_code == 403
    async with sessionmaker() as s:
        row = await s.scalar(select(ReviewTask).where(ReviewTask.id == task.id))
    assert row is not None and row.status == "open" and row.assignee_id is None
    assert {r.state for r in await records_of(sessionmaker, declared["trainee"].id)} == {"reviewing"}


async def test_reject_everything_with_one_reason(declared, app, sessionmaker, client) -> None:
    task = declared["task"]
    reviewer = await make_staff(sessionmaker, Role.SCHOOL_REVIEWER, school_id=1)
    async with staff_client(app, reviewer) as staff:
        await staff.post(f"/staff/tasks/{task.id}/claim", headers=htmx(staff))
        done = await staff.post(
            f"/staff/tasks/{task.id}/decide", data={"decision": "reject", "reason": "材料不全"}, headers=htmx(staff)
        )
        assert done.status_code == 200 and "已驳回" in done.text
    records = await records_of(sessionmaker, declared["trainee"].id)
    assert {(r.state, r.reject_reason) for r in records} == {("draft", "材料不全")}
    # back to draft: the trainee may correct and declare again
    again = await new_draft(client, sessionmaker, training_name="另一次培训", hours="1")
    assert (await submit_hours(client, [again, *declared["ids"]])).status_code == 204


async def test_rejected_draft_can_be_deleted_and_the_review_stays_readable(declared, app, sessionmaker, client) -> None:
    task, (first, second) = declared["task"], declared["ids"]
    reviewer = await make_staff(sessionmaker, Role.SCHOOL_REVIEWER, school_id=1)
    async with staff_client(app, reviewer) as staff:
        await staff.post(f"/staff/tasks/{task.id}/claim", headers=htmx(staff))
        done = await staff.post(
            f"/staff/tasks/{task.id}/decide",
            data={f"item-{first}": "approve", f"item-{second}": "reject", f"reason-{second}": "非继续教育培训"},
            headers=htmx(staff),
        )
        assert done.status_code == 200
        deleted = await client.post(f"/my/hours/records/{second}/delete", headers=htmx(client))
        assert deleted.status_code == 204
        assert [r.id for r in await records_of(sessionmaker, declared["trainee"].id)] == [first]
        # the decided task still shows what was declared and decided
        page = await staff.get(f"/staff/tasks/{task.id}")
        assert page.status_code == 200
        assert "师德师风专题讲座" in page.text and "非继续教育培训" in page.text
    mine = await client.get("/my/hours/records")
    assert "师德师风专题讲座（3）" in mine.text  # the declaration keeps its record of what was sent
