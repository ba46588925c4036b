"""集体开票资格 (unit qualification): the qualification rows UnitQualificationWorkflow records and decides.
Every activity is idempotent: a retry changes nothing twice."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from db.models.unit_qualification import UnitQualification
from db.notices import add_notice
from domain.notices import qualification_decided
from domain.unit_qualification import QualificationDecided, QualificationInput, QualificationState


class UnitQualificationActivities:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    @activity.defn(name="unit_qualification.record")
    async def record(self, application: QualificationInput) -> int:
        async with self.sessionmaker() as session:
            existing = await self._qualification_id(session, application)
            if existing is not None:
                return existing  # a retried activity: already on record
            row = UnitQualification(
                credit_code=application.credit_code,
                attempt=application.attempt,
                unit_name=application.unit_name,
                applicant_id=application.applicant_id,
                authorization_path=application.authorization_path,
                status=QualificationState.UNDER_REVIEW,
                workflow_id=activity.info().workflow_id,
                created_at=datetime.fromisoformat(application.submitted_at),
            )
            session.add(row)
            try:
                await session.commit()
            except IntegrityError:
                await session.rollback()
                found = await self._qualification_id(session, application)
                assert found is not None, (application.credit_code, application.attempt)
                return found
            return row.id

    @staticmethod
    async def _qualification_id(session: AsyncSession, application: QualificationInput) -> int | None:
        return await session.scalar(
            select(UnitQualification.id).where(
                UnitQualification.credit_code == application.credit_code,
                UnitQualification.attempt == application.attempt,
            )
        )

    @activity.defn(name="unit_qualification.decide")
    async def decide(self, decided: QualificationDecided) -> None:
        async with self.sessionmaker() as session:
            changed = await session.execute(
                update(UnitQualification)
                .where(
                    UnitQualification.id == decided.qualification_id,
                    UnitQualification.status == QualificationState.UNDER_REVIEW,
                )
                .values(
                    status=decided.state,
                    reason=decided.reason,
                    decided_by=decided.reviewer_id,
                    decided_at=datetime.fromisoformat(decided.decided_at),
                )
            )
            qualification = await session.get(UnitQualification, decided.qualification_id)
            if changed.rowcount and qualification is not None:  # type: ignore[attr-defined]
                approved = decided.state == QualificationState.APPROVED
                notice = qualification_decided(
                    qualification.applicant_id, qualification.id, qualification.unit_name, approved, decided.reason
                )
                await add_notice(session, notice)
            await session.commit()

    def all(self) -> list[Any]:
        return [self.record, self.decide]
