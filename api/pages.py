"""What every trainee page shows around its content: the current school and the cart count."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from fastapi import Request
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.interfaces import ORMOption

from api import refcache
from db.models.orders import CartItem
from db.models.users import User

PAGE_SIZE = 12
T = TypeVar("T")


async def trainee_context(request: Request, session: AsyncSession, user: User) -> dict[str, Any]:
    """`school` is the current school entry (a cached SchoolRef), `cart_ids` the courses in the cart."""
    school_id = request.session.get("school_id")
    school = await refcache.school(session, int(school_id)) if school_id is not None else None
    cart_ids = set((await session.scalars(select(CartItem.course_id).where(CartItem.trainee_id == user.id))).all())
    return {"school": school, "cart_ids": cart_ids, "cart_count": len(cart_ids)}


def page_numbers(page: int, total: int, size: int = PAGE_SIZE) -> dict[str, int]:
    pages = max(1, -(-total // size))
    return {"page": min(max(page, 1), pages), "pages": pages, "total": total, "size": size}


async def paginate(
    session: AsyncSession,
    query: Select[T],
    page: int,
    order_by: Sequence[Any],
    options: Sequence[ORMOption] = (),
    size: int = PAGE_SIZE,
) -> tuple[list[T], dict[str, int]]:
    """One page of `query` (a page number out of range shows the nearest page) and its paging block."""
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    paging = page_numbers(page, total, size)
    rows = await session.scalars(
        query.options(*options).order_by(*order_by).offset((paging["page"] - 1) * size).limit(size)
    )
    return list(rows.all()), paging


def optional_int(raw: str | None) -> int | None:
    """A select or query value that may be empty ("全部") or junk: an id, or None."""
    value = (raw or "").strip()
    return int(value) if value.isdigit() else None
