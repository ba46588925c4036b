"""The reviewer inbox's view of 课程上架 (docs/INBOX.md): the version under review, its chapters with
their courseware, and the version on sale for comparison. Template: inbox/kinds/course_publication.html."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from api.inbox_kinds import default_loader, loader
from db.models.catalog import Course
from db.models.tasks import ReviewTask
from domain.courses import CourseState
from domain.review import TaskKind


@loader(TaskKind.COURSE_PUBLICATION)
async def course_publication(session: AsyncSession, task: ReviewTask) -> dict[str, Any]:
    raw = str((task.payload or {}).get("course_id", ""))
    course = (
        await session.scalar(
            select(Course)
            .where(Course.id == int(raw))
            .options(
                selectinload(Course.chapters),
                joinedload(Course.category),
                joinedload(Course.major),
                joinedload(Course.school),
            )
        )
        if raw.isdigit()
        else None
    )
    if course is None:
        return await default_loader(session, task)
    lineage = course.lineage
    on_sale = await session.scalar(
        select(Course).where(
            or_(Course.id == lineage, Course.lineage_id == lineage),
            Course.state == CourseState.published,
            Course.id != course.id,
        )
    )
    attachments = (
        [{"name": "封面", "url": f"/media/{course.cover_path}", "is_image": True}] if course.cover_path else []
    )
    return {"course": course, "on_sale": on_sale, "attachments": attachments}
