"""A unit's people and their counted hours for a year: the roster (web) and the compliance round
(activities) read the same numbers."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models.hours import HoursRecord
from db.models.users import Role, User
from domain.compliance import Standing, standing
from domain.hours import RecordState


async def unit_members(session: AsyncSession, credit_code: str) -> list[User]:
    """The unit's trainees, by name."""
    return list(
        (
            await session.scalars(
                select(User)
                .where(User.role == Role.TRAINEE, User.unit_credit_code == credit_code)
                .order_by(User.name, User.id)
            )
        ).all()
    )


async def standings(
    session: AsyncSession, trainee_ids: list[int], year: int, required: Decimal
) -> dict[int, Standing]:
    """Each trainee's counted hours (platform-pushed and approved self-declared) of ``year``."""
    sums: dict[int, dict[tuple[str, str], Decimal]] = defaultdict(dict)
    if trainee_ids:
        rows = await session.execute(
            select(
                HoursRecord.trainee_id,
                HoursRecord.subject_category,
                HoursRecord.source,
                func.sum(HoursRecord.hours),
            )
            .where(
                HoursRecord.trainee_id.in_(trainee_ids),
                HoursRecord.year == year,
                HoursRecord.state.in_(RecordState.COUNTED),
            )
            .group_by(HoursRecord.trainee_id, HoursRecord.subject_category, HoursRecord.source)
        )
        for trainee_id, category, source, hours in rows.all():
            sums[trainee_id][(category, source)] = Decimal(str(hours or 0))
    return {tid: standing(sums.get(tid, {}), required) for tid in trainee_ids}


async def unit_name(session: AsyncSession, credit_code: str) -> str:
    name = await session.scalar(
        select(User.unit_name).where(User.unit_credit_code == credit_code, User.unit_name != "").limit(1)
    )
    return name or credit_code
