"""课程管理 projections, written only by CoursePublicationWorkflow: each course row's publication
state (审核中 / 已上架 / 已驳回 / 已下架) and what trainees see in 在线课程 (`published`).

Every activity is idempotent: it moves a row only from the state it expects, so a retry (or a
replay after a worker was killed) changes nothing twice."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from db.models.catalog import Course
from domain.courses import CourseState, CourseWithdrawn, VersionDecided


def _in_lineage(lineage_id: int):
    return or_(Course.id == lineage_id, Course.lineage_id == lineage_id)


class CourseActivities:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    @activity.defn(name="courses.mark_under_review")
    async def mark_under_review(self, version_id: int) -> None:
        """审核中: the version is frozen for editing until the admin decides."""
        async with self.sessionmaker() as session:
            await session.execute(
                update(Course)
                .where(
                    Course.id == version_id,
                    Course.state.in_([CourseState.draft, CourseState.rejected, CourseState.withdrawn]),
                )
                .values(state=CourseState.under_review, review_reason="")
            )
            await session.commit()

    @activity.defn(name="courses.record_decision")
    async def record_decision(self, d: VersionDecided) -> None:
        """Approved: this version goes on sale and any earlier one leaves the catalogue (trainees who
        hold it keep it: their enrollments point at that row). Rejected: back to editing, with the reason."""
        async with self.sessionmaker() as session:
            if d.approve:
                await session.execute(
                    update(Course)
                    .where(_in_lineage(d.lineage_id), Course.id != d.version_id, Course.state == CourseState.published)
                    .values(state=CourseState.superseded, published=False)
                )
                await session.execute(
                    update(Course)
                    .where(Course.id == d.version_id, Course.state == CourseState.under_review)
                    .values(state=CourseState.published, published=True, review_reason="")
                )
            else:
                await session.execute(
                    update(Course)
                    .where(Course.id == d.version_id, Course.state == CourseState.under_review)
                    .values(state=CourseState.rejected, published=False, review_reason=d.reason)
                )
            await session.commit()

    @activity.defn(name="courses.withdraw")
    async def withdraw(self, w: CourseWithdrawn) -> None:
        """下架: out of the catalogue; enrollments, progress and certificates are untouched."""
        async with self.sessionmaker() as session:
            await session.execute(
                update(Course)
                .where(Course.id == w.version_id, Course.state == CourseState.published)
                .values(state=CourseState.withdrawn, published=False)
            )
            await session.commit()

    def all(self) -> list[Any]:
        return [self.mark_under_review, self.record_decision, self.withdraw]
