"""The rules every change to a trainee's own hours record obeys, shared by the drafts
(api/hours_drafts.py) and the commands (api/hours_service.py): whose record it is, whether it may
still be changed, and that it is not a training already counted."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import utcnow
from db.models.hours import HoursRecord
from domain.beijing_time import beijing_today
from domain.errors import DomainError
from domain.hours import HoursSource, OfflineEntry, RecordState, same_training


def today_local() -> date:
    """The trainees' calendar day (Asia/Shanghai): the year boundary is theirs, not the server's."""
    return beijing_today(utcnow())


async def own_record(session: AsyncSession, trainee_id: int, record_id: int) -> HoursRecord:
    """Another trainee's record is indistinguishable from a missing one."""
    record = await session.get(HoursRecord, record_id)
    if record is None or record.trainee_id != trainee_id:
        raise DomainError("NotFound")
    return record


def refuse_unless_editable(record: HoursRecord) -> None:
    if record.source != HoursSource.SELF:
        raise DomainError("Forbidden")  # platform-pushed hours come from the course, not the trainee
    refusal = {
        RecordState.REVIEWING: "RecordLocked",
        RecordState.PENDING: "RecordPending",
        RecordState.APPROVED: "RecordApproved",
    }.get(record.state)
    if refusal:
        raise DomainError(refusal)


async def refuse_duplicate(
    session: AsyncSession,
    trainee_id: int,
    entry: OfflineEntry,
    *,
    exclude_id: int | None = None,
    include_in_progress: bool = False,
) -> None:
    """``HoursDuplicate`` if an approved self-declared record is the same training; with
    ``include_in_progress`` also ``HoursDuplicatePending`` for one pending or under review."""
    states = [RecordState.APPROVED]
    if include_in_progress:
        states += [RecordState.PENDING, RecordState.REVIEWING]
    others = (
        await session.scalars(
            select(HoursRecord).where(
                HoursRecord.trainee_id == trainee_id,
                HoursRecord.source == HoursSource.SELF,
                HoursRecord.state.in_(states),
                HoursRecord.id != (exclude_id or 0),
            )
        )
    ).all()
    for other in others:
        assert other.start_date is not None and other.end_date is not None
        if same_training(
            entry.training_name, entry.start, entry.end, other.training_name, other.start_date, other.end_date
        ):
            raise DomainError("HoursDuplicate" if other.state == RecordState.APPROVED else "HoursDuplicatePending")


def entry_of(record: HoursRecord) -> OfflineEntry:
    assert record.start_date is not None and record.end_date is not None
    return OfflineEntry(
        record.training_name,
        record.organiser,
        record.start_date,
        record.end_date,
        record.subject_category,
        record.training_type,
        record.hours,
    )
