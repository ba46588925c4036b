"""集体开票资格 through HTTP: the upload checks, 审核中 → 已通过 / 已驳回 through the inbox and every
refusal, with nothing half-written. `approved_unit` is the start of every 单位开票 test (test_unit_invoice.py)."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
from PIL import Image
from sqlalchemy import select
from temporalio.client import Client
from temporalio.service import RPCError

from db.models.tasks import ReviewTask
from db.models.unit_qualification import UnitQualification
from db.models.users import Role, User
from domain.credit_code import make_credit_code
from tests.support import enter_school, htmx, login_trainee, make_staff, make_trainee, staff_client
from tests.support.invoicing import decide, png_bytes, task_of
from workflows.unit_qualification import qualification_workflow_id

_codes = iter(range(1, 10_000))


def fresh_code() -> str:
    """A valid credit code no other test uses (the database is shared by the session)."""
    return make_credit_code(f"124300009Q{next(_codes) + 5000:07d}")


async def trainee_client(client: httpx.AsyncClient, user: User) -> httpx.AsyncClient:
    await login_trainee(client, user)
    await enter_school(client)
    return client


async def submit(
    client: httpx.AsyncClient,
    unit_name: str,
    tax_id: str,
    content: bytes | None,
    filename: str = "委托书.png",
    content_type: str = "image/png",
) -> httpx.Response:
    files = {"authorization": (filename, content, content_type)} if content is not None else None
    return await client.post(
        "/my/group-invoicing/qualification",
        data={"unit_name": unit_name, "tax_id": tax_id},
        files=files,
        headers=htmx(client),
    )


def stored_files(settings) -> list[Path]:
    folder = settings.files_dir / "authorizations"
    return sorted(folder.iterdir()) if folder.exists() else []


async def qualification_rows(sessionmaker, credit_code: str) -> list[UnitQualification]:
    async with sessionmaker() as s:
        return list(
            (await s.scalars(select(UnitQualification).where(UnitQualification.credit_code == credit_code))).all()
        )


async def approved_unit(app, client, sessionmaker, settings, unit_name: str) -> str:
    """The signed-in trainee applies for `unit_name`; the platform admin approves it in the inbox."""
    code = fresh_code()
    resp = await submit(client, unit_name, code, png_bytes())
    assert resp.status_code == 204, resp.text
    task = await task_of(sessionmaker, qualification_workflow_id(code, 1))
    admin = await make_staff(sessionmaker, Role.ADMIN)
    async with staff_client(app, admin) as staff:
        decided = await decide(staff, task.id, approve=True)
        assert decided.status_code == 200, decided.text
    return code


async def test_submission_goes_under_review_with_a_reencoded_image(client, sessionmaker, settings, app) -> None:
    user = await make_trainee(sessionmaker)
    await trainee_client(client, user)
    page = await client.get("/my/group-invoicing")
    assert "提交审核" in page.text and "委托书文件只能上传图片格式" in page.text

    code = fresh_code()
    original = png_bytes()
    resp = await submit(client, "湖南省测试研究院", code, original)
    assert resp.status_code == 204, resp.text
    assert resp.headers["HX-Redirect"] == "/my/group-invoicing"

    page = await client.get("/my/group-invoicing")
    assert "审核中" in page.text and "湖南省测试研究院" in page.text and code in page.text
    [row] = await qualification_rows(sessionmaker, code)
    assert (row.status, row.attempt, row.applicant_id) == ("under_review", 1, user.id)
    stored = settings.files_dir / row.authorization_path
    assert stored.parent == settings.files_dir / "authorizations"
    data = stored.read_bytes()
    assert data != original and b"secret-metadata" not in data  # re-encoded, metadata dropped
    assert Image.open(io.BytesIO(data)).size == (120, 80)

    task = await task_of(sessionmaker, qualification_workflow_id(code, 1))
    assert (task.kind, task.queue, task.status) == ("unit_qualification", "admin", "open")

    # the image: to the applicant and to staff, to nobody else
    mine = await client.get(f"/group-invoicing/authorizations/{row.id}")
    assert mine.status_code == 200 and mine.headers["content-type"] == "image/png"
    assert mine.headers["x-content-type-options"] == "nosniff"
    admin = await make_staff(sessionmaker, Role.ADMIN)
    async with staff_client(app, admin) as staff:
        assert (await staff.get(f"/group-invoicing/authorizations/{row.id}")).status_code == 200
        detail = await staff.get(f"/staff/tasks/{task.id}")
        assert 'id="unit-qualification"' in detail.text and "第 1 次" in detail.text and code in detail.text
        assert f"/group-invoicing/authorizations/{row.id}" in detail.text
    reviewer = await make_staff(sessionmaker, Role.SCHOOL_REVIEWER, school_id=1)
    async with staff_client(app, reviewer) as other:
        assert (await other.get(f"/group-invoicing/authorizations/{row.id}")).status_code == 404
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as stranger:
        await trainee_client(stranger, await make_trainee(sessionmaker))
        assert (await stranger.get(f"/group-invoicing/authorizations/{row.id}")).status_code == 404

    # a second submission while under review is refused
    again = await submit(client, "湖南省测试研究院", code, png_bytes())
    assert again.status_code == 422 and "正在审核中" in again.text


@pytest.mark.parametrize(
    ("case", "unit_name", "tax_id", "content", "filename", "message"),
    [
        ("bad tax id", "某单位", "12430000444880045X", "png", "a.png", "单位识别号（统一社会信用代码）校验不通过"),
        ("short tax id", "某单位", "1243", "png", "a.png", "单位识别号格式不正确"),
        ("no unit name", " ", "CODE", "png", "a.png", "请输入单位名称"),
        ("text renamed .png", "某单位", "CODE", "text", "委托书.png", "委托书文件只能上传图片格式"),
        ("pdf", "某单位", "CODE", "pdf", "委托书.pdf", "委托书文件只能上传图片格式"),
        ("broken png", "某单位", "CODE", "broken", "委托书.png", "委托书文件只能上传图片格式"),
        ("oversize", "某单位", "CODE", "big", "委托书.png", "文件过大（不能超过"),
        ("no file", "某单位", "CODE", None, "", "请上传委托书文件"),
    ],
)
async def test_refused_submission_stores_nothing(
    client, sessionmaker, settings, temporal_client: Client, case, unit_name, tax_id, content, filename, message
) -> None:
    await trainee_client(client, await make_trainee(sessionmaker))
    code = fresh_code()
    png = png_bytes()
    bodies = {
        "png": png,
        "text": "这不是图片，只是改了扩展名".encode(),
        "pdf": b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
        "broken": png[:60],
        # a real PNG one byte over the limit
        "big": png + b"\0" * (settings.max_upload_bytes - len(png) + 1),
        None: None,
    }
    before = stored_files(settings)
    resp = await submit(client, unit_name, code if tax_id == "CODE" else tax_id, bodies[content], filename)
    assert resp.status_code == 422, (case, resp.text)
    assert message in resp.text, case
    assert resp.headers["HX-Retarget"] == "#flash"
    # nothing stored: no file, no row, no workflow
    assert stored_files(settings) == before
    assert await qualification_rows(sessionmaker, code) == []
    with pytest.raises(RPCError):
        await temporal_client.get_workflow_handle(qualification_workflow_id(code, 1)).describe()


async def test_rejected_unit_applies_again_and_is_approved(client, sessionmaker, settings, app) -> None:
    await trainee_client(client, await make_trainee(sessionmaker))
    code = fresh_code()
    assert (await submit(client, "某事业单位", code, png_bytes())).status_code == 204
    task = await task_of(sessionmaker, qualification_workflow_id(code, 1))
    admin = await make_staff(sessionmaker, Role.ADMIN)
    async with staff_client(app, admin) as staff:
        no_reason = await decide(staff, task.id, approve=False)
        assert no_reason.status_code == 422 and "驳回时必须填写原因" in no_reason.text
        rejected = await decide(staff, task.id, approve=False, reason="委托书未加盖单位公章")
        assert rejected.status_code == 200, rejected.text
        twice = await staff.post(f"/staff/tasks/{task.id}/decide", data={"decision": "approve"}, headers=htmx(staff))
        assert twice.status_code == 422 and "该任务已处理" in twice.text

    page = await client.get("/my/group-invoicing")
    assert "已驳回" in page.text and "委托书未加盖单位公章" in page.text and "提交审核" in page.text
    assert (await submit(client, "某事业单位", code, png_bytes(color="green"))).status_code == 204
    rows = await qualification_rows(sessionmaker, code)
    assert sorted((r.attempt, r.status) for r in rows) == [(1, "rejected"), (2, "under_review")]

    task2 = await task_of(sessionmaker, qualification_workflow_id(code, 2))
    async with staff_client(app, admin) as staff:
        assert (await decide(staff, task2.id, approve=True)).status_code == 200
    page = await client.get("/my/group-invoicing")
    assert "已通过" in page.text and "单位开票" in page.text
    notices = (await client.get("/my/notices")).text  # 消息中心: both decisions were told
    assert "集体开票资格已驳回" in notices and "驳回原因：委托书未加盖单位公章" in notices
    assert "集体开票资格已通过" in notices and "可以申请单位开票" in notices
    again = await submit(client, "某事业单位", code, png_bytes())
    assert again.status_code == 422 and "已通过集体开票审核" in again.text


async def test_a_reviewer_of_another_queue_cannot_decide(client, sessionmaker, settings, app) -> None:
    await trainee_client(client, await make_trainee(sessionmaker))
    code = fresh_code()
    assert (await submit(client, "另一单位", code, png_bytes())).status_code == 204
    task = await task_of(sessionmaker, qualification_workflow_id(code, 1))
    finance = await make_staff(sessionmaker, Role.FINANCE)
    async with staff_client(app, finance) as staff:
        claim = await staff.post(f"/staff/tasks/{task.id}/claim", headers=htmx(staff))
        assert claim.status_code == 403 and "无权访问" in claim.text
        resp = await staff.post(f"/staff/tasks/{task.id}/decide", data={"decision": "approve"}, headers=htmx(staff))
        assert resp.status_code == 403 and "无权访问" in resp.text
        assert f"/staff/tasks/{task.id}" not in (await staff.get("/staff/tasks")).text
    [row] = await qualification_rows(sessionmaker, code)
    assert row.status == "under_review"
    async with sessionmaker() as s:
        assert (await s.get(ReviewTask, task.id)).status == "open"
