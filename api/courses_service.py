"""课程管理 (a school's course administrators): editing drafts is reference data, written here;
every publication step (提交审核, 下架) is an Update to CoursePublicationWorkflow, which owns the
course's state (`Course.state` / `published` are its projection).

Every check runs before anything is stored: a refused upload leaves no file and no chapter."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, selectinload
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy

from api.pages import PAGE_SIZE, page_numbers
from api.temporal import start_operation, update_with_start
from api.uploads import SavedUpload, Upload, refuse_oversize
from config import Settings
from db.models.catalog import Category, Chapter, Course, Major
from db.models.users import User
from domain.courses import (
    CourseForm,
    CoursePublicationInput,
    CourseState,
    CourseSubmission,
    HoursRule,
    PublicationState,
    PublicationView,
    WithdrawRequest,
    chapter_title,
    hours_mismatch_message,
    is_editable,
    publication_refusal,
    publication_workflow_id,
)
from domain.errors import DomainError
from media.courseware import probe_courseware
from media.storage import FileStorage, Storage
from media.uploads import reencode_image_typed, sniff_image
from workflows.common import process_attributes
from workflows.course_publication import CoursePublicationWorkflow

COVER_COLORS = ["#1f5fa8", "#2e7d32", "#8e44ad", "#c0392b", "#d35400", "#16a085"]


def course_storage(settings: Settings) -> Storage:
    """Courseware and covers live under var/media (served at /media), through the Storage interface."""
    return FileStorage(settings.media_dir)


def hours_rule(settings: Settings) -> HoursRule:
    return HoursRule(settings.course_minutes_per_hour, settings.course_hours_tolerance_minutes)


def staff_school(user: User) -> int:
    if user.school_id is None:
        raise DomainError("SchoolLinkMissing")
    return user.school_id


# ---- reading ------------------------------------------------------------------------------------


async def own_course(session: AsyncSession, user: User, course_id: int) -> Course:
    """The course with its chapters; another school's course is refused (CourseNotYours)."""
    course = await session.scalar(
        select(Course)
        .where(Course.id == course_id)
        .options(selectinload(Course.chapters))
        .execution_options(populate_existing=True)
    )
    if course is None:
        raise DomainError("NotFound")
    if course.school_id != staff_school(user):
        raise DomainError("CourseNotYours")
    return course


@dataclass
class CourseRow:
    course: Course  # the newest version of the lineage
    on_sale: Course | None  # the version trainees can buy now (may be the same row)


async def course_rows(session: AsyncSession, school_id: int, page: int) -> tuple[list[CourseRow], dict[str, int]]:
    """One row per course (lineage): its newest version, and the version on sale if another."""
    newer = aliased(Course)
    latest = select(Course).where(
        Course.school_id == school_id,
        ~select(newer.id)
        .where(
            or_(newer.lineage_id == func.coalesce(Course.lineage_id, Course.id)),
            newer.version > Course.version,
        )
        .exists(),
    )
    total = await session.scalar(select(func.count()).select_from(latest.subquery())) or 0
    paging = page_numbers(page, total)
    courses = (
        await session.scalars(
            latest.options(selectinload(Course.chapters), selectinload(Course.category))
            .order_by(Course.id.desc())
            .offset((paging["page"] - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        )
    ).all()
    lineages = [c.lineage for c in courses]
    on_sale = {
        c.lineage: c
        for c in await session.scalars(
            select(Course).where(
                or_(Course.id.in_(lineages), Course.lineage_id.in_(lineages)), Course.state == CourseState.published
            )
        )
    }
    return [CourseRow(c, on_sale.get(c.lineage)) for c in courses], paging


async def versions_of(session: AsyncSession, course: Course) -> list[Course]:
    lineage = course.lineage
    return list(
        (
            await session.scalars(
                select(Course).where(or_(Course.id == lineage, Course.lineage_id == lineage)).order_by(Course.version)
            )
        ).all()
    )


async def form_choices(session: AsyncSession, school_id: int) -> dict[str, object]:
    categories = (
        await session.scalars(select(Category).where(Category.school_id == school_id).order_by(Category.sort))
    ).all()
    majors = (await session.scalars(select(Major).order_by(Major.id))).all()
    return {"categories": categories, "majors": majors}


async def _check_choices(session: AsyncSession, school_id: int, form: CourseForm) -> None:
    category = await session.get(Category, form.category_id)
    if category is None or category.school_id != school_id:
        raise DomainError("CourseCategoryRequired")
    if await session.get(Major, form.major_id) is None:
        raise DomainError("CourseMajorRequired")


# ---- editing (reference data of a version nobody holds) ------------------------------------------


def require_editable(course: Course) -> None:
    if not is_editable(course.state):
        raise DomainError("CourseNotEditable")


def _apply(course: Course, form: CourseForm) -> None:
    course.title = form.title
    course.category_id = form.category_id
    course.major_id = form.major_id
    course.subject_category = form.subject_category
    course.hours = form.hours
    course.price_cents = form.price_cents
    course.description = form.description
    course.teacher = form.teacher


async def create_course(session: AsyncSession, user: User, form: CourseForm) -> Course:
    school_id = staff_school(user)
    await _check_choices(session, school_id, form)
    count = await session.scalar(select(func.count()).select_from(Course).where(Course.school_id == school_id)) or 0
    course = Course(
        school_id=school_id,
        code=f"C{secrets.token_hex(4).upper()}",
        state=CourseState.draft,
        published=False,
        version=1,
        cover_color=COVER_COLORS[count % len(COVER_COLORS)],
    )
    _apply(course, form)
    session.add(course)
    await session.commit()
    return course


async def update_course(session: AsyncSession, user: User, course: Course, form: CourseForm) -> None:
    require_editable(course)
    await _check_choices(session, staff_school(user), form)
    _apply(course, form)
    await session.commit()


async def editable_version(session: AsyncSession, course: Course) -> Course:
    """修改: a draft is edited in place; a course that has been on sale gets a new version (a copy
    with the same chapters and courseware files), unless a newer editable one already exists."""
    if is_editable(course.state):
        return course
    versions = await versions_of(session, course)
    newest = versions[-1]
    if newest.state == CourseState.under_review:
        raise DomainError("CourseUnderReview")
    if is_editable(newest.state):
        return newest
    copy = Course(
        school_id=course.school_id,
        category_id=newest.category_id,
        major_id=newest.major_id,
        code=f"{versions[0].code}-V{newest.version + 1}"[:32],
        title=newest.title,
        teacher=newest.teacher,
        description=newest.description,
        subject_category=newest.subject_category,
        hours=newest.hours,
        price_cents=newest.price_cents,
        published=False,
        state=CourseState.draft,
        cover_color=newest.cover_color,
        cover_path=newest.cover_path,
        lineage_id=course.lineage,
        version=newest.version + 1,
    )
    session.add(copy)
    await session.flush()
    chapters = (
        await session.scalars(select(Chapter).where(Chapter.course_id == newest.id).order_by(Chapter.seq))
    ).all()
    session.add_all(
        Chapter(course_id=copy.id, seq=c.seq, title=c.title, duration_seconds=c.duration_seconds, clip=c.clip)
        for c in chapters
    )
    await session.commit()
    return copy


async def add_chapter(
    session: AsyncSession, settings: Settings, course: Course, title: str, courseware: SavedUpload | None
) -> Chapter:
    """A chapter with its courseware: the duration comes from the file, never from the form.
    ``courseware`` was streamed to disk (read at most one byte over max_courseware_bytes) by the
    router, which also removes it afterwards."""
    require_editable(course)
    name = chapter_title(title)
    if courseware is None:
        raise DomainError("CoursewareRequired")
    refuse_oversize(courseware.size, settings.max_courseware_bytes)
    video = probe_courseware(courseware.path)
    key = f"courseware/{course.lineage}-{secrets.token_hex(8)}.mp4"
    course_storage(settings).put_file(key, courseware.path)
    seq = (await session.scalar(select(func.max(Chapter.seq)).where(Chapter.course_id == course.id)) or 0) + 1
    chapter = Chapter(course_id=course.id, seq=seq, title=name, duration_seconds=video.duration_seconds, clip=key)
    session.add(chapter)
    await session.commit()
    return chapter


async def move_chapter(session: AsyncSession, course: Course, chapter_id: int, direction: str) -> None:
    """上移 / 下移: swaps with the neighbour (through a free seq: (course_id, seq) is unique)."""
    require_editable(course)
    chapters = sorted(course.chapters, key=lambda c: c.seq)
    index = next((i for i, c in enumerate(chapters) if c.id == chapter_id), None)
    if index is None:
        raise DomainError("NotFound")
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(chapters):
        return
    a, b = chapters[index], chapters[other]
    seq_a, seq_b = a.seq, b.seq
    await session.execute(update(Chapter).where(Chapter.id == a.id).values(seq=-1))
    await session.execute(update(Chapter).where(Chapter.id == b.id).values(seq=seq_a))
    await session.execute(update(Chapter).where(Chapter.id == a.id).values(seq=seq_b))
    await session.commit()


async def delete_chapter(session: AsyncSession, settings: Settings, course: Course, chapter_id: int) -> None:
    """删除; the later chapters move up. The file goes only when no other version still uses it."""
    require_editable(course)
    chapter = next((c for c in course.chapters if c.id == chapter_id), None)
    if chapter is None:
        raise DomainError("NotFound")
    clip, seq = chapter.clip, chapter.seq
    await session.delete(chapter)
    await session.flush()
    for later in sorted((c for c in course.chapters if c.seq > seq and c.id != chapter_id), key=lambda c: c.seq):
        await session.execute(update(Chapter).where(Chapter.id == later.id).values(seq=later.seq - 1))
    await session.commit()
    if clip.startswith("courseware/") and not await session.scalar(
        select(func.count()).select_from(Chapter).where(Chapter.clip == clip)
    ):
        course_storage(settings).delete(clip)


async def set_cover(session: AsyncSession, settings: Settings, course: Course, upload: Upload | None) -> None:
    """封面: an image, re-encoded (metadata dropped), stored beside the courseware. ``upload`` was
    read with max_upload_bytes: at most one byte over it."""
    require_editable(course)
    if upload is None:
        raise DomainError("CoverImageOnly")
    refuse_oversize(len(upload.data), settings.max_upload_bytes)
    data = upload.data
    if sniff_image(data) is None:
        raise DomainError("CoverImageOnly")
    image, content_type = reencode_image_typed(data, max_side=1200)
    key = f"covers/{course.lineage}-{secrets.token_hex(8)}.{'jpg' if content_type == 'image/jpeg' else 'png'}"
    course_storage(settings).put_bytes(key, image)
    course.cover_path = key
    await session.commit()


# ---- publication (Updates to the workflow) -------------------------------------------------------


def check_publishable(course: Course, rule: HoursRule) -> list[int]:
    """The chapter durations, or the refusal the workflow's validator would give (with numbers)."""
    seconds = [c.duration_seconds for c in course.chapters]
    code = publication_refusal(str(course.hours), course.price_cents, seconds, rule)
    if code == "CourseHoursMismatch":
        raise DomainError(code, hours_mismatch_message(course.hours, sum(seconds), rule))
    if code is not None:
        raise DomainError(code)
    return seconds


def _start(
    course: Course, on_sale_id: int | None, settings: Settings
) -> WithStartWorkflowOperation[CoursePublicationWorkflow, str]:
    lineage = course.lineage
    return start_operation(
        CoursePublicationWorkflow.run,
        CoursePublicationInput(
            lineage_id=lineage,
            school_id=course.school_id,
            title=course.title,
            remind_after_seconds=settings.review_reminder_hours * 3600,
            due_after_seconds=settings.review_due_hours * 3600,
            state=PublicationState(on_sale_version_id=on_sale_id),
        ),
        id=publication_workflow_id(lineage),
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        search_attributes=process_attributes(
            "off_sale", school_id=course.school_id, business_key=publication_workflow_id(lineage)
        ),
    )


async def _on_sale_id(session: AsyncSession, course: Course) -> int | None:
    """For a first start: a course put on sale before the workflow existed (demo data) is on sale."""
    return next((v.id for v in await versions_of(session, course) if v.state == CourseState.published), None)


async def submit_course(
    *, session: AsyncSession, client: Client, settings: Settings, user: User, course: Course, now: datetime
) -> PublicationView:
    if course.state not in (CourseState.draft, CourseState.rejected, CourseState.withdrawn):
        raise DomainError("CourseNotSubmittable")
    rule = hours_rule(settings)
    seconds = check_publishable(course, rule)
    sub = CourseSubmission(
        version_id=course.id,
        submitter_id=user.id,
        title=course.title,
        version=course.version,
        hours=str(course.hours),
        price_cents=course.price_cents,
        chapter_seconds=seconds,
        minutes_per_hour=rule.minutes_per_hour,
        tolerance_minutes=rule.tolerance_minutes,
        submitted_at=now.isoformat(),
    )
    start = _start(course, await _on_sale_id(session, course), settings)
    await session.close()  # the wait on the workflow holds no connection
    result: PublicationView = await update_with_start(client, CoursePublicationWorkflow.submit, sub, start=start)
    return result


async def withdraw_course(
    *, session: AsyncSession, client: Client, settings: Settings, user: User, course: Course, now: datetime
) -> PublicationView:
    on_sale = await _on_sale_id(session, course)
    if on_sale is None:
        raise DomainError("CourseNotOnSale")
    start = _start(course, on_sale, settings)
    await session.close()
    result: PublicationView = await update_with_start(
        client, CoursePublicationWorkflow.withdraw, WithdrawRequest(actor_id=user.id, at=now.isoformat()), start=start
    )
    return result
