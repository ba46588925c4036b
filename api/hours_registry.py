"""学时登记 and the 学时申报 list: what the hours pages read (the year's totals, the 查询 of the
records, the page labels). Nothing here writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.hours_rules import today_local
from db.models.hours import HoursRecord
from db.models.orders import Enrollment
from domain.catalog import SubjectCategory, TrainingType
from domain.hours import HoursSource, RecordState, progress

# 查询 filter values for the state: "rejected" is a draft that carries the school's reason
STATE_FILTERS = {
    "draft": "草稿",
    "rejected": "已驳回",
    "pending": "待提交申报",
    "reviewing": "审核中",
    "approved": "已通过",
    "recorded": "已记录",
}


# ---- 学时登记: the registry -----------------------------------------------------------------------


@dataclass
class Registry:
    year: int
    years: list[int]
    records: list[HoursRecord]
    total: Decimal
    required: Decimal
    percent: int
    missing: Decimal
    by_subject: list[tuple[str, Decimal]]
    by_type: list[tuple[str, Decimal]]
    by_source: list[tuple[str, Decimal]]
    under_review: Decimal = field(default=Decimal(0))


async def counted_records(session: AsyncSession, trainee_id: int, year: int) -> list[HoursRecord]:
    """A trainee's hours that count for the year (pushed and approved), newest first: the 学时登记
    registry and the unit administrator's per-person detail show the same list."""
    return list(
        (
            await session.scalars(
                select(HoursRecord)
                .where(
                    HoursRecord.trainee_id == trainee_id,
                    HoursRecord.year == year,
                    HoursRecord.state.in_(RecordState.COUNTED),
                )
                .order_by(HoursRecord.end_date.desc(), HoursRecord.id.desc())
            )
        ).all()
    )


async def registry(session: AsyncSession, trainee_id: int, year: int | None, required_hours: float) -> Registry:
    """The year's counted hours (platform-pushed and approved self-declared) and the progress."""
    today = today_local()
    known = set(
        (
            await session.scalars(
                select(HoursRecord.year).where(
                    HoursRecord.trainee_id == trainee_id, HoursRecord.state.in_(RecordState.COUNTED)
                )
            )
        ).all()
    )
    years = sorted(known | {today.year, today.year - 1}, reverse=True)
    chosen = year if year in years else today.year
    records = await counted_records(session, trainee_id, chosen)
    under_review = await session.scalar(
        select(func.coalesce(func.sum(HoursRecord.hours), 0)).where(
            HoursRecord.trainee_id == trainee_id,
            HoursRecord.year == chosen,
            HoursRecord.state == RecordState.REVIEWING,
        )
    )
    total = sum((r.hours for r in records), Decimal(0))
    required = Decimal(str(required_hours))
    percent, missing = progress(total, required)

    def sums(key: str, labels: list[tuple[str, str]]) -> list[tuple[str, Decimal]]:
        return [(label, sum((r.hours for r in records if getattr(r, key) == v), Decimal(0))) for v, label in labels]

    return Registry(
        year=chosen,
        years=years,
        records=records,
        total=total,
        required=required,
        percent=percent,
        missing=missing,
        by_subject=sums("subject_category", [(c.value, c.label) for c in SubjectCategory]),
        by_type=sums("training_type", [(t.value, t.label) for t in TrainingType]),
        by_source=sums("source", list(HoursSource.LABELS.items())),
        under_review=Decimal(str(under_review or 0)),
    )


# ---- 学时申报: the list and its 查询 ------------------------------------------------------------


def records_query(trainee_id: int, year: int | None, source: str, state: str) -> Select[Any]:
    query = select(HoursRecord).where(HoursRecord.trainee_id == trainee_id)
    if year:
        query = query.where(HoursRecord.year == year)
    if source in HoursSource.LABELS:
        query = query.where(HoursRecord.source == source)
    if state == "rejected":
        query = query.where(HoursRecord.state == RecordState.DRAFT, HoursRecord.reject_reason != "")
    elif state == "draft":
        query = query.where(HoursRecord.state == RecordState.DRAFT, HoursRecord.reject_reason == "")
    elif state in RecordState.LABELS:
        query = query.where(HoursRecord.state == state)
    return query


async def default_school_id(session: AsyncSession, trainee_id: int, current: int | None) -> int | None:
    """The school 提交申报 offers first: the one the trainee is in, else that of their latest course."""
    if current is not None:
        return current
    return await session.scalar(
        select(Enrollment.school_id).where(Enrollment.trainee_id == trainee_id).order_by(Enrollment.id.desc())
    )


def page_context(**extra: Any) -> dict[str, Any]:
    """Labels every hours page uses."""
    return {
        "subject_categories": list(SubjectCategory),
        "training_types": list(TrainingType),
        "sources": HoursSource.LABELS,
        "state_filters": STATE_FILTERS,
        **extra,
    }
