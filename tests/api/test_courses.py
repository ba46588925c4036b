"""课程管理 through HTTP as the pages call it: a course administrator creates a course, uploads
courseware (checked by content), orders chapters and submits; the platform admin decides in the
inbox; the course shows in 在线课程; editing it on sale makes a new version; 下架. Every refusal
has its message and leaves nothing behind."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from db.models.catalog import Chapter, Course
from db.models.users import Role
from tests.support import csrf, enter_school, htmx, login_trainee, make_staff, make_trainee, staff_client
from tests.support.courses import (
    choices,
    clip_bytes,
    course_form,
    course_row,
    create_course,
    mpeg4_clip_bytes,
    open_task_for,
    upload_chapter,
)
from tests.support.invoicing import decide, png_bytes

pytestmark = pytest.mark.usefixtures("live_server")


@pytest.fixture
def short_hours(settings):
    """1 学时 = 6 seconds of courseware (±1 s), so tests upload clips of a few seconds."""
    old = (settings.course_minutes_per_hour, settings.course_hours_tolerance_minutes)
    settings.course_minutes_per_hour, settings.course_hours_tolerance_minutes = 0.1, 1 / 60
    yield
    settings.course_minutes_per_hour, settings.course_hours_tolerance_minutes = old


@pytest.fixture
async def admin_client(app, sessionmaker):
    user = await make_staff(sessionmaker, Role.COURSE_ADMIN, school_id=1)
    async with staff_client(app, user) as c:
        c.user = user  # type: ignore[attr-defined]
        yield c


async def chapter_count(sessionmaker, course_id: int) -> int:
    async with sessionmaker() as s:
        return await s.scalar(select(func.count()).select_from(Chapter).where(Chapter.course_id == course_id)) or 0


def courseware_files(settings) -> set[str]:
    folder = Path(settings.media_dir) / "courseware"
    return {p.name for p in folder.glob("*.mp4")} if folder.exists() else set()


async def test_course_admin_lands_on_the_course_list_with_the_school_courses(app, sessionmaker) -> None:
    user = await make_staff(sessionmaker, Role.COURSE_ADMIN, school_id=1)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        await c.get("/staff/login")
        resp = await c.post("/staff/login", data={"username": user.username, "password": "Pass@1234"}, headers=csrf(c))
        assert resp.headers["location"] == "/staff/courses"
        page = await c.get("/staff/courses")
        assert page.status_code == 200
        assert "课程管理" in page.text and "农村电商实务（演示草稿）" in page.text  # the seeded draft
        assert "草稿" in page.text and "已上架" in page.text
        assert "湖南师范大学" not in page.text and "新课程标准解读与教学设计" not in page.text


async def test_other_staff_and_trainees_cannot_open_course_administration(client, sessionmaker, app) -> None:
    finance = await make_staff(sessionmaker, Role.FINANCE)
    async with staff_client(app, finance) as c:
        resp = await c.get("/staff/courses")
        assert resp.status_code == 403 and "无权访问" in resp.text
    await login_trainee(client, await make_trainee(sessionmaker))
    assert (await client.get("/staff/courses")).status_code in (303, 401, 403)


async def test_course_form_refusals_store_nothing(admin_client, sessionmaker) -> None:
    category, major = await choices(sessionmaker)
    async with sessionmaker() as s:
        before = await s.scalar(select(func.count()).select_from(Course))
    for changes, message in [
        ({"price": "0"}, "课程价格必须大于0元"),
        ({"price": "-5"}, "课程价格必须大于0元"),
        ({"hours": "0"}, "学时须大于0"),
        ({"hours": "1.3"}, "学时须大于0"),
        ({"hours": "999999"}, "不超过200"),
        ({"hours": "1234567"}, "学时数不能超过6个字符"),
        ({"course_title": "  "}, "请填写课程名称"),
        ({"course_title": "课" * 201}, "课程名称不能超过200个字符"),
        ({"category_id": "99999999999"}, "课程类目超出允许范围"),
        ({"description": "长" * 1001}, "课程简介不能超过1000个字符"),
    ]:
        form = {**course_form(category, major), **changes}
        resp = await admin_client.post("/staff/courses", data=form, headers=htmx(admin_client))
        assert resp.status_code == 422, (changes, resp.text)
        assert message in resp.text, (changes, resp.text)
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Course)) == before


async def test_courseware_is_checked_by_content(admin_client, sessionmaker, settings, tmp_path) -> None:
    course_id = await create_course(admin_client, sessionmaker)
    before = courseware_files(settings)

    renamed = await upload_chapter(admin_client, course_id, png_bytes(), name="lesson.mp4")
    assert renamed.status_code == 422 and "该文件无法识别为视频" in renamed.text
    text = await upload_chapter(admin_client, course_id, b"just some text, not a video" * 100, name="a.mp4")
    assert text.status_code == 422 and "MP4格式（H.264编码）" in text.text
    mpeg4 = await upload_chapter(admin_client, course_id, mpeg4_clip_bytes(tmp_path))
    assert mpeg4.status_code == 422 and "必须是H.264编码" in mpeg4.text
    missing = await admin_client.post(
        f"/staff/courses/{course_id}/chapters", data={"chapter_title": "第1讲"}, headers=htmx(admin_client)
    )
    assert missing.status_code == 422 and "请选择要上传的课件视频" in missing.text
    assert await chapter_count(sessionmaker, course_id) == 0
    assert courseware_files(settings) == before  # nothing refused was kept

    ok = await upload_chapter(admin_client, course_id, clip_bytes(tmp_path, 3), title="第1讲 概览")
    assert ok.status_code == 200, ok.text
    assert 'id="chapters"' in ok.text and "第1讲 概览" in ok.text and "0 分 3 秒" in ok.text
    async with sessionmaker() as s:
        chapter = await s.scalar(select(Chapter).where(Chapter.course_id == course_id))
        assert chapter is not None and chapter.duration_seconds == 3  # from the file, not the form
        assert (Path(settings.media_dir) / chapter.clip).read_bytes() == clip_bytes(tmp_path, 3)
    assert len(courseware_files(settings) - before) == 1


async def test_oversize_courseware_is_refused(admin_client, sessionmaker, settings, tmp_path) -> None:
    course_id = await create_course(admin_client, sessionmaker)
    data = clip_bytes(tmp_path, 3)
    old = settings.max_courseware_bytes
    settings.max_courseware_bytes = len(data) - 1
    try:
        before = courseware_files(settings)
        resp = await upload_chapter(admin_client, course_id, data)
        assert resp.status_code == 422 and "文件过大" in resp.text
        assert await chapter_count(sessionmaker, course_id) == 0
        assert courseware_files(settings) == before
    finally:
        settings.max_courseware_bytes = old


async def test_chapters_are_reordered_and_deleted_as_fragments(admin_client, sessionmaker, tmp_path) -> None:
    course_id = await create_course(admin_client, sessionmaker)
    for title in ("第一讲", "第二讲", "第三讲"):
        assert (await upload_chapter(admin_client, course_id, clip_bytes(tmp_path, 2), title=title)).status_code == 200
    async with sessionmaker() as s:
        ids = list(await s.scalars(select(Chapter.id).where(Chapter.course_id == course_id).order_by(Chapter.seq)))

    moved = await admin_client.post(
        f"/staff/courses/{course_id}/chapters/{ids[2]}/move", data={"direction": "up"}, headers=htmx(admin_client)
    )
    assert moved.status_code == 200 and moved.text.lstrip().startswith('<div id="chapters">')
    assert moved.text.index("第三讲") < moved.text.index("第二讲")
    page = await admin_client.get(f"/staff/courses/{course_id}")
    assert 'hx-confirm="确定删除章节' in page.text  # deleting asks first

    deleted = await admin_client.post(
        f"/staff/courses/{course_id}/chapters/{ids[0]}/delete", headers=htmx(admin_client)
    )
    assert deleted.status_code == 200 and "章节已删除" in deleted.text and "第一讲" not in deleted.text
    async with sessionmaker() as s:
        rows = (
            await s.execute(
                select(Chapter.title, Chapter.seq).where(Chapter.course_id == course_id).order_by(Chapter.seq)
            )
        ).all()
    assert [tuple(r) for r in rows] == [("第三讲", 1), ("第二讲", 2)]


async def test_submit_refusals(admin_client, sessionmaker, tmp_path, settings) -> None:
    course_id = await create_course(admin_client, sessionmaker, hours="1")
    empty = await admin_client.post(f"/staff/courses/{course_id}/submit", headers=htmx(admin_client))
    assert empty.status_code == 422 and "课程还没有章节，不能提交审核" in empty.text

    # 1 学时 needs about 45 minutes of courseware: 3 seconds is far off
    await upload_chapter(admin_client, course_id, clip_bytes(tmp_path, 3))
    mismatch = await admin_client.post(f"/staff/courses/{course_id}/submit", headers=htmx(admin_client))
    assert mismatch.status_code == 422
    assert "课程学时与课件总时长不符" in mismatch.text and "45 分钟" in mismatch.text
    assert (await course_row(sessionmaker, course_id)).state == "draft"


async def test_another_schools_course_is_refused(admin_client, sessionmaker) -> None:
    async with sessionmaker() as s:
        other = await s.scalar(select(Course.id).where(Course.school_id == 2).limit(1))
    assert other is not None
    category, major = await choices(sessionmaker)
    for method, url, data in [
        ("get", f"/staff/courses/{other}", None),
        ("post", f"/staff/courses/{other}", course_form(category, major)),
        ("post", f"/staff/courses/{other}/submit", None),
        ("post", f"/staff/courses/{other}/withdraw", None),
        ("post", f"/staff/courses/{other}/versions", None),
    ]:
        if method == "get":
            resp = await admin_client.get(url)
        else:
            resp = await admin_client.post(url, data=data, headers=htmx(admin_client))
        assert resp.status_code == 403 and "只能管理本校的课程" in resp.text, url
    async with sessionmaker() as s:
        course = await s.get(Course, other)
        assert course is not None and course.title != "农村电商实务" and course.state == "published"


async def test_published_through_the_inbox_then_a_new_version_then_withdrawn(
    admin_client, client, sessionmaker, app, tmp_path, short_hours
) -> None:
    course_id = await create_course(admin_client, sessionmaker, hours="0.5", course_title="农村电商实务A")
    assert (await upload_chapter(admin_client, course_id, clip_bytes(tmp_path, 3))).status_code == 200
    submitted = await admin_client.post(f"/staff/courses/{course_id}/submit", headers=htmx(admin_client))
    assert submitted.status_code == 204 and submitted.headers["HX-Redirect"].endswith("saved=submitted")
    assert (await course_row(sessionmaker, course_id)).state == "under_review"
    again = await admin_client.post(f"/staff/courses/{course_id}/submit", headers=htmx(admin_client))
    assert again.status_code == 422 and "无需重复提交" in again.text
    locked = await admin_client.post(
        f"/staff/courses/{course_id}", data=course_form(*await choices(sessionmaker)), headers=htmx(admin_client)
    )
    assert locked.status_code == 422 and "正在审核中，不能修改" in locked.text

    admin = await make_staff(sessionmaker, Role.ADMIN)
    task = await open_task_for(sessionmaker, course_id)
    assert task.queue == "admin" and task.subject == "课程上架：农村电商实务A（第1版）"
    async with staff_client(app, admin) as staff:
        detail = await staff.get(f"/staff/tasks/{task.id}")
        assert "章节目录" in detail.text and "0 分 3 秒" in detail.text
        rejected = await decide(staff, task.id, approve=False, reason="课件画面不清晰")
        assert rejected.status_code == 200, rejected.text
    row = await course_row(sessionmaker, course_id)
    assert (row.state, row.review_reason, row.published) == ("rejected", "课件画面不清晰", False)
    page = await admin_client.get(f"/staff/courses/{course_id}")
    assert "平台驳回原因：课件画面不清晰" in page.text

    assert (
        await admin_client.post(f"/staff/courses/{course_id}/submit", headers=htmx(admin_client))
    ).status_code == 204
    task = await open_task_for(sessionmaker, course_id)
    async with staff_client(app, admin) as staff:
        assert (await decide(staff, task.id, approve=True)).status_code == 200
    row = await course_row(sessionmaker, course_id)
    assert (row.state, row.published) == ("published", True)

    # a trainee sees it in 在线课程 and buys it (the enrollment is made directly here)
    trainee = await make_trainee(sessionmaker)
    await login_trainee(client, trainee)
    await enter_school(client)
    listing = await client.get("/courses", params={"q": "农村电商实务A"})
    assert f'data-course-id="{course_id}"' in listing.text

    # editing a course on sale makes version 2; version 1 stays on sale meanwhile
    edit = await admin_client.post(f"/staff/courses/{course_id}/versions", headers=csrf(admin_client))
    assert edit.status_code == 303
    v2 = int(edit.headers["location"].rsplit("/", 1)[1])
    assert v2 != course_id
    form = course_form(*await choices(sessionmaker), hours="0.5", course_title="农村电商实务A（修订）", price="25")
    assert (await admin_client.post(f"/staff/courses/{v2}", data=form, headers=htmx(admin_client))).status_code == 204
    assert await chapter_count(sessionmaker, v2) == 1  # the chapters came along
    assert (await admin_client.post(f"/staff/courses/{v2}/submit", headers=htmx(admin_client))).status_code == 204
    listing = await client.get("/courses", params={"q": "农村电商实务A"})
    assert f'data-course-id="{course_id}"' in listing.text and "修订" not in listing.text
    task = await open_task_for(sessionmaker, v2)
    assert task.subject == "课程上架：农村电商实务A（修订）（第2版）"
    async with staff_client(app, admin) as staff:
        assert (await decide(staff, task.id, approve=True)).status_code == 200
    old, new = await course_row(sessionmaker, course_id), await course_row(sessionmaker, v2)
    assert (old.state, old.published, new.state, new.published) == ("superseded", False, "published", True)
    listing = await client.get("/courses", params={"q": "农村电商实务A"})
    assert f'data-course-id="{v2}"' in listing.text and f'data-course-id="{course_id}"' not in listing.text
    assert "修订" in listing.text and "¥25.00" in listing.text
    assert (await client.get(f"/courses/{course_id}")).status_code == 404  # the old version left the catalogue

    listed = await admin_client.get("/staff/courses")
    assert listed.text.count("农村电商实务A") == 1  # one row per course: its newest version

    withdrawn = await admin_client.post(f"/staff/courses/{v2}/withdraw", headers=htmx(admin_client))
    assert withdrawn.status_code == 204
    assert (await course_row(sessionmaker, v2)).state == "withdrawn"
    listing = await client.get("/courses", params={"q": "农村电商实务A"})
    assert f'data-course-id="{v2}"' not in listing.text and "没有" in listing.text
    twice = await admin_client.post(f"/staff/courses/{v2}/withdraw", headers=htmx(admin_client))
    assert twice.status_code == 422 and "该课程未上架" in twice.text


async def test_a_course_on_sale_before_any_workflow_is_withdrawn_and_trainees_keep_it(
    admin_client, sessionmaker
) -> None:
    """Like the demo courses: on sale without a publication workflow yet; 下架 starts one."""
    from datetime import date

    from db.models.orders import Enrollment, Order, OrderItem

    category, major = await choices(sessionmaker)
    trainee = await make_trainee(sessionmaker)
    async with sessionmaker() as s:
        course = Course(
            school_id=1,
            category_id=category,
            major_id=major,
            code="T-WD-" + str(trainee.id),
            title="下架测试课程",
            subject_category="public",
            hours=1,
            price_cents=100,
            published=True,
            state="published",
        )
        s.add(course)
        await s.flush()
        s.add(Chapter(course_id=course.id, seq=1, title="第1讲", duration_seconds=2700, clip="x.mp4"))
        order = Order(
            order_no=f"WD{trainee.id}",
            trainee_id=trainee.id,
            school_id=1,
            training_year=date.today().year,
            training_type="in_post",
            amount_cents=100,
            status="paid",
            channel="alipay",
            expires_at=datetime.now(UTC),
        )
        s.add(order)
        await s.flush()
        item = OrderItem(order_no=order.order_no, course_id=course.id, title="下架测试课程", hours=1, price_cents=100)
        s.add(item)
        await s.flush()
        s.add(
            Enrollment(
                order_item_id=item.id,
                order_no=order.order_no,
                trainee_id=trainee.id,
                course_id=course.id,
                school_id=1,
                training_year=order.training_year,
                training_type="in_post",
                price_cents=100,
            )
        )
        await s.commit()
        course_id = course.id

    resp = await admin_client.post(f"/staff/courses/{course_id}/withdraw", headers=htmx(admin_client))
    assert resp.status_code == 204, resp.text
    row = await course_row(sessionmaker, course_id)
    assert (row.state, row.published) == ("withdrawn", False)
    async with sessionmaker() as s:
        held = (await s.scalars(select(Enrollment).where(Enrollment.trainee_id == trainee.id))).all()
    assert [(e.course_id, e.status) for e in held] == [(course_id, "not_started")]  # untouched
