"""Side effects of the hours registry: platform-pushed records (from the study process) and the
declaration workflow's projection (lock for review, apply the school's decision).

Every activity is idempotent: Temporal may run it again after a worker dies mid-way."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from config import Settings
from db.base import utcnow
from db.models.catalog import Course, School
from db.models.hours import HoursDeclaration, HoursDeclarationItem, HoursRecord
from db.models.orders import Enrollment
from db.notices import add_notice
from domain.beijing_time import beijing_today
from domain.catalog import format_hours
from domain.hours import (
    ApplyReview,
    DeclarationState,
    DeclarationSubmitted,
    HoursSource,
    RecordState,
    SubmitDeclaration,
    declaration_outcome,
)
from domain.hours_records import PlatformHours
from domain.notices import hours_decided


class HoursActivities:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings

    @activity.defn(name="hours.push_platform")
    async def push_platform(self, pushed: PlatformHours) -> int:
        """Records a completed course's hours (平台推送, 已记录) once per enrollment; returns the
        record id."""
        async with self.sessionmaker() as session:
            existing = await self._platform_record_id(session, pushed.enrollment_id)
            if existing is not None:
                return existing
            enrollment = await session.get(Enrollment, pushed.enrollment_id)
            if enrollment is None:
                raise ValueError(f"enrollment {pushed.enrollment_id} does not exist")
            course = await session.get(Course, enrollment.course_id)
            school = await session.get(School, enrollment.school_id)
            assert course is not None and school is not None
            finished = enrollment.completed_at or utcnow()
            record = HoursRecord(
                trainee_id=enrollment.trainee_id,
                source=HoursSource.PLATFORM,
                state=RecordState.RECORDED,
                training_name=course.title,
                organiser=school.name,
                # 培训日期 are Beijing days, like every date the trainee sees (stored instants are UTC)
                start_date=beijing_today(enrollment.started_at or finished),
                end_date=beijing_today(finished),
                subject_category=course.subject_category,
                training_type=enrollment.training_type,
                hours=course.hours,
                year=enrollment.training_year,
                school_id=school.id,
                enrollment_id=enrollment.id,
                course_id=course.id,
                approved_at=finished,
            )
            session.add(record)
            try:
                await session.commit()
            except IntegrityError:
                # a parallel run of this activity got there first (unique enrollment_id)
                await session.rollback()
                found = await self._platform_record_id(session, pushed.enrollment_id)
                assert found is not None
                return found
            return record.id

    @staticmethod
    async def _platform_record_id(session: AsyncSession, enrollment_id: int) -> int | None:
        return await session.scalar(select(HoursRecord.id).where(HoursRecord.enrollment_id == enrollment_id))

    @activity.defn(name="hours.submit_declaration")
    async def submit_declaration(self, req: SubmitDeclaration) -> DeclarationSubmitted:
        """提交申报: the declaration goes 审核中 and its records are locked, in one transaction."""
        async with self.sessionmaker() as session:
            declaration = await self._declaration(session, req.declaration_no)
            if declaration.state == DeclarationState.PENDING:
                records = (
                    await session.scalars(
                        select(HoursRecord)
                        .where(
                            HoursRecord.id.in_(req.record_ids),
                            HoursRecord.declaration_id == declaration.id,
                            HoursRecord.state == RecordState.PENDING,
                        )
                        .order_by(HoursRecord.id)
                    )
                ).all()
                if not records:
                    # every record was taken out of the declaration meanwhile: nothing to review,
                    # the declaration stays 待提交申报
                    return DeclarationSubmitted(record_ids=[], total_hours="0")
                for record in records:
                    record.state = RecordState.REVIEWING
                    record.school_id = req.school_id
                    record.reject_reason = ""
                    record.updated_at = utcnow()
                    session.add(
                        HoursDeclarationItem(
                            declaration_id=declaration.id,
                            record_id=record.id,
                            training_name=record.training_name,
                            hours=record.hours,
                        )
                    )
                declaration.state = DeclarationState.REVIEWING
                declaration.school_id = req.school_id
                declaration.workflow_id = req.workflow_id
                declaration.submitted_at = datetime.fromisoformat(req.submitted_at)
                await session.commit()
            items = [
                i
                for i in await session.scalars(
                    select(HoursDeclarationItem)
                    .where(HoursDeclarationItem.declaration_id == declaration.id)
                    .order_by(HoursDeclarationItem.record_id)
                )
                if i.record_id is not None
            ]
            total = sum((i.hours for i in items), Decimal(0))
            return DeclarationSubmitted(
                record_ids=[i.record_id for i in items if i.record_id is not None],
                total_hours=format_hours(total),
                titles={str(i.record_id): i.training_name for i in items},
            )

    @activity.defn(name="hours.apply_review")
    async def apply_review(self, review: ApplyReview) -> None:
        """The school's decision: approved records count in the registry; rejected ones go back to
        draft with the reason. Applied once: a retry finds the declaration already decided."""
        decided_at = datetime.fromisoformat(review.decided_at)
        async with self.sessionmaker() as session:
            declaration = await self._declaration(session, review.declaration_no)
            if declaration.state != DeclarationState.REVIEWING:
                return
            items = (
                await session.scalars(
                    select(HoursDeclarationItem).where(HoursDeclarationItem.declaration_id == declaration.id)
                )
            ).all()
            for item in items:
                decision = review.items.get(str(item.record_id))
                if decision is None:
                    continue
                item.decision = "approved" if decision.approve else "rejected"
                item.reason = decision.reason
                if item.record_id is not None:
                    await add_notice(
                        session,
                        hours_decided(
                            declaration.trainee_id,
                            review.declaration_no,
                            item.record_id,
                            item.training_name,
                            item.hours,
                            decision.approve,
                            decision.reason,
                        ),
                    )
                values: dict[str, object] = (
                    {"state": RecordState.APPROVED, "approved_at": decided_at, "reject_reason": ""}
                    if decision.approve
                    # back to draft: the trainee may correct it and declare it again
                    else {
                        "state": RecordState.DRAFT,
                        "declaration_id": None,
                        "reject_reason": decision.reason,
                    }
                )
                await session.execute(
                    update(HoursRecord)
                    .where(HoursRecord.id == item.record_id, HoursRecord.state == RecordState.REVIEWING)
                    .values(updated_at=decided_at, **values)
                )
            declaration.state = declaration_outcome(review.items)
            declaration.reviewer_id = review.reviewer_id
            declaration.decided_at = decided_at
            await session.commit()

    @staticmethod
    async def _declaration(session: AsyncSession, declaration_no: str) -> HoursDeclaration:
        declaration = await session.scalar(
            select(HoursDeclaration).where(HoursDeclaration.declaration_no == declaration_no)
        )
        if declaration is None:
            raise ValueError(f"declaration {declaration_no} does not exist")
        return declaration

    def all(self) -> list[Callable[..., Any]]:
        return [self.push_platform, self.submit_declaration, self.apply_review]
