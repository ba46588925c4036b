"""hours.push_platform: the study workflow's call when a course is completed (the real activity,
on the test database)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import func, select

from activities.hours import HoursActivities
from db.models.hours import HoursRecord
from db.models.orders import Enrollment
from domain.hours_records import PlatformHours
from tests.support import make_trainee
from tests.support.hours import make_enrollment


async def test_completed_course_is_recorded_once_with_its_hours(sessionmaker, settings) -> None:
    trainee = await make_trainee(sessionmaker)
    enrollment = await make_enrollment(sessionmaker, trainee.id, "AGR-01", year=2025, training_type="special")
    acts = HoursActivities(sessionmaker, settings)

    # retried and raced: still one record
    ids = await asyncio.gather(*(acts.push_platform(PlatformHours(enrollment.id)) for _ in range(3)))
    again = await acts.push_platform(PlatformHours(enrollment.id))
    assert len(set(ids)) == 1 and again == ids[0]

    async with sessionmaker() as s:
        records = (await s.scalars(select(HoursRecord).where(HoursRecord.trainee_id == trainee.id))).all()
    assert len(records) == 1
    r = records[0]
    assert (r.source, r.state_label, r.source_label) == ("platform", "已记录", "平台推送")
    assert r.training_name == "现代农业种植技术" and r.organiser == "湖南农业大学"
    assert r.hours == Decimal(8) and r.subject_label == "专业科目" and r.type_label == "专项培训"
    assert r.year == 2025 and r.school_id == 1 and r.enrollment_id == enrollment.id


async def test_each_enrollment_gets_its_own_record(sessionmaker, settings) -> None:
    trainee = await make_trainee(sessionmaker)
    a = await make_enrollment(sessionmaker, trainee.id, "PUB-02")
    b = await make_enrollment(sessionmaker, trainee.id, "PUB-03")
    acts = HoursActivities(sessionmaker, settings)
    await acts.push_platform(PlatformHours(a.id))
    await acts.push_platform(PlatformHours(b.id))
    async with sessionmaker() as s:
        total = await s.scalar(select(func.sum(HoursRecord.hours)).where(HoursRecord.trainee_id == trainee.id))
    assert total == Decimal(8)


async def test_training_dates_of_pushed_hours_are_beijing_days(sessionmaker, settings) -> None:
    """Studied from 23:50 on New Year's Eve to 00:39 on 1 January, Beijing time (15:50 to 16:39 UTC
    on 31 December): the 培训日期 are the days the trainee lived, not the UTC ones."""
    trainee = await make_trainee(sessionmaker)
    enrollment = await make_enrollment(sessionmaker, trainee.id, "AGR-01", year=2026)
    async with sessionmaker() as s:
        row = await s.get(Enrollment, enrollment.id)
        assert row is not None
        row.started_at = datetime(2025, 12, 31, 15, 50, tzinfo=UTC)
        row.completed_at = datetime(2025, 12, 31, 16, 39, tzinfo=UTC)
        await s.commit()
    record_id = await HoursActivities(sessionmaker, settings).push_platform(PlatformHours(enrollment.id))
    async with sessionmaker() as s:
        record = await s.get(HoursRecord, record_id)
    assert record is not None
    assert (record.start_date, record.end_date) == (date(2025, 12, 31), date(2026, 1, 1))
