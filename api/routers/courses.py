"""课程管理: /staff/courses for a school's course administrators (role course_admin).

List, create and edit a course, its chapters (add with courseware, reorder, delete) and its cover;
提交审核 and 下架 are Updates to the course's CoursePublicationWorkflow (api/courses_service.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

import api.courses_inbox  # noqa: F401  (registers the inbox loader of 课程上架)
from api.courses_service import (
    add_chapter,
    course_rows,
    course_storage,
    create_course,
    delete_chapter,
    editable_version,
    form_choices,
    hours_rule,
    move_chapter,
    own_course,
    set_cover,
    staff_school,
    submit_course,
    update_course,
    versions_of,
    withdraw_course,
)
from api.deps import SessionDep, SettingsDep, TemporalDep, require_role
from api.pages import optional_int
from api.templating import redirect, render
from api.uploads import read_upload, saved_upload
from db.models.catalog import Course
from db.models.users import Role, User
from domain.courses import CourseForm as ValidCourseForm
from domain.courses import (
    CourseState,
    expected_seconds,
    hours_match,
    is_editable,
    validate_course_form,
)
from domain.errors import DomainError

router = APIRouter(tags=["courses"])
BASE = "/staff/courses"
CourseAdmin = Annotated[User, Depends(require_role(Role.COURSE_ADMIN))]
SUBJECTS = [("public", "公共科目"), ("professional", "专业科目")]


@dataclass(frozen=True)
class CourseFields:
    """The course form as posted: 新建课程 and 保存 send the same fields."""

    course_title: str
    category_id: str
    major_id: str
    subject_category: str
    hours: str
    price: str
    description: str
    teacher: str

    def checked(self) -> ValidCourseForm:
        return validate_course_form(
            title=self.course_title,
            category_id=optional_int(self.category_id),
            major_id=optional_int(self.major_id),
            subject_category=self.subject_category,
            hours=self.hours,
            price=self.price,
            description=self.description,
            teacher=self.teacher,
        )


def course_fields(
    course_title: Annotated[str, Form()] = "",
    category_id: Annotated[str, Form()] = "",
    major_id: Annotated[str, Form()] = "",
    subject_category: Annotated[str, Form()] = "",
    hours: Annotated[str, Form()] = "",
    price: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    teacher: Annotated[str, Form()] = "",
) -> CourseFields:
    return CourseFields(course_title, category_id, major_id, subject_category, hours, price, description, teacher)


PostedCourse = Annotated[CourseFields, Depends(course_fields)]


@router.get(BASE, response_class=HTMLResponse)
async def course_list(request: Request, user: CourseAdmin, session: SessionDep, page: int = 1) -> Response:
    rows, paging = await course_rows(session, staff_school(user), page)
    return render(
        request,
        "courses/list.html",
        {"rows": rows, "paging": paging, "base_url": BASE},
        block="list",
    )


@router.get(f"{BASE}/new", response_class=HTMLResponse)
async def new_course_page(request: Request, user: CourseAdmin, session: SessionDep) -> Response:
    choices = await form_choices(session, staff_school(user))
    return render(request, "courses/new.html", {**choices, "subjects": SUBJECTS, "form": {}})


@router.post(BASE)
async def create(
    request: Request,
    user: CourseAdmin,
    session: SessionDep,
    fields: PostedCourse,
) -> Response:
    form = fields.checked()
    course = await create_course(session, user, form)
    return redirect(request, f"{BASE}/{course.id}")


async def _edit_context(session: SessionDep, user: User, course: Course, settings: SettingsDep) -> dict[str, object]:
    rule = hours_rule(settings)
    versions = await versions_of(session, course)
    total = course.total_seconds
    return {
        **(await form_choices(session, course.school_id)),
        "course": course,
        "subjects": SUBJECTS,
        "editable": is_editable(course.state),
        "versions": versions,
        "on_sale": next((v for v in versions if v.state == CourseState.published), None),
        "newest": versions[-1],
        "total_seconds": total,
        "expected_minutes": expected_seconds(course.hours, rule) / 60,
        "hours_ok": bool(course.chapters) and hours_match(course.hours, total, rule),
        "rule": rule,
        "storage": course_storage(settings),
        "max_courseware_mb": settings.max_courseware_bytes // (1024 * 1024),
    }


@router.get(f"{BASE}/{{course_id}}", response_class=HTMLResponse)
async def edit_page(
    course_id: int, request: Request, user: CourseAdmin, session: SessionDep, settings: SettingsDep, saved: str = ""
) -> Response:
    course = await own_course(session, user, course_id)
    ctx = await _edit_context(session, user, course, settings)
    flash = {"1": "已保存", "submitted": "已提交审核，请等待平台管理员审核", "withdrawn": "课程已下架"}.get(saved)
    return render(request, "courses/edit.html", {**ctx, "flash": flash, "flash_kind": "success"})


@router.post(f"{BASE}/{{course_id}}")
async def save(
    course_id: int,
    request: Request,
    user: CourseAdmin,
    session: SessionDep,
    fields: PostedCourse,
) -> Response:
    course = await own_course(session, user, course_id)
    form = fields.checked()
    await update_course(session, user, course, form)
    return redirect(request, f"{BASE}/{course.id}?saved=1")


@router.post(f"{BASE}/{{course_id}}/versions")
async def new_version(course_id: int, request: Request, user: CourseAdmin, session: SessionDep) -> Response:
    """修改 a course that has been on sale: opens (or makes) the version that may be edited."""
    course = await own_course(session, user, course_id)
    version = await editable_version(session, course)
    return redirect(request, f"{BASE}/{version.id}")


@router.post(f"{BASE}/{{course_id}}/cover")
async def cover(
    course_id: int,
    request: Request,
    user: CourseAdmin,
    session: SessionDep,
    settings: SettingsDep,
    cover_image: Annotated[UploadFile | None, File()] = None,
) -> Response:
    course = await own_course(session, user, course_id)
    await set_cover(session, settings, course, await read_upload(cover_image, settings.max_upload_bytes))
    return redirect(request, f"{BASE}/{course.id}?saved=1")


async def _chapters_fragment(
    request: Request, session: SessionDep, user: User, course_id: int, settings: SettingsDep, flash: str | None
) -> Response:
    course = await own_course(session, user, course_id)
    ctx = await _edit_context(session, user, course, settings)
    return render(
        request,
        "courses/edit.html",
        {**ctx, "flash": flash, "flash_kind": "success"},
        block="chapters",
        headers={"HX-Trigger": "chaptersChanged"},
    )


@router.post(f"{BASE}/{{course_id}}/chapters")
async def chapter_add(
    course_id: int,
    request: Request,
    user: CourseAdmin,
    session: SessionDep,
    settings: SettingsDep,
    chapter_title: Annotated[str, Form()] = "",
    courseware: Annotated[UploadFile | None, File()] = None,
) -> Response:
    course = await own_course(session, user, course_id)
    async with saved_upload(courseware, settings.max_courseware_bytes, ".mp4") as saved:
        chapter = await add_chapter(session, settings, course, chapter_title, saved)
    return await _chapters_fragment(
        request,
        session,
        user,
        course_id,
        settings,
        f"已添加章节「{chapter.title}」（课件时长 {chapter.duration_seconds} 秒）",
    )


@router.post(f"{BASE}/{{course_id}}/chapters/{{chapter_id}}/move")
async def chapter_move(
    course_id: int,
    chapter_id: int,
    request: Request,
    user: CourseAdmin,
    session: SessionDep,
    settings: SettingsDep,
    direction: Annotated[str, Form()] = "",
) -> Response:
    if direction not in ("up", "down"):
        raise DomainError("NotFound")
    course = await own_course(session, user, course_id)
    await move_chapter(session, course, chapter_id, direction)
    return await _chapters_fragment(request, session, user, course_id, settings, None)


@router.post(f"{BASE}/{{course_id}}/chapters/{{chapter_id}}/delete")
async def chapter_delete(
    course_id: int, chapter_id: int, request: Request, user: CourseAdmin, session: SessionDep, settings: SettingsDep
) -> Response:
    course = await own_course(session, user, course_id)
    await delete_chapter(session, settings, course, chapter_id)
    return await _chapters_fragment(request, session, user, course_id, settings, "章节已删除")


@router.post(f"{BASE}/{{course_id}}/submit")
async def submit(
    course_id: int,
    request: Request,
    user: CourseAdmin,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
) -> Response:
    course = await own_course(session, user, course_id)
    await submit_course(
        session=session, client=client, settings=settings, user=user, course=course, now=datetime.now(UTC)
    )
    return redirect(request, f"{BASE}/{course_id}?saved=submitted")


@router.post(f"{BASE}/{{course_id}}/withdraw")
async def withdraw(
    course_id: int,
    request: Request,
    user: CourseAdmin,
    session: SessionDep,
    client: TemporalDep,
    settings: SettingsDep,
) -> Response:
    course = await own_course(session, user, course_id)
    await withdraw_course(
        session=session, client=client, settings=settings, user=user, course=course, now=datetime.now(UTC)
    )
    return redirect(request, f"{BASE}/{course_id}?saved=withdrawn")
