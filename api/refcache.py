"""A short-lived in-process cache of reference data that every catalog page shows.

Schools, categories, majors and the hour options change a few times a year, yet each page view read
them again (3–5 queries of the ~10 a course list made). Entries live CACHE_SECONDS, so an edit in
another process shows within that time; values are plain frozen dataclasses, never ORM objects
bound to a closed session.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models.catalog import Category, Course, Major, School

CACHE_SECONDS = 30.0
T = TypeVar("T")
_entries: dict[tuple[Any, ...], tuple[float, Any]] = {}


@dataclass(frozen=True)
class SchoolRef:
    id: int
    code: str
    name: str
    intro: str
    tax_id: str
    tax_rate: str
    offered_years: list[int] | None


@dataclass(frozen=True)
class NamedRef:
    id: int
    name: str


async def _cached(key: tuple[Any, ...], load: Callable[[], Awaitable[T]]) -> T:
    now = time.monotonic()
    hit = _entries.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    value = await load()
    _entries[key] = (now + CACHE_SECONDS, value)
    return value


def clear() -> None:
    _entries.clear()


async def school(session: AsyncSession, school_id: int) -> SchoolRef | None:
    async def load() -> SchoolRef | None:
        s = await session.get(School, school_id)
        if s is None:
            return None
        return SchoolRef(s.id, s.code, s.name, s.intro, s.tax_id, s.tax_rate, s.offered_years)

    return await _cached(("school", school_id), load)


async def categories(session: AsyncSession, school_id: int) -> list[NamedRef]:
    async def load() -> list[NamedRef]:
        rows = await session.execute(
            select(Category.id, Category.name).where(Category.school_id == school_id).order_by(Category.sort)
        )
        return [NamedRef(i, n) for i, n in rows]

    return await _cached(("categories", school_id), load)


async def majors(session: AsyncSession) -> list[NamedRef]:
    async def load() -> list[NamedRef]:
        return [NamedRef(i, n) for i, n in await session.execute(select(Major.id, Major.name).order_by(Major.id))]

    return await _cached(("majors",), load)


async def hour_options(session: AsyncSession, school_id: int) -> list[Decimal]:
    async def load() -> list[Decimal]:
        rows = await session.scalars(
            select(Course.hours)
            .where(Course.school_id == school_id, Course.published)
            .distinct()
            .order_by(Course.hours)
        )
        return list(rows)

    return await _cached(("hours", school_id), load)
