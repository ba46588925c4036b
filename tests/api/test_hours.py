"""学时登记 / 学时申报 through HTTP: drafts with evidence, every refusal (nothing half-saved), 提交学时
→ 提交申报 → the school's decision → the registry."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.hours import HoursActivities
from api.hours_drafts import evidence_dir
from api.hours_rules import today_local
from db.models.hours import HoursDeclaration, HoursRecord
from db.models.tasks import ReviewTask
from domain.hours_records import PlatformHours
from domain.review import Decision, ItemDecision
from tests.support import csrf, enter_school, eventually, htmx, login_trainee, make_trainee
from tests.support.hours import PDF_BYTES, make_enrollment, png_bytes

TODAY = today_local()
YEAR = TODAY.year


def day(days_ago: int) -> date:
    """A past day of this year (never before 1 January, so the record belongs to this year)."""
    return max(TODAY - timedelta(days=days_ago), date(YEAR, 1, 1))


def entry(**overrides: Any) -> dict[str, str]:
    form = {
        "training_name": "全省事业单位财务人员线下培训班",
        "organiser": "湖南省财政厅",
        "start_date": day(2).isoformat(),
        "end_date": day(2).isoformat(),
        "subject_category": "professional",
        "training_type": "in_post",
        "hours": "6",
    }
    form.update({k: str(v) for k, v in overrides.items()})
    return form


@pytest.fixture
async def trainee_client(client: httpx.AsyncClient, sessionmaker):
    user = await make_trainee(sessionmaker, "学时学员")
    await login_trainee(client, user)
    await enter_school(client)
    client.user = user  # type: ignore[attr-defined]
    return client


async def save(
    client: httpx.AsyncClient,
    form: dict[str, str],
    evidence: tuple[str, bytes, str] | None = None,
    record_id: int | None = None,
) -> httpx.Response:
    url = f"/my/hours/records/{record_id}" if record_id else "/my/hours/records"
    files = {"evidence": evidence} if evidence else None
    return await client.post(url, data=form, files=files, headers=htmx(client))


async def records_of(maker: async_sessionmaker[AsyncSession], trainee_id: int) -> list[HoursRecord]:
    async with maker() as s:
        return list(
            (
                await s.scalars(
                    select(HoursRecord).where(HoursRecord.trainee_id == trainee_id).order_by(HoursRecord.id)
                )
            ).all()
        )


async def new_draft(client: httpx.AsyncClient, maker: async_sessionmaker[AsyncSession], **overrides: Any) -> int:
    resp = await save(client, entry(**overrides))
    assert resp.status_code == 204, resp.text
    return (await records_of(maker, client.user.id))[-1].id  # type: ignore[attr-defined]


async def submit_hours(client: httpx.AsyncClient, ids: list[int], year: int = YEAR) -> httpx.Response:
    return await client.post(
        "/my/hours/submit", data={"record_ids": [str(i) for i in ids], "year": str(year)}, headers=htmx(client)
    )


async def pending_no(maker: async_sessionmaker[AsyncSession], trainee_id: int) -> str:
    async with maker() as s:
        no = await s.scalar(
            select(HoursDeclaration.declaration_no).where(
                HoursDeclaration.trainee_id == trainee_id, HoursDeclaration.state == "pending"
            )
        )
    assert no is not None
    return no


async def declare(client: httpx.AsyncClient, no: str, school_id: int = 1) -> httpx.Response:
    return await client.post(
        f"/my/hours/declarations/{no}/submit", data={"school_id": str(school_id)}, headers=htmx(client)
    )


async def open_task(maker: async_sessionmaker[AsyncSession], no: str) -> ReviewTask:
    async def found() -> ReviewTask | None:
        async with maker() as s:
            return await s.scalar(select(ReviewTask).where(ReviewTask.workflow_id == f"hours-{no}"))

    return await eventually(found)


def evidence_files(settings) -> set[str]:
    folder = evidence_dir(settings)
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


# ---- 学时填报 --------------------------------------------------------------------------------


async def test_draft_with_evidence_saved_edited_and_deleted(trainee_client, sessionmaker, settings) -> None:
    client = trainee_client
    resp = await save(client, entry(), ("证书.png", png_bytes(), "image/png"))
    assert resp.status_code == 204 and resp.headers["HX-Redirect"] == "/my/hours/records?done=saved"
    [record] = await records_of(sessionmaker, client.user.id)
    assert (record.state, record.source, record.hours, record.year) == ("draft", "self", Decimal(6), day(2).year)
    assert record.evidence_file in evidence_files(settings) and record.evidence_name == "证书.png"

    page = await client.get("/my/hours/records?done=saved")
    assert "学时信息已保存" in page.text and "全省事业单位财务人员线下培训班" in page.text and "草稿" in page.text
    image = await client.get(f"/my/hours/records/{record.id}/evidence")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.headers["x-content-type-options"] == "nosniff"

    # edit: new hours and a PDF instead of the image (the old file goes)
    resp = await save(client, entry(hours="4.5"), ("证明.pdf", PDF_BYTES, "application/pdf"), record_id=record.id)
    assert resp.status_code == 204, resp.text
    [edited] = await records_of(sessionmaker, client.user.id)
    assert edited.hours == Decimal("4.5") and edited.evidence_type == "application/pdf"
    assert record.evidence_file not in evidence_files(settings)
    pdf = await client.get(f"/my/hours/records/{record.id}/evidence")
    assert pdf.content == PDF_BYTES and "attachment" in pdf.headers["content-disposition"]

    deleted = await client.post(f"/my/hours/records/{record.id}/delete", headers=htmx(client))
    assert deleted.status_code == 204
    assert await records_of(sessionmaker, client.user.id) == []
    assert edited.evidence_file not in evidence_files(settings)
    assert "学时记录已删除" in (await client.get("/my/hours/records?done=deleted")).text


REFUSALS = [
    (entry(start_date=day(1).isoformat(), end_date=day(3).isoformat()), "结束日期不能早于开始日期"),
    (entry(hours="0"), "学时数必须大于0"),
    (entry(hours="-2"), "学时数必须大于0"),
    (entry(hours="abc"), "学时数必须大于0"),
    (entry(hours="8.5"), "学时数超过日期范围允许的上限"),  # one day, at most 8 hours
    (entry(hours="1.3"), "学时数须为0.5的整数倍"),
    (entry(training_name="  "), "请填写培训名称"),
    (entry(organiser=""), "请填写主办单位"),
    (entry(start_date="2026-02-30"), "请填写正确的开始日期和结束日期"),
    (entry(subject_category="sports"), "请选择科目类别"),
    (entry(training_type="holiday"), "请选择培训类型"),
    (entry(end_date=(TODAY + timedelta(days=1)).isoformat()), "结束日期不能晚于今天"),
    # a year that can never be submitted is refused when saved, not kept as a silent draft
    (entry(start_date="1900-05-01", end_date="1900-05-01"), "只能填报当前年度及上年度的学时信息"),
    (entry(start_date=f"{YEAR - 2}-06-01", end_date=f"{YEAR - 2}-06-01"), "只能填报当前年度及上年度的学时信息"),
]


@pytest.mark.parametrize(("form", "message"), REFUSALS, ids=[m for _, m in REFUSALS])
async def test_entry_refusals_save_nothing(trainee_client, sessionmaker, settings, form, message) -> None:
    client = trainee_client
    before = evidence_files(settings)
    resp = await save(client, form, ("证书.png", png_bytes(), "image/png"))
    assert resp.status_code == 422 and message in resp.text
    assert resp.headers["HX-Retarget"] == "#flash"
    assert await records_of(sessionmaker, client.user.id) == []
    assert evidence_files(settings) == before


@pytest.mark.parametrize(
    ("evidence", "message"),
    [
        (("证书.png", b"<html>not an image</html>", "image/png"), "证明材料只能上传图片或PDF文件"),
        (("scan.pdf", b"%PDF-1.4 truncated without end marker", "application/pdf"), "证明材料只能上传图片或PDF文件"),
        (("big.pdf", b"%PDF-1.4\n" + b"0" * (5 * 1024 * 1024) + b"\n%%EOF\n", "application/pdf"), "文件过大"),
    ],
    ids=["text-renamed-png", "broken-pdf", "too-large"],
)
async def test_evidence_checked_by_content(trainee_client, sessionmaker, settings, evidence, message) -> None:
    client = trainee_client
    before = evidence_files(settings)
    resp = await save(client, entry(), evidence)
    assert resp.status_code == 422 and message in resp.text
    assert await records_of(sessionmaker, client.user.id) == []
    assert evidence_files(settings) == before


async def test_other_trainees_record_is_not_found(trainee_client, sessionmaker, app) -> None:
    client = trainee_client
    rid = await new_draft(client, sessionmaker)
    other = await make_trainee(sessionmaker)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c2:
        await c2.get("/login")
        await login_trainee(c2, other)
        resp = await c2.post(f"/my/hours/records/{rid}", data=entry(hours="1"), headers=htmx(c2))
        assert resp.status_code == 404
        assert (await c2.post(f"/my/hours/records/{rid}/delete", headers=htmx(c2))).status_code == 404
        assert (await c2.get(f"/my/hours/records/{rid}/evidence")).status_code == 404
    [record] = await records_of(sessionmaker, client.user.id)
    assert record.hours == Decimal(6)


# ---- 提交学时 --------------------------------------------------------------------------------


@pytest.mark.parametrize("year", [YEAR - 2, YEAR + 1, 1999])
async def test_declaration_year_out_of_range_is_refused(trainee_client, sessionmaker, year) -> None:
    client = trainee_client
    rid = await new_draft(client, sessionmaker)
    resp = await submit_hours(client, [rid], year)
    assert resp.status_code == 422 and "只能填报当前年度及上年度的学时信息" in resp.text
    [record] = await records_of(sessionmaker, client.user.id)
    assert record.state == "draft" and record.declaration_id is None
    async with sessionmaker() as s:
        assert not await s.scalar(
            select(func.count()).select_from(HoursDeclaration).where(HoursDeclaration.trainee_id == client.user.id)
        )


async def test_submit_hours_refusals(trainee_client, sessionmaker) -> None:
    client = trainee_client
    empty = await submit_hours(client, [])
    assert empty.status_code == 422 and "请勾选需要填报的学时信息" in empty.text
    rid = await new_draft(client, sessionmaker)
    # the training took place this year: it cannot count toward last year
    wrong_year = await submit_hours(client, [rid], YEAR - 1)
    assert wrong_year.status_code == 422 and "培训日期不在所选填报年份内" in wrong_year.text
    twin = await new_draft(client, sessionmaker, training_name="全省事业单位财务人员 线下培训班")
    both = await submit_hours(client, [rid, twin])
    assert both.status_code == 422 and "重复" in both.text
    assert {r.state for r in await records_of(sessionmaker, client.user.id)} == {"draft"}


async def test_pending_record_can_be_withdrawn_but_not_edited(trainee_client, sessionmaker) -> None:
    client = trainee_client
    rid = await new_draft(client, sessionmaker)
    resp = await submit_hours(client, [rid])
    assert resp.status_code == 204 and resp.headers["HX-Redirect"] == "/my/hours/records?done=hours"
    page = await client.get("/my/hours/records")
    assert "待提交申报" in page.text and "提交申报" in page.text
    edit = await save(client, entry(hours="2"), record_id=rid)
    assert edit.status_code == 422 and "请先移出申报" in edit.text

    out = await client.post(f"/my/hours/records/{rid}/withdraw", headers=htmx(client))
    assert out.status_code == 204
    [record] = await records_of(sessionmaker, client.user.id)
    assert record.state == "draft" and record.declaration_id is None
    async with sessionmaker() as s:  # the emptied pending declaration is gone
        assert not await s.scalar(
            select(func.count()).select_from(HoursDeclaration).where(HoursDeclaration.trainee_id == client.user.id)
        )


# ---- 提交申报 → the school's decision → 学时登记 ------------------------------------------------


async def test_declaration_reviewed_record_by_record(trainee_client, sessionmaker, temporal_client) -> None:
    client = trainee_client
    first = await new_draft(client, sessionmaker, training_name="乡村振兴专题研修班", hours="8")
    second = await new_draft(client, sessionmaker, training_name="安全生产培训", subject_category="public", hours="4")
    assert (await submit_hours(client, [first, second])).status_code == 204
    no = await pending_no(sessionmaker, client.user.id)

    no_school = await declare(client, no, school_id=0)
    assert no_school.status_code == 422 and "请选择审核学校" in no_school.text
    resp = await declare(client, no)
    assert resp.status_code == 204 and resp.headers["HX-Redirect"] == "/my/hours/records?done=declared"
    page = await client.get("/my/hours/records?done=declared")
    assert "已提交申报" in page.text and page.text.count("审核中") >= 3  # two records + the declaration
    again = await declare(client, no)
    assert again.status_code == 422 and "该申报已提交" in again.text

    # under review: locked
    locked = await save(client, entry(hours="1"), record_id=first)
    assert locked.status_code == 422 and "审核中的记录不能修改" in locked.text
    gone = await client.post(f"/my/hours/records/{first}/delete", headers=htmx(client))
    assert gone.status_code == 422 and "审核中的记录不能修改" in gone.text

    task = await open_task(sessionmaker, no)
    assert task.queue == "school:1" and task.kind == "hours_declaration" and task.status == "open"
    assert task.payload["declaration_no"] == no and "共12学时" in task.subject

    # the school approves one and rejects the other (as the inbox sends it)
    decision = Decision(
        task_id=task.id,
        reviewer_id=task.submitter_id or 0,
        approve=False,
        items={str(first): ItemDecision(True), str(second): ItemDecision(False, "缺少培训证明")},
    )
    handle = temporal_client.get_workflow_handle(f"hours-{no}")
    assert await handle.execute_update("decide", decision, result_type=str) == "partial"

    records = {r.id: r for r in await records_of(sessionmaker, client.user.id)}
    assert records[first].state == "approved"
    assert records[second].state == "draft" and records[second].reject_reason == "缺少培训证明"
    page = await client.get("/my/hours/records")
    assert "驳回原因：缺少培训证明" in page.text and "部分通过" in page.text
    registry = await client.get(f"/my/hours?year={YEAR}")
    assert "乡村振兴专题研修班" in registry.text and "安全生产培训" not in registry.text
    assert "距年度要求还差 82 学时" in registry.text

    # the rejected record can be corrected and declared again; the approved one is final
    fixed = await save(
        client,
        entry(training_name="安全生产培训", subject_category="public", hours="4"),
        ("证明.pdf", PDF_BYTES, "application/pdf"),
        record_id=second,
    )
    assert fixed.status_code == 204
    final = await save(client, entry(hours="1"), record_id=first)
    assert final.status_code == 422 and "已审核通过的记录不能修改" in final.text

    # the same training again: refused as a duplicate of the approved record
    dup = await save(client, entry(training_name="乡村振兴 专题研修班", hours="2"))
    assert dup.status_code == 422 and "该培训的学时已审核通过，不能重复申报" in dup.text
    assert len(await records_of(sessionmaker, client.user.id)) == 2


async def test_registry_counts_platform_hours_by_category_and_type(trainee_client, sessionmaker, settings) -> None:
    client = trainee_client
    empty = await client.get("/my/hours")
    assert "距年度要求还差 90 学时" in empty.text and "还没有学时记录" in empty.text
    acts = HoursActivities(sessionmaker, settings)
    for code, ttype in (("AGR-01", "in_post"), ("PUB-02", "special")):
        enrollment = await make_enrollment(sessionmaker, client.user.id, code, training_type=ttype)
        await acts.push_platform(PlatformHours(enrollment.id))
    last_year = await make_enrollment(sessionmaker, client.user.id, "PUB-03", year=YEAR - 1)
    await acts.push_platform(PlatformHours(last_year.id))

    page = await client.get("/my/hours")
    assert "现代农业种植技术" in page.text and "事业单位工作人员职业道德与行为规范" in page.text
    assert "法治政府建设与依法行政" not in page.text  # counts toward last year
    assert 'id="hours-total">12<' in page.text and "距年度要求还差 78 学时" in page.text
    assert "width: 13%" in page.text  # 12 of 90, floored
    by_subject = page.text.split('id="by-subject"')[1].split("</table>")[0]
    assert '<td>公共科目</td><td class="num">4</td>' in by_subject
    assert '<td>专业科目</td><td class="num">8</td>' in by_subject
    by_type = page.text.split('id="by-type"')[1].split("</table>")[0]
    assert '<td>专项培训</td><td class="num">4</td>' in by_type
    assert '<td>在岗培训</td><td class="num">8</td>' in by_type

    previous = await client.get(f"/my/hours?year={YEAR - 1}")
    assert "法治政府建设与依法行政" in previous.text and "距年度要求还差 86 学时" in previous.text

    listed = await client.get("/my/hours/records?source=platform")
    assert listed.text.count("平台推送") >= 3 and "已记录" in listed.text
    self_only = await client.get("/my/hours/records?source=self")
    assert "现代农业种植技术" not in self_only.text


async def test_query_filters(trainee_client, sessionmaker) -> None:
    client = trainee_client
    a = await new_draft(client, sessionmaker, training_name="甲培训")
    await new_draft(
        client, sessionmaker, training_name="乙培训", start_date=day(5).isoformat(), end_date=day(5).isoformat()
    )
    assert (await submit_hours(client, [a])).status_code == 204
    pending = await client.get("/my/hours/records?state=pending")
    assert "甲培训" in pending.text and "乙培训" not in pending.text
    drafts = await client.get("/my/hours/records?state=draft&source=self")
    assert "乙培训" in drafts.text and "甲培训" not in drafts.text.split("待提交申报</h2>")[0]
    none = await client.get(f"/my/hours/records?year={YEAR - 1}&state=draft")
    assert "没有符合条件的学时记录" in none.text


async def test_staff_cannot_use_trainee_pages(client: httpx.AsyncClient) -> None:
    resp = await client.get("/my/hours", headers=csrf(client))
    assert resp.status_code == 303 and resp.headers["location"] == "/login"
